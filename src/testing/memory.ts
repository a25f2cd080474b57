/**
 * In-memory transports and reactor for testing protocols without sockets (Twisted's
 * `twisted.internet.testing.StringTransport`, `StringTransportWithDisconnection`, `MemoryReactor`
 * and `twisted.test.iosim.connectedServerAndClient`).
 */
import { Clock } from "../core/clock.js";
import { ConnectionDone, ConnectionLost, WeftError } from "../core/errors.js";
import type { ClientFactory, Factory } from "../core/factory.js";
import type {
  Address,
  Connector,
  DelayedCall,
  Producer,
  ReactorTime,
  Transport,
} from "../core/interfaces.js";
import type { Protocol } from "../core/protocol.js";
import type {
  ConnectOptions,
  ConnectTCPOptions,
  ConnectTLSOptions,
  ListeningPort,
  ListenOptions,
  ListenTCPOptions,
  ListenTLSOptions,
} from "../core/reactor.js";
import { ProducerAlreadyRegisteredError } from "../core/transport.js";
import { concat } from "./bytes.js";

/** A memory transport was used in a way a real one would not allow (Twisted's RuntimeError). */
export class TransportStateError extends WeftError {
  constructor(message: string) {
    super("ERR_TRANSPORT_STATE", message);
  }
}

const encoder = new TextEncoder();

function toBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === "string" ? encoder.encode(data) : data;
}

/** Options of {@link MemoryTransport}. */
export interface MemoryTransportOptions {
  /** Default `{ type: "TCP", host: "10.0.0.1", port: 12345 }`. */
  hostAddress?: Address;
  /** Default `{ type: "TCP", host: "192.168.1.1", port: 54321 }`. */
  peerAddress?: Address;
  /** Allow pause/resume after `loseConnection` (default false: that throws TransportStateError). */
  lenient?: boolean;
}

/**
 * A transport that records what is written and does nothing else (Twisted's `StringTransport`).
 * `loseConnection()` only sets `disconnecting`: no `connectionLost` is delivered.
 */
export class MemoryTransport implements Transport {
  /** Set by `loseConnection()` and `abortConnection()`. */
  disconnecting = false;
  /** Set by `abortConnection()`. */
  disconnected = false;
  /** The registered producer, if any. */
  producer: Producer | null = null;
  /** The `streaming` flag of the registered producer (null when none). */
  streaming: boolean | null = null;
  /** This transport as a producer of incoming data: `pauseProducing`/`resumeProducing`/`stopProducing`. */
  producerState: "producing" | "paused" | "stopped" = "producing";
  /** What `getHost()` returns (the `hostAddress` option). */
  hostAddress: Address;
  /** What `getPeer()` returns (the `peerAddress` option). */
  peerAddress: Address;
  readonly #lenient: boolean;
  #chunks: Uint8Array[] = [];

  constructor(options: MemoryTransportOptions = {}) {
    this.hostAddress = options.hostAddress ?? { type: "TCP", host: "10.0.0.1", port: 12345 };
    this.peerAddress = options.peerAddress ?? { type: "TCP", host: "192.168.1.1", port: 54321 };
    this.#lenient = options.lenient ?? false;
  }

