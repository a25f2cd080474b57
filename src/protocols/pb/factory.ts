/**
 * PB factories (Twisted's `PBServerFactory` and `PBClientFactory`).
 *
 * ```ts
 * class Calculator extends Root { remote_calculate(a: number, b: number) { return tuple(a + b, 0); } }
 * await reactor.listenTCP(8992, new PBServerFactory(new Calculator()));
 *
 * const factory = new PBClientFactory();
 * reactor.connectTCP("127.0.0.1", 8992, factory);
 * const root = await factory.getRootObject();
 * const [sum, id] = (await root.callRemote("calculate", 42, 47)) as PbTuple<number>;
 * ```
 */
import { Deferred, succeed } from "../../core/deferred.js";
import type { ClientEndpoint } from "../../core/endpoints.js";
import { ClientFactory, ServerFactory } from "../../core/factory.js";
import type { Address, Connector } from "../../core/interfaces.js";
import type { BananaLimits } from "./banana.js";
import { Broker, type BrokerFactory, type PbLogger } from "./broker.js";
import type { RootProvider } from "./flavors.js";
import { type Credentials, loginWith, type Portal, PortalRoot } from "./login.js";
import type { RemoteReference } from "./reference.js";
import { globalSecurity, type SecurityOptions } from "./security.js";

/** Options of both PB factories. */
export interface PBFactoryOptions {
  /** What may be unjellied. Default {@link globalSecurity}. */
  security?: SecurityOptions;
  /** Send JS stacks of unexpected errors to the peer. Default false. */
  unsafeTracebacks?: boolean;
  /** Banana limits for incoming data (Twisted's by default). */
  bananaLimits?: BananaLimits;
  /** Where protocol errors and unexpected remote-method errors are logged. Default: discarded. */
  logger?: PbLogger;
}

const silent: PbLogger = { error: () => {} };

/** Serves `root` (a {@link RootProvider} such as a `Root`, or a {@link Portal}) to every connection. */
export class PBServerFactory extends ServerFactory<Broker> implements BrokerFactory {
  /**
   * Gives each connection the object it publishes as `root`; a {@link Portal} passed to the
   * constructor is wrapped in a {@link PortalRoot}.
   */
  readonly root: RootProvider;
  /** What received arguments may unjelly to ({@link PBFactoryOptions.security}). */
  readonly security: SecurityOptions;
  /** Whether remote-method stacks go to the peer ({@link PBFactoryOptions.unsafeTracebacks}). */
  readonly unsafeTracebacks: boolean;
  /** Limits on incoming banana ({@link PBFactoryOptions.bananaLimits}). */
  readonly bananaLimits: BananaLimits;
  /** Where errors are logged ({@link PBFactoryOptions.logger}). */
  readonly logger: PbLogger;

  constructor(root: RootProvider | Portal, options: PBFactoryOptions = {}) {
    super();
    this.root = "rootObject" in root ? root : new PortalRoot(root);
    this.security = options.security ?? globalSecurity;
    this.unsafeTracebacks = options.unsafeTracebacks ?? false;
    this.bananaLimits = options.bananaLimits ?? {};
    this.logger = options.logger ?? silent;
  }

  override buildProtocol(_addr: Address): Broker {
    const broker = new Broker(false);
    broker.factory = this;
    broker.setNameForLocal("root", this.root.rootObject(broker));
    return broker;
  }

  brokerConnected(_broker: Broker): void {}
}

/**
 * Connects to a PB server; `getRootObject()` and `login()` may be called before or after the
 * connection is made. Use one factory per connection.
 */
export class PBClientFactory extends ClientFactory<Broker> implements BrokerFactory {
  /** What received answers may unjelly to ({@link PBFactoryOptions.security}). */
  readonly security: SecurityOptions;
  /**
   * Whether JS stacks of unexpected errors in this side's remote methods (objects it passes to the
   * server) go to the peer ({@link PBFactoryOptions.unsafeTracebacks}).
   */
  readonly unsafeTracebacks: boolean;
  /** Limits on incoming banana ({@link PBFactoryOptions.bananaLimits}). */
  readonly bananaLimits: BananaLimits;
  /** Where errors are logged ({@link PBFactoryOptions.logger}). */
  readonly logger: PbLogger;
  #broker: Broker | null = null;
  #root: RemoteReference | null = null;
  #requests: Array<Deferred<RemoteReference>> = [];

  constructor(options: PBFactoryOptions = {}) {
    super();
    this.security = options.security ?? globalSecurity;
    this.unsafeTracebacks = options.unsafeTracebacks ?? false;
    this.bananaLimits = options.bananaLimits ?? {};
    this.logger = options.logger ?? silent;
  }

  override buildProtocol(_addr: Address): Broker {
    const broker = new Broker(true);
    broker.factory = this;
    return broker;
  }

  /** The connected broker, once the connection speaks PB. */
  get broker(): Broker | null {
    return this.#broker;
  }

  /** The server's root object. Fails with the connect error or the loss of the connection. */
  getRootObject(): Deferred<RemoteReference> {
    if (this.#broker !== null && !this.#broker.disconnected && this.#root !== null) {
      return succeed(this.#root);
    }
    const d = new Deferred<RemoteReference>();
    this.#requests.push(d);
    return d;
  }

  /**
   * Connect through `endpoint` and return the root object: connect failures fail the root requests
   * (what `clientConnectionFailed` does for `reactor.connectTCP`).
   */
  connect(endpoint: ClientEndpoint): Deferred<RemoteReference> {
    const root = this.getRootObject();
    endpoint.connect(this).addErrback((err: Error) => {
      this.#failAll(err);
      return null;
    });
    return root;
  }

  /**
   * Log in with `credentials` (username and password, challenge–response) and return a reference
   * to the avatar. `client` is passed to the server's realm as the "mind" (a Referenceable the
   * server can call back, or null). A wrong password fails with a CopiedFailure of type
   * `twisted.cred.error.UnauthorizedLogin`.
   */
  login(credentials: Credentials, client: unknown = null): Deferred<RemoteReference> {
    return this.getRootObject().addCallback((root) => loginWith(root, credentials, client));
  }

  /** Close the connection. */
  disconnect(): void {
    this.#broker?.transport.loseConnection();
  }

  brokerConnected(broker: Broker): void {
    this.#broker = broker;
    this.#root = broker.remoteForName("root");
    const requests = this.#requests;
    this.#requests = [];
    for (const d of requests) d.callback(this.#root);
  }

  brokerConnectionLost(broker: Broker, reason: Error): void {
    if (this.#broker === broker || this.#broker === null) this.#failAll(reason);
  }

  override clientConnectionFailed(_connector: Connector, reason: Error): void {
    this.#failAll(reason);
  }

  override clientConnectionLost(_connector: Connector, reason: Error): void {
    this.#failAll(reason);
  }

  #failAll(reason: Error): void {
    const requests = this.#requests;
    this.#requests = [];
    this.#broker = null;
    this.#root = null;
    for (const d of requests) if (!d.called) d.errback(reason);
  }
}
