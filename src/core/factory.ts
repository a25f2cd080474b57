import type { Address, Connector } from "./interfaces.js";
import type { Protocol } from "./protocol.js";

/** A zero-argument constructor of protocols. */
export type ProtocolClass<P extends Protocol = Protocol> = new () => P;

/**
 * Builds a protocol per connection (Twisted's `Factory`). Subclass and override `buildProtocol`,
 * or set `protocol` to a class. `startFactory`/`stopFactory` run when the first port using this
 * factory starts and the last one stops (counted by `doStart`/`doStop`).
 */
export class Factory<P extends Protocol = Protocol> {
  protocol: ProtocolClass<P> | null = null;
  /** How many ports/connectors currently use this factory. */
  numPorts = 0;

  /** A factory that builds `protocolClass` for every connection. */
  static forProtocol<Q extends Protocol>(protocolClass: ProtocolClass<Q>): Factory<Q> {
    const factory = new Factory<Q>();
    factory.protocol = protocolClass;
    return factory;
  }

  doStart(): void {
    if (this.numPorts === 0) this.startFactory();
    this.numPorts += 1;
  }

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
    const p = new this.protocol();
    (p as Protocol).factory = this as unknown as Factory;
    return p;
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