  /** Everything written since the last `clear()`. */
  value(): Uint8Array {
    if (this.#chunks.length > 1) {
      const all = concat(this.#chunks);
      this.#chunks = [all];
    }
    return this.#chunks[0] ?? new Uint8Array(0);
  }

  /** `value()` decoded as UTF-8. */
  text(): string {
    return new TextDecoder().decode(this.value());
  }

  /** Forgets what was written so far. */
  clear(): void {
    this.#chunks = [];
  }

  write(data: Uint8Array | string): void {
    const bytes = toBytes(data);
    if (bytes.length === 0) return;
    this.#chunks.push(new Uint8Array(bytes)); // a copy: the caller may reuse its buffer
  }

  writeSequence(data: Iterable<Uint8Array | string>): void {
    for (const d of data) this.write(d);
  }

  loseConnection(): void {
    this.disconnecting = true;
  }

  abortConnection(): void {
    this.disconnected = true;
    this.loseConnection();
  }

  getPeer(): Address {
    return this.peerAddress;
  }

  getHost(): Address {
    return this.hostAddress;
  }

  /** Throws ProducerAlreadyRegisteredError when one is registered already. */
  registerProducer(producer: Producer, streaming: boolean): void {
    if (this.producer !== null) throw new ProducerAlreadyRegisteredError();
    this.producer = producer;
    this.streaming = streaming;
  }

  /** Throws TransportStateError when no producer is registered. */
  unregisterProducer(): void {
    if (this.producer === null) {
      throw new TransportStateError("Cannot unregister a producer unless one is registered.");
    }
    this.producer = null;
    this.streaming = null;
  }

  #checkState(): void {
    if (this.disconnecting && !this.#lenient) {
      throw new TransportStateError("Cannot resume producing after loseConnection.");
    }
    if (this.producerState === "stopped")
      throw new TransportStateError("Cannot resume a stopped producer.");
  }

  pauseProducing(): void {
    this.#checkState();
    this.producerState = "paused";
  }

  resumeProducing(): void {
    this.#checkState();
    this.producerState = "producing";
  }

  stopProducing(): void {
    this.producerState = "stopped";
  }
}

/**
 * A {@link MemoryTransport} whose `loseConnection()` delivers `connectionLost(ConnectionDone)` to
 * `protocol` once (Twisted's `StringTransportWithDisconnection`). Set `protocol` (or pass it).
 */
export class MemoryTransportWithDisconnection extends MemoryTransport {
  /** The protocol told about the loss; `null` until set. */
  protocol: Protocol | null;
  /** False once `loseConnection()` has delivered `connectionLost`. */
  connected = true;

  constructor(protocol: Protocol | null = null, options: MemoryTransportOptions = {}) {
    super(options);
    this.protocol = protocol;
  }

  override loseConnection(): void {
    super.loseConnection();
    if (this.connected) {
      this.connected = false;
      this.protocol?.connectionLost(new ConnectionDone("Bye."));
    }
  }
}

// ----------------------------------------------------------------------------------------------
// connectedPair: two protocols joined in memory (Twisted's iosim)

/**
 * One end of an in-memory connection made by {@link connectedPair}: writes are queued until the
 * pump moves them to the other protocol.
 */
export class PipeTransport implements Transport {
  /** Set by `loseConnection()` and `abortConnection()`. */
  disconnecting = false;
  /** Set once the pump has delivered `connectionLost` to this end. */
  disconnected = false;
  /** Set by `abortConnection()`: the peer sees ConnectionLost instead of ConnectionDone. */
  aborted = false;
  /** Reading paused by `pauseProducing()`: the pump holds data for this end. */
  paused = false;
  /** The registered producer, if any. */
  producer: Producer | null = null;
  /** The `streaming` flag of the registered producer (false when none). */
  streaming = false;
  /** The protocol on this end. */
  protocol: Protocol;
  readonly #host: Address;
  readonly #peer: Address;
  /** @internal Bytes written and not yet delivered. */
  outgoing: Uint8Array[] = [];

  constructor(protocol: Protocol, host: Address, peer: Address) {
    this.protocol = protocol;
    this.#host = host;
    this.#peer = peer;
  }

  write(data: Uint8Array | string): void {
    if (this.disconnected || this.aborted) return;
    const bytes = toBytes(data);
    if (bytes.length > 0) this.outgoing.push(new Uint8Array(bytes));
  }

  writeSequence(data: Iterable<Uint8Array | string>): void {
    for (const d of data) this.write(d);
  }

  loseConnection(): void {
    this.disconnecting = true;
  }

  abortConnection(): void {
    this.disconnecting = true;
    this.aborted = true;
    this.outgoing = [];
  }

  getPeer(): Address {
    return this.#peer;
  }

  getHost(): Address {
    return this.#host;
  }

