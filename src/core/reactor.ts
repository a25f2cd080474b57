/**
 * The reactor: listening ports and outgoing connections over TCP, Unix sockets and TLS, plus the
 * time interface (delegated to a clock). There is no global reactor: create one with
 * {@link createReactor} and pass it to whatever needs it.
 */
import * as net from "node:net";
import * as tls from "node:tls";
import { NodeClock } from "./clock.js";
import type { ConnectionLimits } from "./connection-limits.js";
import { SocketConnector } from "./connector.js";
import { CannotListenError, InvalidArgumentError } from "./errors.js";
import type { ClientFactory, Factory } from "./factory.js";
import type { Address, DelayedCall, ReactorTime } from "./interfaces.js";
import {
  Lifecycle,
  type ReactorState,
  type SystemEventTrigger,
  type SystemEventType,
  type TriggerPhase,
} from "./lifecycle.js";
import { ignore, type SocketKind, SocketPort } from "./listening-port.js";
import { type ProcessTransport, type SpawnProcessOptions, spawnProcess } from "./process.js";
import type { ProcessProtocol } from "./process-protocol.js";
import { ThreadPool, type ThreadPoolOptions } from "./threads/pool.js";
import type { ThreadTask } from "./threads/task.js";
import {
  consoleErrorLogger,
  type ErrorLogger,
  type SocketTransportOptions,
  unixAddress,
} from "./transport.js";
import {
  bindUDP,
  type DatagramProtocol,
  type ListenMulticastOptions,
  type ListenUDPOptions,
  type UDPPort,
} from "./udp.js";

// The ports and connectors the reactor returns, and the connect errors, were first defined in this
// module; they stay importable from it.
export { SocketConnector } from "./connector.js";
export {
  ConnectingCancelledError,
  connectErrorFrom,
  DNSLookupError,
} from "./errors.js";
export {
  type CloseConnectionsOptions,
  DEFAULT_CLOSE_TIMEOUT,
  type ListeningPort,
  SocketPort,
  type StopListeningOptions,
} from "./listening-port.js";

/**
 * Default listen backlog: Node's 511, not Twisted's 50 (which overflows when 64 clients connect at
 * once and stalls some of them for a SYN retransmit).
 */
const DEFAULT_BACKLOG = 511;

/** Options shared by every listen call. */
export interface ListenOptions {
  /** Pending-connection queue length. Default 511 (Node's). */
  backlog?: number;
  /**
   * Limits on the port's connections: memory, frame time, idle time, TLS handshake time, counts
   * (see {@link ConnectionLimits}; every field has a default, so a port is always guarded).
   */
  limits?: ConnectionLimits;
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
  bindAddress?: {
    /** Local IP address. */
    host: string;
    /** Local port; default: any free port. */
    port?: number;
  };
}

/** Options of {@link Reactor.connectTLS}. */
export interface ConnectTLSOptions extends ConnectTCPOptions {
  /** Trusted CA certificates (PEM). Default: Node's bundled roots. */
  ca?: string | Uint8Array | Array<string | Uint8Array>;
  /** Client certificate and key (PEM), for servers that ask for one. */
  cert?: string | Uint8Array;
  /** The client certificate's private key (PEM). */
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

/**
 * The event loop seen as Twisted's reactor: TCP/Unix/TLS listening and connecting, and time.
 * Create it with {@link createReactor}.
 */
export class Reactor implements ReactorTime {
  /** The time source (the `clock` option; default a real-time `NodeClock`). */
  readonly clock: ReactorTime;
  /** Where errors thrown by protocols and factories go (the `logger` option). */
  readonly logger: ErrorLogger;
  /** Whether TCP connections disable Nagle's algorithm (the `noDelay` option; default true). */
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

  #listenOn(
    server: net.Server | null,
    factory: Factory,
    kind: SocketKind,
    connectionEvent: string,
    listen: net.ListenOptions,
    what: string,
    limits?: ConnectionLimits,
  ): Promise<SocketPort> {
    if (server === null) {
      return Promise.reject(
        new InvalidArgumentError(`Cannot listen on ${what}: invalid port number.`),
      );
    }
    let port: SocketPort;
    try {
      port = new SocketPort(server, factory, this, kind, listen.path, limits);
    } catch (err) {
      return Promise.reject(err);
    }
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
    return this.#listenOn(
      server,
      factory,
      "tcp",
      "connection",
      tcpListen(port, options),
      `${options.interface ?? "*"}:${port}`,
      options.limits,
    );
  }

  /** Listens for TLS connections on `port`; the protocol sees decrypted bytes. */
  listenTLS(port: number, factory: Factory, options: ListenTLSOptions): Promise<SocketPort> {
    if (!validPort(port)) return this.#listenOn(null, factory, "tcp", "", {}, `tls port ${port}`);
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
    return this.#listenOn(
      server,
      factory,
      "tcp",
      "secureConnection",
      tcpListen(port, options),
      `tls ${options.interface ?? "*"}:${port}`,
      options.limits,
    );
  }

  /** Listens on a Unix socket at `path` (the file must not exist). */
  listenUNIX(path: string, factory: Factory, options: ListenOptions = {}): Promise<SocketPort> {
    const server = net.createServer({ allowHalfOpen: false });
    return this.#listenOn(
      server,
      factory,
      "unix",
      "connection",
      { path, backlog: options.backlog ?? DEFAULT_BACKLOG },
      path,
      options.limits,
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
    return this.#startConnector(
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
    return this.#startConnector(
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
    return this.#startConnector(
      factory,
      dial,
      "connect",
      unixAddress(path),
      options.timeout,
      "unix",
    );
  }

  #startConnector(
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
