/**
 * PB login (Twisted's `twisted.cred` as PB uses it): a {@link Portal} joins credential checkers and
 * a {@link Realm}; the client proves its password by challenge–response and gets a reference to its
 * avatar.
 *
 * Wire (Twisted's `_PortalWrapper`): `root.callRemote("login", username)` answers
 * `(challenge, challenger)`; `challenger.callRemote("respond", md5(md5(password) + challenge), mind)`
 * answers the avatar. The password never travels; a wrong one is `UnauthorizedLogin`.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Broker } from "./broker.js";
import { UnauthorizedLogin } from "./errors.js";
import { Referenceable, type RootProvider } from "./flavors.js";
import type { RemoteReference } from "./reference.js";
import { PbTuple, tuple } from "./values.js";

/** A username and a password (Twisted's `UsernamePassword`); strings are UTF-8 encoded. */
export class UsernamePassword {
  /** The username as bytes; it is sent to the server as is. */
  readonly username: Uint8Array;
  /** The plain password as bytes; it never leaves this side (only the challenge response does). */
  readonly password: Uint8Array;

  constructor(username: string | Uint8Array, password: string | Uint8Array) {
    this.username = typeof username === "string" ? Buffer.from(username, "utf8") : username;
    this.password = typeof password === "string" ? Buffer.from(password, "utf8") : password;
  }
}

/** What {@link PBClientFactory.login} accepts. */
export type Credentials = UsernamePassword;

/** Credentials a checker can verify without the plain password (Twisted's `IUsernameHashedPassword`). */
export interface UsernameHashedPassword {
  /** The username, as sent (decoded as UTF-8). */
  readonly username: string;
  /** Whether `password` (the stored plain password) matches. */
  checkPassword(password: Uint8Array): boolean;
}

/** Turns credentials into an avatar id or fails with {@link UnauthorizedLogin}. */
export interface CredentialsChecker {
  /**
   * The avatar id for `credentials` (Twisted's `ICredentialsChecker.requestAvatarId`), usually the
   * username; throw (or reject with) {@link UnauthorizedLogin} when they do not check out.
   */
  requestAvatarId(credentials: UsernameHashedPassword): string | Promise<string>;
}

/** What a realm hands back for a logged-in user. */
export interface AvatarResult {
  /**
   * The object the client gets a reference to (usually an {@link Avatar}): its
   * `perspective_*` methods are what the user may call.
   */
  readonly avatar: Referenceable;
  /** Called once when the user's session ends (disconnect, or the avatar released). */
  readonly logout?: () => void;
}

/** Builds avatars for avatar ids (Twisted's `IRealm`); `mind` is the client's object, or null. */
export interface Realm {
  /**
   * The avatar for the user `avatarId` (Twisted's `IRealm.requestAvatar`, PB's interface only).
   * A throw or rejection fails the login as a checker's refusal does ({@link Portal.checkers}).
   */
  requestAvatar(avatarId: string, mind: unknown): AvatarResult | Promise<AvatarResult>;
}

/** A checker over usernames and plain passwords held in memory (Twisted's `InMemoryUsernamePasswordDatabaseDontUse`). */
export class InMemoryPasswordChecker implements CredentialsChecker {
  readonly #users = new Map<string, Uint8Array>();

  constructor(users: Readonly<Record<string, string>> = {}) {
    for (const [name, pw] of Object.entries(users)) this.addUser(name, pw);
  }

  /** Add (or replace) user `username`; a string password is stored as its UTF-8 bytes. */
  addUser(username: string, password: string | Uint8Array): this {
    this.#users.set(username, typeof password === "string" ? Buffer.from(password) : password);
    return this;
  }

  /**
   * `credentials.username` when the user exists and the password checks, else throws
   * {@link UnauthorizedLogin} (the same error for both, as Twisted does).
   */
  requestAvatarId(credentials: UsernameHashedPassword): string {
    const pw = this.#users.get(credentials.username);
    if (pw === undefined || !credentials.checkPassword(pw)) throw new UnauthorizedLogin();
    return credentials.username;
  }
}

/** Checkers plus a realm (Twisted's `Portal`). */
export class Portal {
  /** Builds the avatar once a checker has accepted the credentials. */
  readonly realm: Realm;
  /**
   * Tried in order until one accepts the credentials and the realm gives the avatar; when none
   * does, the login fails with the last error ({@link UnauthorizedLogin} when there are none).
   */
  readonly checkers: readonly CredentialsChecker[];