  registerProducer(producer: Producer, streaming: boolean): void {
    if (this.producer !== null) throw new ProducerAlreadyRegisteredError();
    if (this.disconnected) {
      producer.stopProducing();
      return;
    }
    this.producer = producer;
    this.streaming = streaming;
    if (!streaming) producer.resumeProducing();
  }

  unregisterProducer(): void {
    this.producer = null;
  }

  pauseProducing(): void {
    this.paused = true;
  }

  resumeProducing(): void {
    this.paused = false;
  }

  stopProducing(): void {
    this.loseConnection();
  }

  /** @internal */
  takeOutgoing(): Uint8Array | null {
    const out = this.outgoing;
    if (out.length === 0) return null;
    this.outgoing = [];
    if (out.length === 1) return out[0] as Uint8Array;
    return concat(out);
  }

  /** @internal Delivers connectionLost once. */
  reportLost(reason: Error): void {
    if (this.disconnected) return;
    this.disconnected = true;
    this.disconnecting = true;
    const producer = this.producer;
    this.producer = null;
    producer?.stopProducing();
    this.protocol.connectionLost(reason);
  }
}

/** Moves bytes between the two ends of a {@link connectedPair}. */
export interface Pump {
  /** One round: each side's pending bytes are delivered to the other. True if anything moved. */
  pump(): boolean;
  /** Pumps until nothing moves (at most `maxTurns`, default 10 000 rounds). */
  flush(maxTurns?: number): void;
}

/** The result of {@link connectedPair}. */
export interface ConnectedPair<S extends Protocol, C extends Protocol> {
  /** The server-side protocol, connected. */
  server: S;
  /** The client-side protocol, connected. */
  client: C;
  /** The server's transport (its peer address is the client's). */
  serverTransport: PipeTransport;
  /** The client's transport. */
  clientTransport: PipeTransport;
  /** Moves the bytes each side wrote to the other; nothing moves until it is called. */
  pump: Pump;
}

/**
 * Joins `server` and `client` through in-memory transports (Twisted's
 * `connectedServerAndClient`): both are connected at once (server first); nothing moves until
 * `pump.pump()`/`pump.flush()`. A `loseConnection()` on one side takes effect once its pending
 * bytes are delivered: both protocols then get `connectionLost(ConnectionDone)` (ConnectionLost
 * after `abortConnection()`).
 */
export function connectedPair<S extends Protocol, C extends Protocol>(
  server: S,
  client: C,
  options: { serverAddress?: Address; clientAddress?: Address } = {},
): ConnectedPair<S, C> {
  const serverAddress = options.serverAddress ?? { type: "TCP", host: "127.0.0.1", port: 10001 };
  const clientAddress = options.clientAddress ?? { type: "TCP", host: "127.0.0.1", port: 54321 };
  const serverTransport = new PipeTransport(server, serverAddress, clientAddress);
  const clientTransport = new PipeTransport(client, clientAddress, serverAddress);
  server.makeConnection(serverTransport);
  client.makeConnection(clientTransport);

  // Like iosim: both sides' pending bytes are taken first, then delivered, so a reply written
  // while handling this round's data moves on the next round.
  const take = (from: PipeTransport, to: PipeTransport): Uint8Array | null =>
    to.paused || to.disconnected || from.disconnected ? null : from.takeOutgoing();
  const deliver = (from: PipeTransport, to: PipeTransport, data: Uint8Array | null): boolean => {
    if (data === null) return false;
    if (!to.disconnecting && !to.disconnected) to.protocol.dataReceived(data);
    const producer = from.producer;
    if (producer !== null && !from.streaming) producer.resumeProducing();
    return true;
  };
  const close = (side: PipeTransport, other: PipeTransport): boolean => {
    if (!side.disconnecting || side.disconnected) return false;
    if (side.outgoing.length > 0 && !side.aborted) return false; // deliver pending bytes first
    if (side.aborted) {
      side.reportLost(new ConnectionLost("Connection was aborted."));
      other.reportLost(new ConnectionLost("The peer aborted the connection."));
    } else {
      side.reportLost(new ConnectionDone());
      other.reportLost(new ConnectionDone());
    }
    return true;
  };
  const pump = (): boolean => {
    const fromClient = take(clientTransport, serverTransport);
    const fromServer = take(serverTransport, clientTransport);
    const a = deliver(clientTransport, serverTransport, fromClient);
    const b = deliver(serverTransport, clientTransport, fromServer);
    if (a || b) return true;
    return close(serverTransport, clientTransport) || close(clientTransport, serverTransport);
  };
  const flush = (maxTurns = 10_000): void => {
    for (let i = 0; i < maxTurns; i++) if (!pump()) return;
    throw new TransportStateError(
      `connectedPair: still moving data after ${maxTurns} pump rounds.`,
    );
  };
  return { server, client, serverTransport, clientTransport, pump: { pump, flush } };
}

