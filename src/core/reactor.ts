/**
 * The reactor: listening ports and outgoing connections over TCP, Unix sockets and TLS, plus the
 * time interface (delegated to a clock). There is no global reactor: create one with
 * {@link createReactor} and pass it to whatever needs it.
 */
import * as net from "node:net";
import * as tls from "node:tls";
import { NodeClock } from "./clock.js";
import {
  CannotListenError,
  ConnectError,
  ConnectionRefusedError,
  ConnectTimeoutError,
  InvalidArgumentError,
} from "./errors.js";
import type { ClientFactory, Factory } from "./factory.js";
import type { Address, Connector, DelayedCall, ReactorTime } from "./interfaces.js";
import {
  Lifecycle,
  type ReactorState,
  type SystemEventTrigger,
  type SystemEventType,
  type TriggerPhase,
} from "./lifecycle.js";
import { type ProcessTransport, type SpawnProcessOptions, spawnProcess } from "./process.js";
import type { ProcessProtocol } from "./process-protocol.js";
import type { Protocol } from "./protocol.js";
import { ThreadPool, type ThreadPoolOptions } from "./threads/pool.js";
import type { ThreadTask } from "./threads/task.js";
import {
  consoleErrorLogger,
  type ErrorLogger,
  SocketPeerAddress,
  SocketTransport,
  type SocketTransportOptions,
  tcpAddress,
  unixAddress,
} from "./transport.js";
import {
  bindUDP,
  type DatagramProtocol,
  type ListenMulticastOptions,
  type ListenUDPOptions,
  type UDPPort,
} from "./udp.js";

/** The host name could not be resolved (ENOTFOUND, EAI_AGAIN). */
export class DNSLookupError extends ConnectError {
  constructor(message = "DNS lookup failed.", options?: { cause?: unknown }) {
    super("ERR_DNS_LOOKUP", message, options);
  }
}

/** A connection attempt was abandoned by the user (`stopConnecting`, or cancelling a Deferred). */
export class ConnectingCancelledError extends ConnectError {
  constructor(message = "The connection attempt was cancelled.", options?: { cause?: unknown }) {
    super("ERR_CONNECTING_CANCELLED", message, options);
  }
}

/** Maps a Node socket error raised while connecting to weft's typed connect errors. */
export function connectErrorFrom(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const detail = err instanceof Error ? err.message : String(err);
  switch (code) {
    case "ECONNREFUSED":
      return new ConnectionRefusedError(`Connection was refused by other side: ${detail}`, {
        cause: err,
      });
    case "ETIMEDOUT":
      return new ConnectTimeoutError(`Connection timed out: ${detail}`, { cause: err });
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EAI_FAIL":
    case "EAI_NONAME":
      return new DNSLookupError(`DNS lookup failed: ${detail}`, { cause: err });
    default:
      return new ConnectError("ERR_CONNECT", `An error occurred while connecting: ${detail}`, {
        cause: err,
      });
  }
}

/** A `ClientFactory` that also wants to know when a connector's protocol is connected (weft extension). */
interface ConnectionMadeHook {
  clientConnectionMade(connector: Connector, protocol: Protocol): void;
}

function hasConnectionMadeHook(f: object): f is ConnectionMadeHook {
  return typeof (f as Partial<ConnectionMadeHook>).clientConnectionMade === "function";
}

/** Options shared by every listen call. */
/**
 * Default listen backlog: Node's 511, not Twisted's 50 (which overflows when 64 clients connect at
 * once and stalls some of them for a SYN retransmit).
 */
const DEFAULT_BACKLOG = 511;

export interface ListenOptions {
  /** Pending-connection queue length. Default 511 (Node's). */
  backlog?: number;
}

/** Options of {@link Reactor.listenTCP}. */
export interface ListenTCPOptions extends ListenOptions {
  /** Address to bind. Default: all addresses (`::` dual-stack where IPv6 exists, else `0.0.0.0`). */
  interface?: string;
}

/** Options of {@link Reactor.listenTLS}. */
export interface ListenTLSOptions extends ListenTCPOptions {
  /** PEM certificate (chain). */
  cert: string | Uint8Array;
  /** PEM private key. */
  key: string | Uint8Array;
  /** Extra trusted CAs (for client certificates). */
  ca?: string | Uint8Array | Array<string | Uint8Array>;
  /** Any further `tls.createServer` options. */
  tls?: tls.TlsOptions;
}