  constructor(realm: Realm, checkers: readonly CredentialsChecker[]) {
    this.realm = realm;
    this.checkers = checkers;
  }

  /** The avatar for `credentials`, or fails with {@link UnauthorizedLogin}. */
  async login(credentials: UsernameHashedPassword, mind: unknown): Promise<AvatarResult> {
    let lastError: unknown = new UnauthorizedLogin();
    for (const checker of this.checkers) {
      try {
        const id = await checker.requestAvatarId(credentials);
        return await this.realm.requestAvatar(id, mind);
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError;
  }
}

function md5(...parts: Uint8Array[]): Buffer {
  const h = createHash("md5");
  for (const p of parts) h.update(p);
  return h.digest();
}

/** The answer to `challenge` for `password` (Twisted's `pb.respond`): md5(md5(password) + challenge). */
export function respond(challenge: Uint8Array, password: Uint8Array): Uint8Array {
  return md5(md5(password), challenge);
}

/** A fresh challenge (Twisted's `pb.challenge`: 16 random bytes). */
export function challenge(): Uint8Array {
  return md5(randomBytes(20));
}

/** What a PB server publishes as root when it serves a portal (Twisted's `_PortalRoot`). */
export class PortalRoot implements RootProvider {
  /** The portal that logins on every connection go through. */
  readonly portal: Portal;

  constructor(portal: Portal) {
    this.portal = portal;
  }

  /**
   * A fresh login object for connection `broker` (Twisted's `_PortalWrapper`): its
   * `login(username)` answers `(challenge, challenger)`, and the challenger's
   * `respond(response, mind)` the avatar.
   */
  rootObject(broker: Broker): Referenceable {
    return new PortalWrapper(this.portal, broker);
  }
}

class PortalWrapper extends Referenceable {
  readonly #portal: Portal;
  readonly #broker: Broker;

  constructor(portal: Portal, broker: Broker) {
    super();
    this.#portal = portal;
    this.#broker = broker;
  }

  remote_login(username: unknown): PbTuple {
    const name = username instanceof Uint8Array ? Buffer.from(username).toString("utf8") : username;
    if (typeof name !== "string") throw new TypeError("login takes a username");
    const c = challenge();
    return tuple<unknown>(c, new AuthChallenger(this.#portal, this.#broker, name, c));
  }
}

class AuthChallenger extends Referenceable implements UsernameHashedPassword {
  readonly username: string;
  readonly #portal: Portal;
  readonly #broker: Broker;
  readonly #challenge: Uint8Array;
  #response: Uint8Array | null = null;

  constructor(portal: Portal, broker: Broker, username: string, c: Uint8Array) {
    super();
    this.#portal = portal;
    this.#broker = broker;
    this.username = username;
    this.#challenge = c;
  }

  async remote_respond(response: unknown, mind: unknown): Promise<Referenceable> {
    if (!(response instanceof Uint8Array)) throw new UnauthorizedLogin();
    this.#response = response;
    const { avatar, logout } = await this.#portal.login(this, mind);
    if (logout !== undefined) this.#broker.registerCleanup(avatar, logout);
    return avatar;
  }

  checkPassword(password: Uint8Array): boolean {
    const expected = respond(this.#challenge, password);
    const got = this.#response;
    return got !== null && got.length === expected.length && timingSafeEqual(got, expected);
  }
}

/** The client side of the login exchange on `root`. */
export async function loginWith(
  root: RemoteReference,
  credentials: Credentials,
  client: unknown,
): Promise<RemoteReference> {
  const answer = await root.callRemote("login", credentials.username);
  if (!(answer instanceof PbTuple || Array.isArray(answer)) || answer.length !== 2) {
    throw new UnauthorizedLogin("The server answered login with something unexpected.");
  }
  const [c, challenger] = answer as unknown[];
  if (!(c instanceof Uint8Array) || !isRemoteReference(challenger)) {
    throw new UnauthorizedLogin("The server answered login with something unexpected.");
  }
  const avatar = await challenger.callRemote("respond", respond(c, credentials.password), client);
  if (!isRemoteReference(avatar)) throw new UnauthorizedLogin("The server sent no avatar.");
  return avatar;
}

function isRemoteReference(v: unknown): v is RemoteReference {
  return typeof v === "object" && v !== null && "callRemote" in v && "luid" in v;
}