// ----------------------------------------------------------------------------------------------
// MemoryReactor

/** A port returned by {@link MemoryReactor}'s listen calls. */
export class MemoryListeningPort implements ListeningPort {
  /** True until `stopListening()`. */
  listening = true;
  readonly #address: Address;
  constructor(
    address: Address,
    /** The factory passed to the listen call. */
    readonly factory: Factory,
  ) {
    this.#address = address;
  }
  getHost(): Address {
    return this.#address;
  }
  stopListening(): Promise<void> {
    if (this.listening) {
      this.listening = false;
      this.factory.doStop();
    }
    return Promise.resolve();
  }
  closeConnections(): Promise<void> {
    return Promise.resolve();
  }
}

/** A connector returned by {@link MemoryReactor}'s connect calls: it records what is asked of it. */
export class MemoryConnector implements Connector {
  /** The state the calls so far imply (nothing actually connects). */
  state: "disconnected" | "connecting" | "connected" = "connecting";
  /** How many times `connect()` was called. */
  connectCalls = 0;
  /** How many times `stopConnecting()` was called. */
  stopConnectingCalls = 0;
  /** How many times `disconnect()` was called. */
  disconnectCalls = 0;
  readonly #destination: Address;
  constructor(destination: Address) {
    this.#destination = destination;
  }
  connect(): void {
    this.connectCalls += 1;
    this.state = "connecting";
  }
  stopConnecting(): void {
    this.stopConnectingCalls += 1;
    this.state = "disconnected";
  }
  disconnect(): void {
    this.disconnectCalls += 1;
    this.state = "disconnected";
  }
  getDestination(): Address {
    return this.#destination;
  }
}

/**
 * A reactor that records listen/connect calls without any I/O (Twisted's `MemoryReactorClock`):
 * its time is a manual {@link Clock} (`reactor.clock.advance(…)`).
 */
export class MemoryReactor implements ReactorTime {
  /** The manual clock behind `seconds()` and `callLater()`. */
  readonly clock: Clock;
  /** Every `listenTCP` call, in order. */
  tcpServers: Array<{
    /** The port asked for. */
    port: number;
    /** The factory passed. */
    factory: Factory;
    /** The options passed. */
    options: ListenTCPOptions;
  }> = [];
  /** Every `listenTLS` call, in order. */
  tlsServers: Array<{
    /** The port asked for. */
    port: number;
    /** The factory passed. */
    factory: Factory;
    /** The options passed. */
    options: ListenTLSOptions;
  }> = [];
  /** Every `listenUNIX` call, in order. */
  unixServers: Array<{
    /** The socket path asked for. */
    path: string;
    /** The factory passed. */
    factory: Factory;
    /** The options passed. */
    options: ListenOptions;
  }> = [];
  /** Every `connectTCP` call, in order. */
  tcpClients: Array<{
    /** The host asked for. */
    host: string;
    /** The port asked for. */
    port: number;
    /** The factory passed. */
    factory: ClientFactory;
    /** The options passed. */
    options: ConnectTCPOptions;
  }> = [];
  /** Every `connectTLS` call, in order. */
  tlsClients: Array<{
    /** The host asked for. */
    host: string;
    /** The port asked for. */
    port: number;
    /** The factory passed. */
    factory: ClientFactory;
    /** The options passed. */
    options: ConnectTLSOptions;
  }> = [];
  /** Every `connectUNIX` call, in order. */
  unixClients: Array<{
    /** The socket path asked for. */
    path: string;
    /** The factory passed. */
    factory: ClientFactory;
    /** The options passed. */
    options: ConnectOptions;
  }> = [];
  /** Every connector handed out, in order. */
  connectors: MemoryConnector[] = [];