/** Options shared by every connect call. */
export interface ConnectOptions {
  /** Seconds before the attempt fails with ConnectTimeoutError; `null` waits forever. Default 30. */
  timeout?: number | null;
}

/** Options of {@link Reactor.connectTCP}. */
export interface ConnectTCPOptions extends ConnectOptions {
  /** Local address (and port) to bind before connecting. */
  bindAddress?: { host: string; port?: number };
}

/** Options of {@link Reactor.connectTLS}. */
export interface ConnectTLSOptions extends ConnectTCPOptions {
  /** Trusted CA certificates (PEM). Default: Node's bundled roots. */
  ca?: string | Uint8Array | Array<string | Uint8Array>;
  /** Client certificate and key (PEM), for servers that ask for one. */
  cert?: string | Uint8Array;
  key?: string | Uint8Array;
  /** Verify the server's certificate. Default true. */
  rejectUnauthorized?: boolean;
  /** SNI name and the name the certificate must match. Default: `host` unless it is an IP. */
  servername?: string;
  /** Any further `tls.connect` options. */
  tls?: tls.ConnectionOptions;
}

/** Options of {@link createReactor}. */
export interface ReactorOptions {
  /** Time source for `seconds`/`callLater` and connect timeouts. Default a real-time NodeClock. */
  clock?: ReactorTime;
  /** Where errors thrown by protocols and factories go. Default `console.error`. */
  logger?: ErrorLogger;
  /** Disable Nagle's algorithm on TCP connections. Default true (as `node:http` does). */
  noDelay?: boolean;
  /**
   * Stop reading from a peer while the connection's write buffer is full (see
   * {@link SocketTransportOptions.pauseReadingOnFullBuffer}). Default true.
   */
  pauseReadingOnFullBuffer?: boolean;
  /**
   * Write buffer high-water mark of every connection, in bytes (see
   * {@link SocketTransportOptions.highWaterMark}). Default the socket's `writableHighWaterMark`.
   */
  writeHighWaterMark?: number;
  /**
   * Start running (fire the startup triggers, run `callWhenRunning` callbacks) at the first turn of
   * the event loop after the reactor is created. Default true; with false, `run()` starts it.
   */
  autoStart?: boolean;
  /** Options of the reactor's thread pool ({@link Reactor.getThreadPool}). */
  threadPool?: ThreadPoolOptions;
}

type SocketKind = "tcp" | "unix";

/**
 * Seconds that `stopListening({ closeConnections: true })` gives connections to close cleanly
 * before aborting them.
 */
export const DEFAULT_CLOSE_TIMEOUT = 5;

/** Options of {@link ListeningPort.closeConnections}. */
export interface CloseConnectionsOptions {
  /** Abort the connections at once (buffered writes are dropped) instead of closing them. Default false. */
  abort?: boolean;
  /**
   * Seconds (on the reactor's clock) the connections get to close cleanly; those still open then
   * (e.g. a peer that never sends its FIN) are aborted, and the promise resolves once they are
   * gone. `null` waits as long as it takes. Default `null`.
   */
  timeout?: number | null;
}

/** Options of {@link ListeningPort.stopListening}. */
export interface StopListeningOptions {
  /** Also close every open connection, and wait for them to end. Default false. */
  closeConnections?: boolean;
  /**
   * With `closeConnections`: seconds (on the reactor's clock) before the connections still open
   * are aborted; `null` waits as long as it takes. Default {@link DEFAULT_CLOSE_TIMEOUT} (5).
   */
  timeout?: number | null;
}

/**
 * A listening port (Twisted's IListeningPort). The factory's `doStart` ran when it started to
 * listen and its `doStop` runs when it stops listening.
 */
export interface ListeningPort {
  /** The bound address (the actual port when 0 was asked for). */
  getHost(): Address;
  /**
   * Stops accepting connections; resolves once the listening socket is closed. Open connections
   * stay unless `closeConnections` is set: then it also closes them and waits for them to end,
   * aborting those still open after `timeout` seconds (default 5). Idempotent.
   */
  stopListening(options?: StopListeningOptions): Promise<void>;
  /**
   * Closes every open connection of this port (`loseConnection`, or `abortConnection` with
   * `{ abort: true }`) and resolves once all of them are gone; with a `timeout`, those still open
   * after that many seconds are aborted.
   */
  closeConnections(options?: CloseConnectionsOptions): Promise<void>;
}

