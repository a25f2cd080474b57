/**
 * The flavors of objects PB passes (Twisted's `twisted.spread.flavors`):
 * - {@link Referenceable}: sent as a reference; the peer calls its `remote_*` methods.
 * - {@link Root}: the object a server publishes as `root` to every connection.
 * - {@link Copyable}: sent as a copy of its state under a type name; the peer rebuilds it as the
 *   {@link RemoteCopy} class registered for that name.
 */
import type { Broker } from "./broker.js";
import { InsecureJelly, NoSuchMethod } from "./errors.js";
import { type Jellier, Jellyable, type Sexp } from "./jelly.js";
import { bytesToText } from "./unjelly.js";

/**
 * What a remote method may return: a value, or a Promise/Deferred of one (the broker waits for it,
 * as Twisted waits for a returned Deferred). The answer is jellied, so it must be a value PB can
 * send; anything is accepted here because a method's answer is checked only when it is sent.
 */
export type RemoteResult = unknown;

/** A remote method: takes the call's positional arguments. */
export type RemoteMethod = (...args: never[]) => RemoteResult;

/**
 * An object the peer can call: `callRemote("calculate", 1, 2)` runs `remote_calculate(1, 2)` here
 * (the method's return value, or what its Promise/Deferred resolves to, is the answer; what it
 * throws is the error). Subclass and define `remote_*` methods, or build one from a map of
 * functions with {@link Referenceable.fromMethods}.
 */
export class Referenceable extends Jellyable {
  /** The method-name prefix this flavor dispatches to. */
  protected readonly methodPrefix: string = "remote_";
  /** Methods found so far, by remote name (a hit only: bounded by the methods the object has). */
  readonly #methods = new Map<string, (...args: unknown[]) => RemoteResult>();

  /** A Referenceable whose remote methods are the own properties of `methods`. */
  static fromMethods(methods: Readonly<Record<string, RemoteMethod>>): Referenceable {
    return new MethodMapReferenceable(methods);
  }

  /**
   * Run remote method `name` with `args` (Twisted's `remoteMessageReceived`). Keyword arguments
   * are refused unless a subclass overrides this.
   */
  remoteMessageReceived(
    _broker: Broker,
    name: string,
    args: unknown[],
    kwargs: ReadonlyMap<unknown, unknown>,
  ): RemoteResult {
    let method = this.#methods.get(name);
    if (method === undefined) {
      method = this.lookupMethod(name);
      this.#methods.set(name, method);
    }
    if (kwargs.size > 0) {
      throw new TypeError(`${this.methodPrefix}${name} takes no keyword arguments`);
    }
    return Reflect.apply(method, this, args);
  }

  /** The function for remote method `name`, or throws {@link NoSuchMethod}. */
  protected lookupMethod(name: string): (...args: unknown[]) => RemoteResult {
    const key = this.methodPrefix + name;
    // The prefix keeps every lookup off Object.prototype (`remote___proto__` is just a miss).
    const fn: unknown = Reflect.get(this, key);
    if (typeof fn !== "function") {
      throw new NoSuchMethod(`No such method: ${key}`);
    }
    return fn as (...args: unknown[]) => RemoteResult;
  }

  /**
   * Sent by reference (Twisted's `Referenceable.jellyFor`): `["remote", luid]`, the id the
   * connection's broker registers for this object (the same id each time it is sent). With no
   * broker (a plain `jelly(value)`) it becomes `["unpersistable", ...]`.
   */
  jellyFor(jellier: Jellier): Sexp {
    const invoker = jellier.invoker;
    if (invoker === null) return ["unpersistable", "References cannot be serialized"];
    return ["remote", invoker.registerReference(this)];
  }
}

class MethodMapReferenceable extends Referenceable {
  readonly #methods: Readonly<Record<string, RemoteMethod>>;

  constructor(methods: Readonly<Record<string, RemoteMethod>>) {
    super();
    this.#methods = methods;
  }

  protected override lookupMethod(name: string): (...args: unknown[]) => RemoteResult {
    const fn = Object.hasOwn(this.#methods, name) ? this.#methods[name] : undefined;
    if (typeof fn !== "function") throw new NoSuchMethod(`No such method: remote_${name}`);
    return fn as (...args: unknown[]) => RemoteResult;
  }
}

/** Something that gives each connection its root object (Twisted's `IPBRoot`). */
export interface RootProvider {
  /** The object published as `root` on the new connection `broker` (Twisted's `rootObject`). */
  rootObject(broker: Broker): Referenceable;
}

/** The object a PB server publishes as `root` (Twisted's `pb.Root`): the same one for every connection. */
export class Root extends Referenceable implements RootProvider {
  /** This object itself, whatever the connection. */
  rootObject(_broker: Broker): Referenceable {
    return this;
  }
}

/**
 * A logged-in user's view of the service (Twisted's `pb.Avatar`): the peer's calls run its
 * `perspective_*` methods.
 */
export class Avatar extends Referenceable {
  protected override readonly methodPrefix: string = "perspective_";
}

/**
 * An object sent as a copy (Twisted's `pb.Copyable`). The type name defaults to the class's static
 * `copyType` (set it to the name the peer registered, e.g. `"myapp.Point"`), else the class name;
 * the state defaults to the own enumerable properties as a dict.
 */
export class Copyable extends Jellyable {
  /** The type name under which this is sent. */
  getTypeToCopy(): string {
    const ctor = this.constructor as { copyType?: unknown; name: string };
    return typeof ctor.copyType === "string" ? ctor.copyType : ctor.name;
  }

  /** The state sent: by default a dict of the own enumerable properties. */
  getStateToCopy(): unknown {
    return new Map(Object.entries(this));
  }

  /**
   * Sent as a copy (Twisted's `Copyable.jellyFor`): `[typeName, state]` from
   * {@link getTypeToCopy} and the jellied {@link getStateToCopy}, shared or cyclic like any other
   * container.
   */
  jellyFor(jellier: Jellier): Sexp {
    const sxp = jellier.prepare(this);
    sxp.push(this.getTypeToCopy(), jellier.jelly(this.getStateToCopy()));
    return jellier.preserve(this, sxp);
  }
}

/**
 * The local copy of a remote {@link Copyable} (Twisted's `pb.RemoteCopy`): register a subclass for
 * the remote type name with `security.setUnjellyableForClass(name, Cls)`. The default
 * `setCopyableState` copies a dict's string keys into own data properties; a key naming anything
 * the class or `Object.prototype` already has (`__proto__`, `constructor`, a method) is refused as
 * {@link InsecureJelly}.
 */
export class RemoteCopy {
  /**
   * Take the unjellied `state` of the remote copy (Twisted's `setCopyableState`); called once, on
   * a fresh instance. Throws {@link InsecureJelly} when `state` is not a dict, has a key that is
   * not a string, or a key that would shadow an inherited member. Override to validate or
   * transform it.
   */
  setCopyableState(state: unknown): void {
    if (!(state instanceof Map)) throw new InsecureJelly("A copied state must be a dict");
    const proto = Object.getPrototypeOf(this) as object;
    for (const [k, v] of state) {
      const key = typeof k === "string" ? k : k instanceof Uint8Array ? bytesToText(k) : null;
      if (key === null) throw new InsecureJelly("A copied state's keys must be strings");
      if (key in proto || key === "__proto__") {
        throw new InsecureJelly(`A copied state may not set ${JSON.stringify(key)}`);
      }
      Object.defineProperty(this, key, {
        value: v,
        writable: true,
        enumerable: true,
        configurable: true,
      });
    }
  }
}
