import type { Address, Connector } from "./interfaces.js";
import type { Protocol } from "./protocol.js";

/** A constructor of protocols, taking `A` as its arguments. */
export type ProtocolClass<P extends Protocol = Protocol, A extends unknown[] = []> = new (
  ...args: A
) => P;

/**
 * `unknown` when a plain {@link Factory} is a factory `Q` may be built by (its `this.factory` type
 * accepts one); otherwise a type no class satisfies, whose key says why. {@link Factory.forProtocol}
 * takes `ProtocolClass & FactoryFits<Q>`, so `forProtocol(P)` for a `P extends Protocol<MyFactory>`
 * is a compile error instead of a protocol whose `this.factory` lacks what `MyFactory` has.
 */
export type FactoryFits<Q extends Protocol> =
  Factory<Q> extends Q["factory"]
    ? unknown
    : {
        /** The compile error's message: the key is the explanation. */
        "this protocol needs its own factory class (subclass Factory, override buildProtocol)": never;
      };

/**
 * Builds a protocol per connection (Twisted's `Factory`). Subclass and override `buildProtocol`,
 * or set `protocol` to a class. `startFactory`/`stopFactory` run when the first port using this
 * factory starts and the last one stops (counted by `doStart`/`doStop`).
 */
export class Factory<P extends Protocol = Protocol> {
  /** The protocol class the default `buildProtocol` instantiates (Twisted's `Factory.protocol`); `null` refuses every connection. */
  protocol: ProtocolClass<P> | null = null;
  /** How many ports/connectors currently use this factory. */
  numPorts = 0;

  /**
   * A factory that builds `new protocolClass(...args)` for every connection (the same `args`
   * each time: pass shared state, not per-connection state).
   */
  static forProtocol<Q extends Protocol, A extends unknown[]>(
    protocolClass: ProtocolClass<Q, A> & FactoryFits<Q>,
    ...args: A
  ): Factory<Q> {
    if (args.length === 0) {
      const factory = new Factory<Q>();
      factory.protocol = protocolClass as ProtocolClass<Q>;
      return factory;
    }
    return new ArgumentsFactory(protocolClass, args);
  }

  /**
   * Called by a port or connector when it starts using this factory; runs `startFactory` for the
   * first one (Twisted's `doStart`). Not meant to be overridden: override `startFactory`.
   */
  doStart(): void {
    if (this.numPorts === 0) this.startFactory();
    this.numPorts += 1;
  }

  /**
   * Called by a port or connector when it stops using this factory; runs `stopFactory` for the last
   * one (Twisted's `doStop`). A call without a matching `doStart` is ignored.
   */
  doStop(): void {
    if (this.numPorts === 0) return;
    this.numPorts -= 1;
    if (this.numPorts === 0) this.stopFactory();
  }

  /** Called when the first port using this factory starts listening / connecting. */
  startFactory(): void {}

  /** Called when the last port using this factory stops. */
  stopFactory(): void {}

  /**
   * Returns a new protocol for a connection from/to `addr`, with `factory` set; `null` refuses the
   * connection (the transport closes it at once).
   */
  buildProtocol(_addr: Address): P | null {
    if (this.protocol === null) return null;
    return this.adopt(new this.protocol());
  }

  /** Sets `protocol.factory` to this factory and returns the protocol (for `buildProtocol`s). */
  adopt(protocol: P): P {
    protocol.factory = this;
    return protocol;
  }
}

/** What {@link Factory.forProtocol} builds for a class whose constructor takes arguments. */
class ArgumentsFactory<P extends Protocol, A extends unknown[]> extends Factory<P> {
  readonly #protocolClass: ProtocolClass<P, A>;
  readonly #args: A;

  constructor(protocolClass: ProtocolClass<P, A>, args: A) {
    super();
    this.#protocolClass = protocolClass;
    this.#args = args;
  }

  override buildProtocol(_addr: Address): P | null {
    return this.adopt(new this.#protocolClass(...this.#args));
  }
}

/** A factory for servers (Twisted's `ServerFactory`). */
export class ServerFactory<P extends Protocol = Protocol> extends Factory<P> {}

/** A factory for outgoing connections, told how they start, fail and end. */
export class ClientFactory<P extends Protocol = Protocol> extends Factory<P> {
  /** Called when a connection attempt starts. */
  startedConnecting(_connector: Connector): void {}
  /** Called when a connection attempt fails (`reason` is a typed ConnectError). */
  clientConnectionFailed(_connector: Connector, _reason: Error): void {}
  /** Called when an established connection is lost (`reason` is ConnectionDone/ConnectionLost). */
  clientConnectionLost(_connector: Connector, _reason: Error): void {}
}