/** The {@link ListeningPort} of a `net.Server` (TCP, Unix, TLS). */
export class SocketPort implements ListeningPort {
  private readonly server: net.Server;
  private readonly factory: Factory;
  private readonly reactor: Reactor;
  private readonly kind: SocketKind;
  private readonly path: string | undefined;
  private readonly transports = new Set<SocketTransport>();
  private host: Address | undefined;
  private stopped: Promise<void> | null = null;
  private readonly waiters: Array<() => void> = [];

  /** @internal Use the reactor's `listen*` methods. */
  constructor(
    server: net.Server,
    factory: Factory,
    reactor: Reactor,
    kind: SocketKind,
    path?: string,
  ) {
    this.server = server;
    this.factory = factory;
    this.reactor = reactor;
    this.kind = kind;
    this.path = path;
  }

  /**
   * The options every accepted connection's transport gets: built once per port, so accepting
   * allocates no options object (addresses are looked up only when asked for).
   */
  private connectionOptions: SocketTransportOptions | undefined;

  /** The bound address (the actual port when 0 was asked for). */
  getHost(): Address {
    if (this.host !== undefined) return this.host;
    if (this.kind === "unix") return (this.host = unixAddress(this.path ?? ""));
    const a = this.server.address();
    if (a === null || typeof a === "string") return { type: "TCP", host: "", port: 0 };
    return (this.host = tcpAddress(a.address, a.family, a.port));
  }

  /** The transports of this port's open connections. */
  get connections(): ReadonlySet<SocketTransport> {
    return this.transports;
  }

  /** @internal */
  accept = (socket: net.Socket): void => {
    const reactor = this.reactor;
    // Nagle is disabled by the server itself (its `noDelay` option), at accept.
    const options = (this.connectionOptions ??= this.makeConnectionOptions());
    const peer = options.peer ?? new SocketPeerAddress(socket);
    let protocol: Protocol | null;
    try {
      protocol = this.factory.buildProtocol(peer);
    } catch (err) {
      reactor.logger("Unhandled error in buildProtocol; closing the connection:", err);
      protocol = null;
    }
    if (protocol === null) {
      socket.on("error", ignore);
      socket.destroy();
      return;
    }
    const transport = new SocketTransport(socket, protocol, options);
    this.transports.add(transport);
    transport.start();
  };

  private makeConnectionOptions(): SocketTransportOptions {
    const base = { ...this.reactor.transportOptions, onLost: this.connectionGone };
    if (this.kind !== "unix") return base;
    return { ...base, peer: Object.freeze(unixAddress("")), host: this.getHost() };
  }

  private readonly connectionGone = (_reason: Error, transport: SocketTransport): void => {
    this.transports.delete(transport);
    if (this.transports.size === 0 && this.waiters.length > 0) {
      for (const w of this.waiters.splice(0)) w();
    }
  };

  /**
   * Closes every open connection of this port (`loseConnection`, or `abortConnection` with
   * `{ abort: true }`) and resolves once all of them are gone. With a `timeout` (seconds, on the
   * reactor's clock), the connections still open by then are aborted: a peer that never sends
   * its FIN cannot hold the promise forever. Without one it waits as long as it takes. Rejects
   * with InvalidArgumentError for a negative or non-finite timeout.
   */
  closeConnections(options: CloseConnectionsOptions = {}): Promise<void> {
    const timeout = options.timeout ?? null;
    if (timeout !== null && !(Number.isFinite(timeout) && timeout >= 0)) {
      return Promise.reject(
        new InvalidArgumentError(
          `Invalid close timeout ${String(timeout)}: a finite number of seconds >= 0 expected.`,
        ),
      );
    }
    if (this.transports.size === 0) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.waiters.push(resolve));
    const abort = options.abort === true;
    for (const t of [...this.transports]) {
      if (abort) t.abortConnection();
      else t.loseConnection();
    }
    if (!abort && timeout !== null && this.transports.size > 0) {
      const expiry = this.reactor.callLater(timeout, () => {
        for (const t of [...this.transports]) t.abortConnection();
      });
      void done.then(() => {
        if (expiry.active()) expiry.cancel();
      });
    }
    return done;
  }

  /**
   * Stops accepting connections; resolves once the listening socket is closed. Open connections
   * stay unless `closeConnections` is set: then it also closes them and waits for them to end,
   * aborting those still open after `timeout` seconds (default {@link DEFAULT_CLOSE_TIMEOUT}).
   * Idempotent.
   */
  stopListening(options: StopListeningOptions = {}): Promise<void> {
    if (this.stopped === null) {
      this.server.close();
      this.stopped = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        this.factory.doStop();
      });
    }
    if (options.closeConnections === true) {
      const timeout = options.timeout === undefined ? DEFAULT_CLOSE_TIMEOUT : options.timeout;
      return Promise.all([this.stopped, this.closeConnections({ timeout })]).then(() => undefined);
    }
    return this.stopped;
  }
}