  constructor(clock: Clock = new Clock()) {
    this.clock = clock;
  }

  /** The manual clock's time, in seconds. */
  seconds(): number {
    return this.clock.seconds();
  }

  /** Schedules `fn(...args)` on the manual clock, `delay` seconds from now. */
  callLater<A extends unknown[]>(delay: number, fn: (...args: A) => void, ...args: A): DelayedCall {
    return this.clock.callLater(delay, fn, ...args);
  }

  #port(address: Address, factory: Factory): Promise<ListeningPort> {
    factory.doStart();
    return Promise.resolve(new MemoryListeningPort(address, factory));
  }

  /** Records the call in `tcpServers`, starts `factory` and returns a {@link MemoryListeningPort}. */
  listenTCP(
    port: number,
    factory: Factory,
    options: ListenTCPOptions = {},
  ): Promise<ListeningPort> {
    this.tcpServers.push({ port, factory, options });
    const host = options.interface ?? "0.0.0.0";
    return this.#port({ type: host.includes(":") ? "TCP6" : "TCP", host, port }, factory);
  }

  /** Records the call in `tlsServers`, starts `factory` and returns a {@link MemoryListeningPort}. */
  listenTLS(port: number, factory: Factory, options: ListenTLSOptions): Promise<ListeningPort> {
    this.tlsServers.push({ port, factory, options });
    const host = options.interface ?? "0.0.0.0";
    return this.#port({ type: host.includes(":") ? "TCP6" : "TCP", host, port }, factory);
  }

  /** Records the call in `unixServers`, starts `factory` and returns a {@link MemoryListeningPort}. */
  listenUNIX(path: string, factory: Factory, options: ListenOptions = {}): Promise<ListeningPort> {
    this.unixServers.push({ path, factory, options });
    return this.#port({ type: "UNIX", host: "", port: 0, path }, factory);
  }

  #connector(address: Address, factory: ClientFactory): MemoryConnector {
    const c = new MemoryConnector(address);
    this.connectors.push(c);
    factory.startedConnecting(c);
    return c;
  }

  /** Records the call in `tcpClients` and returns a {@link MemoryConnector} (`startedConnecting` is called; nothing connects). */
  connectTCP(
    host: string,
    port: number,
    factory: ClientFactory,
    options: ConnectTCPOptions = {},
  ): MemoryConnector {
    this.tcpClients.push({ host, port, factory, options });
    return this.#connector({ type: host.includes(":") ? "TCP6" : "TCP", host, port }, factory);
  }

  /** Records the call in `tlsClients` and returns a {@link MemoryConnector} (`startedConnecting` is called; nothing connects). */
  connectTLS(
    host: string,
    port: number,
    factory: ClientFactory,
    options: ConnectTLSOptions = {},
  ): MemoryConnector {
    this.tlsClients.push({ host, port, factory, options });
    return this.#connector({ type: host.includes(":") ? "TCP6" : "TCP", host, port }, factory);
  }

  /** Records the call in `unixClients` and returns a {@link MemoryConnector} (`startedConnecting` is called; nothing connects). */
  connectUNIX(path: string, factory: ClientFactory, options: ConnectOptions = {}): MemoryConnector {
    this.unixClients.push({ path, factory, options });
    return this.#connector({ type: "UNIX", host: "", port: 0, path }, factory);
  }
}