function ignore(): void {}

/**
 * An outgoing connection (Twisted's IConnector): `doStart`, `startedConnecting`, then either
 * `clientConnectionFailed` or the protocol's `connectionMade` and later `clientConnectionLost`;
 * `doStop` once it is over unless `connect()` was called again from those callbacks.
 */
export class SocketConnector implements Connector {
  /** `"disconnected"`, `"connecting"` or `"connected"`. */
  state: "disconnected" | "connecting" | "connected" = "disconnected";
  /** The transport while connected. */
  transport: SocketTransport | null = null;
  readonly factory: ClientFactory;

  private readonly reactor: Reactor;
  private readonly dial: () => net.Socket;
  private readonly connectEvent: "connect" | "secureConnect";
  private readonly destination: Address;
  private readonly timeout: number | null;
  private readonly kind: SocketKind;
  private socket: net.Socket | null = null;
  private timeoutCall: DelayedCall | null = null;
  private factoryStarted = false;
  private attempt = 0;

  /** @internal Use the reactor's `connect*` methods. */
  constructor(
    reactor: Reactor,
    factory: ClientFactory,
    dial: () => net.Socket,
    connectEvent: "connect" | "secureConnect",
    destination: Address,
    timeout: number | null,
    kind: SocketKind,
  ) {
    this.reactor = reactor;
    this.factory = factory;
    this.dial = dial;
    this.connectEvent = connectEvent;
    this.destination = destination;
    this.timeout = timeout;
    this.kind = kind;
  }

  connect(): void {
    if (this.state !== "disconnected") {
      throw new InvalidArgumentError(`Cannot connect in state "${this.state}".`);
    }
    this.state = "connecting";
    if (!this.factoryStarted) {
      this.factoryStarted = true;
      this.factory.doStart();
    }
    const attempt = ++this.attempt;
    let socket: net.Socket;
    try {
      socket = this.dial();
    } catch (err) {
      queueMicrotask(() => this.failed(attempt, connectErrorFrom(err)));
      this.factory.startedConnecting(this);
      return;
    }
    this.socket = socket;
    const onError = (err: Error): void => this.failed(attempt, connectErrorFrom(err));
    const onEarlyClose = (): void =>
      this.failed(
        attempt,
        new ConnectError("ERR_CONNECT", "The connection closed before it was established."),
      );
    socket.on("error", onError);
    socket.once("close", onEarlyClose);
    socket.once(this.connectEvent, () => {
      socket.off("error", onError);
      socket.off("close", onEarlyClose);
      this.connected(attempt, socket);
    });
    if (this.timeout !== null) {
      this.timeoutCall = this.reactor.callLater(this.timeout, () => {
        this.timeoutCall = null;
        this.failed(attempt, new ConnectTimeoutError());
      });
    }
    this.factory.startedConnecting(this);
  }

  private cancelTimeout(): void {
    const call = this.timeoutCall;
    this.timeoutCall = null;
    if (call?.active()) call.cancel();
  }

  private connected(attempt: number, socket: net.Socket): void {
    if (attempt !== this.attempt || this.state !== "connecting") return;
    this.cancelTimeout();
    const reactor = this.reactor;
    let peer: Address;
    let host: Address | undefined;
    if (this.kind === "unix") {
      peer = this.destination;
      host = unixAddress("");
    } else {
      if (reactor.noDelay) socket.setNoDelay(true);
      // Looked up now: a client's peer is worth keeping after the connection is gone.
      peer = tcpAddress(socket.remoteAddress, socket.remoteFamily, socket.remotePort);
    }
    let protocol: Protocol | null;
    try {
      protocol = this.factory.buildProtocol(peer);
    } catch (err) {
      reactor.logger("Unhandled error in buildProtocol:", err);
      this.failed(attempt, new ConnectError("ERR_CONNECT", "buildProtocol threw.", { cause: err }));
      return;
    }
    if (protocol === null) {
      this.failed(attempt, new ConnectError("ERR_CONNECT", "The factory refused the connection."));
      return;
    }
    this.state = "connected";
    this.socket = null;
    const transport = new SocketTransport(socket, protocol, {
      ...reactor.transportOptions,
      peer,
      ...(host !== undefined ? { host } : {}),
      onLost: (reason) => this.connectionLost(reason),
    });
    this.transport = transport;
    transport.start();
    if (hasConnectionMadeHook(this.factory) && !transport.disconnected) {
      this.factory.clientConnectionMade(this, protocol);
    }
  }

  private failed(attempt: number, reason: Error): void {
    if (attempt !== this.attempt || this.state !== "connecting") return;
    this.cancelTimeout();
    const socket = this.socket;
    this.socket = null;
    if (socket !== null) {
      socket.removeAllListeners("error");
      socket.on("error", ignore);
      socket.destroy();
    }
    this.state = "disconnected";
    this.factory.clientConnectionFailed(this, reason);
    this.maybeStop();
  }

  private connectionLost(reason: Error): void {
    this.state = "disconnected";
    this.transport = null;
    this.factory.clientConnectionLost(this, reason);
    this.maybeStop();
  }

  private maybeStop(): void {
    if (this.state === "disconnected" && this.factoryStarted) {
      this.factoryStarted = false;
      this.factory.doStop();
    }
  }

  /** Abandons an attempt in progress (`clientConnectionFailed` with ConnectingCancelledError). */
  stopConnecting(): void {
    if (this.state === "connecting") this.failed(this.attempt, new ConnectingCancelledError());
  }

  /** Stops connecting, or closes the connection (`loseConnection`). */
  disconnect(): void {
    if (this.state === "connecting") this.stopConnecting();
    else if (this.state === "connected") this.transport?.loseConnection();
  }

  getDestination(): Address {
    return this.destination;
  }
}

/**
 * The event loop seen as Twisted's reactor: TCP/Unix/TLS listening and connecting, and time.
 * Create it with {@link createReactor}.
 */
export class Reactor implements ReactorTime {
  readonly clock: ReactorTime;
  readonly logger: ErrorLogger;
  readonly noDelay: boolean;
  /** The options every connection's {@link SocketTransport} gets (logger and backpressure). */
  readonly transportOptions: SocketTransportOptions;
  /** System event triggers and the running state (see lifecycle.ts). */
  readonly #lifecycle: Lifecycle;

  constructor(options: ReactorOptions = {}) {
    this.clock = options.clock ?? new NodeClock();
    this.logger = options.logger ?? consoleErrorLogger;
    this.noDelay = options.noDelay ?? true;
    this.transportOptions = {
      logger: this.logger,
      ...(options.pauseReadingOnFullBuffer !== undefined
        ? { pauseReadingOnFullBuffer: options.pauseReadingOnFullBuffer }
        : {}),
      ...(options.writeHighWaterMark !== undefined
        ? { highWaterMark: options.writeHighWaterMark }
        : {}),
    };
    this.#lifecycle = new Lifecycle(this.logger, options.autoStart ?? true);
    this.#threadPoolOptions = options.threadPool ?? {};
  }

  // --- Lifecycle (Twisted's IReactorCore): see lifecycle.ts for the order of events.

  /** True from the `during` phase of startup to the `during` phase of shutdown. */
  get running(): boolean {
    return this.#lifecycle.running;
  }

  /** `idle`, `starting`, `running`, `stopping` or `stopped`. */
  get state(): ReactorState {
    return this.#lifecycle.state;
  }

  /**
   * Starts the reactor if it has not started (fires the startup triggers) and resolves once it has
   * stopped. Rejects with ReactorNotRestartableError on a stopped reactor.
   */
  run(): Promise<void> {
    return this.#lifecycle.run();
  }

  /**
   * Fires the shutdown triggers (before, during, after); resolves once they have run and what they
   * returned has settled. Idempotent: a second call returns the same Promise.
   */
  stop(): Promise<void> {
    return this.#lifecycle.stop();
  }

  /** Calls `fn(...args)` now if the reactor is running, else once it is (an `after startup` trigger). */
  callWhenRunning<A extends unknown[]>(
    fn: (...args: A) => unknown,
    ...args: A
  ): SystemEventTrigger | null {
    return this.#lifecycle.callWhenRunning(fn, ...args);
  }

  /**
   * Adds `fn(...args)` to `phase` of `event` (`"startup"`, `"shutdown"` or a name of your own). A
   * `before` or `during` trigger may return a Deferred or Promise: the event waits for it.
   */
  addSystemEventTrigger<A extends unknown[]>(
    phase: TriggerPhase,
    event: SystemEventType,
    fn: (...args: A) => unknown,
    ...args: A
  ): SystemEventTrigger {
    return this.#lifecycle.addTrigger(phase, event, fn, ...args);
  }

  /** Removes a trigger that has not run yet (a no-op for one that has). */
  removeSystemEventTrigger(trigger: SystemEventTrigger): void {
    this.#lifecycle.removeTrigger(trigger);
  }

  /** Fires a system event of your own (its before, during and after triggers). */
  fireSystemEvent(event: SystemEventType): Promise<void> {
    return this.#lifecycle.fire(event);
  }

  // --- Threads (Twisted's IReactorThreads): see threads/pool.ts.

  #threadPool: ThreadPool | null = null;
  #threadPoolOptions: ThreadPoolOptions;

  /**
   * The reactor's thread pool, created on first use: started when the reactor runs, stopped (after
   * its queued calls) during shutdown. Configured by {@link ReactorOptions.threadPool}.
   */
  getThreadPool(): ThreadPool {
    if (this.#threadPool === null) {
      const pool = new ThreadPool({
        name: "reactor",
        logger: this.logger,
        ...this.#threadPoolOptions,
      });
      this.#threadPool = pool;
      const state = this.state;
      if (state === "stopping" || state === "stopped") {
        void pool.stop(); // too late to run: calls fail with ThreadPoolStoppedError
      } else {
        this.callWhenRunning(() => pool.start());
        this.addSystemEventTrigger("during", "shutdown", () => pool.stop());
      }
    }
    return this.#threadPool;
  }

  /** Sets the most workers of the reactor's thread pool (Twisted's `suggestThreadPoolSize`). */
  suggestThreadPoolSize(size: number): void {
    const pool = this.#threadPool;
    if (pool === null) this.#threadPoolOptions = { ...this.#threadPoolOptions, maxThreads: size };
    else pool.adjustPoolsize(Math.min(pool.minThreads, size), size);
  }

  /** Runs `task(...args)` in the reactor's thread pool, ignoring the result (errors are logged). */
  callInThread<A extends unknown[], R>(task: ThreadTask<A, R>, ...args: A): void {
    this.getThreadPool().callInThread(task, ...args);
  }

  /**
   * Runs `fn(...args)` on the event loop at its next turn (Twisted's `callFromThread` called from
   * the reactor thread). Task code in a worker uses `callFromThread(name, ...args)` from
   * threads/in-worker.ts instead.
   */
  callFromThread<A extends unknown[]>(fn: (...args: A) => unknown, ...args: A): void {
    setImmediate(() => {
      try {
        fn(...args);
      } catch (err) {
        this.logger("Unhandled error in a callFromThread call:", err);
      }
    });
  }

  // --- UDP (Twisted's IReactorUDP, IReactorMulticast): see udp.ts.

  /**
   * Binds UDP `port` (0 picks a free one: read it back with `getHost()`) for `protocol`. The port
   * is closed during the reactor's shutdown if still open.
   */
  listenUDP(
    port: number,
    protocol: DatagramProtocol,
    options: ListenUDPOptions = {},
  ): Promise<UDPPort> {
    return this.#trackUDP(bindUDP(port, protocol, { logger: this.logger, ...options }));
  }

  /** Like {@link listenUDP}, for multicast: join groups with `port.joinGroup(address)`. */
  listenMulticast(
    port: number,
    protocol: DatagramProtocol,
    options: ListenMulticastOptions = {},
  ): Promise<UDPPort> {
    return this.#trackUDP(bindUDP(port, protocol, { logger: this.logger, ...options }));
  }

  #trackUDP(bound: Promise<UDPPort>): Promise<UDPPort> {
    return bound.then((port) => {
      const trigger = this.addSystemEventTrigger("during", "shutdown", () => port.stopListening());
      port.onStop(() => this.removeSystemEventTrigger(trigger));
      return port;
    });
  }

  // --- Processes (Twisted's IReactorProcess): see process.ts.

  /**
   * Starts `executable` (`args[0]` is its argv[0]; the environment is empty unless `env` is given,
   * `null` inherits) connected to `protocol`, and returns the transport after `connectionMade`.
   */
  spawnProcess(
    protocol: ProcessProtocol,
    executable: string,
    args: readonly string[] = [],
    options: SpawnProcessOptions = {},
  ): ProcessTransport {
    return spawnProcess(protocol, executable, args, { logger: this.logger, ...options });
  }

  seconds(): number {
    return this.clock.seconds();
  }

  callLater<A extends unknown[]>(delay: number, fn: (...args: A) => void, ...args: A): DelayedCall {
    return this.clock.callLater(delay, fn, ...args);
  }

  private listenOn(
    server: net.Server | null,
    factory: Factory,
    kind: SocketKind,
    connectionEvent: string,
    listen: net.ListenOptions,
    what: string,
  ): Promise<SocketPort> {
    if (server === null) {
      return Promise.reject(
        new InvalidArgumentError(`Cannot listen on ${what}: invalid port number.`),
      );
    }
    const port = new SocketPort(server, factory, this, kind, listen.path);
    server.on(connectionEvent, port.accept);
    return new Promise<SocketPort>((resolve, reject) => {
      const onError = (err: Error): void => {
        server.off("error", onError);
        reject(new CannotListenError(`Cannot listen on ${what}: ${err.message}`, { cause: err }));
      };
      server.on("error", onError);
      const listening = (): void => {
        server.off("error", onError);
        server.on("error", (err) => this.logger(`Error on the port listening on ${what}:`, err));
        port.getHost(); // cached now: a closed server no longer knows its address
        factory.doStart();
        resolve(port);
      };
      try {
        server.listen(listen, listening);
      } catch (err) {
        onError(err as Error);
      }
    });
  }

  /** Listens for TCP connections on `port` (0 picks a free one: read it back with `getHost()`). */
  listenTCP(port: number, factory: Factory, options: ListenTCPOptions = {}): Promise<SocketPort> {
    const server = validPort(port)
      ? net.createServer({ allowHalfOpen: false, noDelay: this.noDelay })
      : null;
    return this.listenOn(
      server,
      factory,
      "tcp",
      "connection",
      tcpListen(port, options),
      `${options.interface ?? "*"}:${port}`,
    );
  }

  /** Listens for TLS connections on `port`; the protocol sees decrypted bytes. */
  listenTLS(port: number, factory: Factory, options: ListenTLSOptions): Promise<SocketPort> {
    if (!validPort(port)) return this.listenOn(null, factory, "tcp", "", {}, `tls port ${port}`);
    let server: tls.Server;
    try {
      server = tls.createServer({
        ...options.tls,
        cert: asPem(options.cert),
        key: asPem(options.key),
        ...(options.ca !== undefined ? { ca: asPemList(options.ca) } : {}),
        allowHalfOpen: false,
        noDelay: this.noDelay,
      });
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      return Promise.reject(
        new CannotListenError(`Cannot listen on tls port ${port}: ${msg}`, { cause: err }),
      );
    }
    server.on("tlsClientError", ignore);
    return this.listenOn(
      server,
      factory,
      "tcp",
      "secureConnection",
      tcpListen(port, options),
      `tls ${options.interface ?? "*"}:${port}`,
    );
  }

  /** Listens on a Unix socket at `path` (the file must not exist). */
  listenUNIX(path: string, factory: Factory, options: ListenOptions = {}): Promise<SocketPort> {
    const server = net.createServer({ allowHalfOpen: false });
    return this.listenOn(
      server,
      factory,
      "unix",
      "connection",
      { path, backlog: options.backlog ?? DEFAULT_BACKLOG },
      path,
    );
  }

  /** Connects to `host:port` over TCP; the attempt starts at once. */
  connectTCP(
    host: string,
    port: number,
    factory: ClientFactory,
    options: ConnectTCPOptions = {},
  ): SocketConnector {
    checkConnectPort(port);
    const dial = (): net.Socket =>
      net.connect({ host, port, allowHalfOpen: false, ...bindOptions(options.bindAddress) });
    return this.startConnector(
      factory,
      dial,
      "connect",
      destination(host, port),
      options.timeout,
      "tcp",
    );
  }

  /** Connects to `host:port` over TLS; the protocol is connected once the handshake is done. */
  connectTLS(
    host: string,
    port: number,
    factory: ClientFactory,
    options: ConnectTLSOptions = {},
  ): SocketConnector {
    checkConnectPort(port);
    const servername = options.servername ?? (net.isIP(host) === 0 ? host : undefined);
    const dial = (): net.Socket =>
      tls.connect({
        ...options.tls,
        host,
        port,
        rejectUnauthorized: options.rejectUnauthorized ?? true,
        ...(servername !== undefined ? { servername } : {}),
        ...(options.ca !== undefined ? { ca: asPemList(options.ca) } : {}),
        ...(options.cert !== undefined ? { cert: asPem(options.cert) } : {}),
        ...(options.key !== undefined ? { key: asPem(options.key) } : {}),
        ...bindOptions(options.bindAddress),
      });
    return this.startConnector(
      factory,
      dial,
      "secureConnect",
      destination(host, port),
      options.timeout,
      "tcp",
    );
  }

  /** Connects to the Unix socket at `path`. */
  connectUNIX(path: string, factory: ClientFactory, options: ConnectOptions = {}): SocketConnector {
    const dial = (): net.Socket => net.connect({ path, allowHalfOpen: false });
    return this.startConnector(
      factory,
      dial,
      "connect",
      unixAddress(path),
      options.timeout,
      "unix",
    );
  }

  private startConnector(
    factory: ClientFactory,
    dial: () => net.Socket,
    event: "connect" | "secureConnect",
    dest: Address,
    timeout: number | null | undefined,
    kind: SocketKind,
  ): SocketConnector {
    const connector = new SocketConnector(
      this,
      factory,
      dial,
      event,
      dest,
      timeout === undefined ? 30 : timeout,
      kind,
    );
    connector.connect();
    return connector;
  }
}

/** Node's listen options for a TCP or TLS port (backlog {@link DEFAULT_BACKLOG} unless given). */
function tcpListen(port: number, options: ListenTCPOptions): net.ListenOptions {
  return {
    port,
    backlog: options.backlog ?? DEFAULT_BACKLOG,
    ...(options.interface !== undefined ? { host: options.interface } : {}),
  };
}

function validPort(port: number): boolean {
  return Number.isInteger(port) && port >= 0 && port <= 65535;
}

/** A bad port is a programming error: thrown at once, as Twisted does. */
function checkConnectPort(port: number): void {
  if (!validPort(port) || port === 0) {
    throw new InvalidArgumentError(`Invalid port ${String(port)}: an integer 1–65535 expected.`);
  }
}

function destination(host: string, port: number): Address {
  return { type: net.isIPv6(host) ? "TCP6" : "TCP", host, port };
}

function bindOptions(bind: { host: string; port?: number } | undefined): {
  localAddress?: string;
  localPort?: number;
} {
  if (bind === undefined) return {};
  return bind.port !== undefined
    ? { localAddress: bind.host, localPort: bind.port }
    : { localAddress: bind.host };
}

function asPem(v: string | Uint8Array): string | Buffer {
  return typeof v === "string" ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

function asPemList(v: string | Uint8Array | Array<string | Uint8Array>): Array<string | Buffer> {
  return Array.isArray(v) ? v.map(asPem) : [asPem(v)];
}

/** Creates a reactor (see {@link ReactorOptions}). Pass it to whatever listens or connects. */
export function createReactor(options: ReactorOptions = {}): Reactor {
  return new Reactor(options);
}
