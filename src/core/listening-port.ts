/**
 * Listening ports: the {@link ListeningPort} contract and {@link SocketPort}, the port of a
 * `net.Server` (TCP, Unix, TLS) that the reactor's `listen*` methods return.
 */
import type * as net from "node:net";
import { Server as TLSServer, TLSSocket as TLSSocketClass } from "node:tls";
import { type ConnectionLimits, resolveLimits } from "./connection-limits.js";
import { InvalidArgumentError } from "./errors.js";
import type { Factory } from "./factory.js";
import type { Address } from "./interfaces.js";
import { consoleWarn, rateLimitedReporter } from "./limit-log.js";
import { PortGuard } from "./port-guard.js";
import { defaultProcessLimits } from "./process-limits.js";
import type { Protocol } from "./protocol.js";
import type { Reactor } from "./reactor.js";
import {
  SocketPeerAddress,
  SocketTransport,
  type SocketTransportOptions,
  tcpAddress,
  unixAddress,
} from "./transport.js";

/** What a socket carries: TCP (and TLS over it) or a Unix socket. */
export type SocketKind = "tcp" | "unix";

/** Swallows the error of a socket being thrown away. */
export function ignore(): void {}

/**
 * Seconds that `stopListening({ closeConnections: true })` gives connections to close cleanly
 * before aborting them.
 */
export const DEFAULT_CLOSE_TIMEOUT = 5;

/** A connection aborted by a graceful close while it still had work (see {@link CloseConnectionsOptions.onCut}). */
export interface CutConnection {
  /** The peer's address. */
  readonly peer: Address;
  /** What was still pending: the protocol's `pendingWork()`, unsent bytes, data still arriving. */
  readonly pending: readonly string[];
}

/** Options of {@link ListeningPort.closeConnections}. */
export interface CloseConnectionsOptions {
  /** Abort the connections at once (buffered writes are dropped) instead of closing them. Default false. */
  abort?: boolean;
  /**
   * Seconds (on the reactor's clock) the connections get to close cleanly; those still open then
   * (e.g. a peer that never sends its FIN, or a connection still busy) are aborted, and the promise
   * resolves once they are gone. `null` waits as long as it takes. Default `null`.
   */
  timeout?: number | null;
  /**
   * Told about every connection aborted (by `abort` or at the `timeout`) while it still had work
   * pending, so the caller can log what was cut. Connections with nothing pending are not reported.
   */
  onCut?: (cut: CutConnection) => void;
}

/** Options of {@link ListeningPort.stopListening}. */
export interface StopListeningOptions {
  /**
   * Also close every open connection gracefully (see {@link ListeningPort.closeConnections}), and
   * wait for them to end; the factory's `doStop` then runs last. Default false.
   */
  closeConnections?: boolean;
  /**
   * With `closeConnections`: seconds (on the reactor's clock) before the connections still open
   * are aborted; `null` waits as long as it takes. Default 5.
   */
  timeout?: number | null;
  /** With `closeConnections`: told about each connection cut at the timeout (see {@link CloseConnectionsOptions.onCut}). */
  onCut?: (cut: CutConnection) => void;
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
   * Closes every open connection of this port without losing anything, and resolves once all of
   * them are gone: each connection keeps being read and answered, and is closed (its writes
   * flushed) once it is quiescent — its protocol's `pendingWork()` is null, nothing is left unsent
   * and no data has arrived for a short while. `{ abort: true }` aborts them at once instead; with
   * a `timeout`, those still open after that many seconds are aborted (and those still busy are
   * reported to `onCut`).
   */
  closeConnections(options?: CloseConnectionsOptions): Promise<void>;
}

/** The {@link ListeningPort} of a `net.Server` (TCP, Unix, TLS). */
export class SocketPort implements ListeningPort {
  readonly #server: net.Server;
  readonly #factory: Factory;
  readonly #reactor: Reactor;
  readonly #kind: SocketKind;
  readonly #path: string | undefined;
  readonly #transports = new Set<SocketTransport>();
  #host: Address | undefined;
  #stopped: Promise<void> | null = null;
  #factoryStopped = false;
  readonly #waiters: Array<() => void> = [];
  /** Applies the port's connection limits (see `port-guard.ts`). */
  readonly guard: PortGuard;
  /** Per connection, what the graceful close has seen of it (see `#drainStep`). */
  readonly #draining = new WeakMap<SocketTransport, DrainState>();
  #drainTimer: ReturnType<typeof setTimeout> | null = null;

  /**
   * @internal Use the reactor's `listen*` methods. Throws InvalidArgumentError for invalid
   * `limits`.
   */
  constructor(
    server: net.Server,
    factory: Factory,
    reactor: Reactor,
    kind: SocketKind,
    path?: string,
    limits: ConnectionLimits = {},
  ) {
    this.#server = server;
    this.#factory = factory;
    this.#reactor = reactor;
    this.#kind = kind;
    this.#path = path;
    const process = limits.process ?? defaultProcessLimits();
    this.guard = new PortGuard(
      reactor.clock,
      resolveLimits(limits, process.maxConnections),
      process,
      rateLimitedReporter(limits.report ?? consoleWarn, reactor.clock),
      () => this.#describe(),
    );
    // Before the reactor adds `accept`: a socket refused at admission never gets a protocol.
    this.guard.install(server, server instanceof TLSServer);
    server.once("close", () => this.guard.close());
  }

  /** The port's address for log lines. */
  #describe(): string {
    const a = this.getHost();
    return a.type === "UNIX" ? `port ${a.path ?? ""}` : `port ${a.host}:${a.port}`;
  }

  /**
   * The options every accepted connection's transport gets: built once per port, so accepting
   * allocates no options object (addresses are looked up only when asked for).
   */
  #connectionOptions: SocketTransportOptions | undefined;

  /** The bound address (the actual port when 0 was asked for). */
  getHost(): Address {
    if (this.#host !== undefined) return this.#host;
    if (this.#kind === "unix") return (this.#host = unixAddress(this.#path ?? ""));
    const a = this.#server.address();
    if (a === null || typeof a === "string") return { type: "TCP", host: "", port: 0 };
    return (this.#host = tcpAddress(a.address, a.family, a.port));
  }

  /** The transports of this port's open connections. */
  get connections(): ReadonlySet<SocketTransport> {
    return this.#transports;
  }

  /** @internal */
  accept = (socket: net.Socket): void => {
    const guard = this.guard;
    if (guard.refused(socket)) return;
    const reactor = this.#reactor;
    // Nagle is disabled by the server itself (its `noDelay` option), at accept.
    const options = (this.#connectionOptions ??= this.#makeConnectionOptions());
    const peer = options.peer ?? new SocketPeerAddress(socket);
    let protocol: Protocol | null;
    try {
      protocol = this.#factory.buildProtocol(peer);
    } catch (err) {
      reactor.logger("Unhandled error in buildProtocol; closing the connection:", err);
      protocol = null;
    }
    if (protocol === null) {
      socket.on("error", ignore);
      socket.destroy();
      return;
    }
    if (socket instanceof TLSSocketClass) guard.secured(socket);
    const transport = new SocketTransport(socket, protocol, options);
    this.#transports.add(transport);
    guard.accepted(transport);
    transport.start();
  };

  /** Counts the connection out of the guard, then out of the port. */
  readonly #guardedGone = (reason: Error, transport: SocketTransport): void => {
    this.guard.lost(transport);
    this.#connectionGone(reason, transport);
  };

  #makeConnectionOptions(): SocketTransportOptions {
    const base = {
      ...this.#reactor.transportOptions,
      onLost: this.#guardedGone,
      guard: this.guard,
    };
    if (this.#kind !== "unix") return base;
    return { ...base, peer: Object.freeze(unixAddress("")), host: this.getHost() };
  }

  readonly #connectionGone = (_reason: Error, transport: SocketTransport): void => {
    this.#transports.delete(transport);
    if (this.#transports.size === 0 && this.#waiters.length > 0) {
      for (const w of this.#waiters.splice(0)) w();
    }
  };

  /**
   * Closes every open connection of this port without losing anything and resolves once all of
   * them are gone (see {@link ListeningPort.closeConnections}); `{ abort: true }` aborts them at
   * once. With a `timeout` (seconds, on the reactor's clock), the connections still open by then
   * are aborted: neither a busy connection nor a peer that never sends its FIN can hold the promise
   * forever. Without one it waits as long as it takes. Rejects with InvalidArgumentError for a
   * negative or non-finite timeout.
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
    if (this.#transports.size === 0) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.#waiters.push(resolve));
    if (options.abort === true) {
      this.#abortAll(options.onCut);
      return done;
    }
    this.#drainStep();
    if (timeout !== null && this.#transports.size > 0) {
      const expiry = this.#reactor.callLater(timeout, () => this.#abortAll(options.onCut));
      void done.then(() => {
        if (expiry.active()) expiry.cancel();
      });
    }
    return done;
  }

  /**
   * Stops accepting connections; resolves once the listening socket is closed. Open connections
   * stay unless `closeConnections` is set: then it also closes them gracefully and waits for them
   * to end, aborting those still open after `timeout` seconds (default 5), and the factory's
   * `doStop` runs after the last one is gone. Idempotent.
   */
  stopListening(options: StopListeningOptions = {}): Promise<void> {
    if (this.#stopped === null) {
      this.#server.close();
      this.#stopped = new Promise<void>((resolve) => setImmediate(resolve));
    }
    const stopped = this.#stopped;
    if (options.closeConnections === true) {
      const timeout = options.timeout === undefined ? DEFAULT_CLOSE_TIMEOUT : options.timeout;
      const close: CloseConnectionsOptions =
        options.onCut === undefined ? { timeout } : { timeout, onCut: options.onCut };
      return Promise.all([stopped, this.closeConnections(close)]).then(this.#stopFactory);
    }
    return stopped.then(this.#stopFactory);
  }

  /** Runs the factory's `doStop` once, when the port has stopped (and, if asked, its connections). */
  readonly #stopFactory = (): void => {
    if (this.#factoryStopped) return;
    this.#factoryStopped = true;
    this.#factory.doStop();
  };

  // -------------------------------------------------------------------------------------------
  // Graceful close: a connection is closed once it is quiescent.

  /**
   * One pass over the open connections: close those quiescent for {@link DRAIN_QUIET_POLLS}
   * passes in a row; poll again while any is still busy. The passes run on a real-time timer, not
   * the reactor's clock: they watch socket activity (bytes arriving, bytes leaving), which happens
   * in real time whatever clock the protocols use.
   */
  #drainStep = (): void => {
    this.#drainTimer = null;
    let waiting = false;
    for (const t of this.#transports) {
      if (t.disconnected) continue;
      let state = this.#draining.get(t);
      if (state === undefined) {
        state = { bytesRead: t.socket.bytesRead, quiet: 0, told: false };
        this.#draining.set(t, state);
      }
      if (state.told) continue;
      const bytesRead = t.socket.bytesRead;
      if (bytesRead !== state.bytesRead) {
        state.bytesRead = bytesRead;
        state.quiet = 0;
      } else {
        state.quiet++;
      }
      if (state.quiet >= DRAIN_QUIET_POLLS && pendingOf(t).length === 0) {
        state.told = true;
        t.loseConnection();
      } else {
        waiting = true;
      }
    }
    if (waiting && this.#drainTimer === null) {
      this.#drainTimer = setTimeout(this.#drainStep, DRAIN_POLL_MS);
    }
  };

  /** Aborts every open connection, reporting to `onCut` those that still had work pending. */
  #abortAll(onCut: ((cut: CutConnection) => void) | undefined): void {
    if (this.#drainTimer !== null) {
      clearTimeout(this.#drainTimer);
      this.#drainTimer = null;
    }
    for (const t of [...this.#transports]) {
      if (onCut !== undefined && !t.disconnected) {
        const pending = pendingOf(t);
        const state = this.#draining.get(t);
        if (state !== undefined && !state.told && state.quiet === 0) pending.push("data arriving");
        if (pending.length > 0) {
          try {
            onCut({ peer: t.getPeer(), pending });
          } catch (err) {
            this.#reactor.logger("Unhandled error in onCut:", err);
          }
        }
      }
      t.abortConnection();
    }
  }
}

/** Real-time milliseconds between two passes of a graceful close. */
const DRAIN_POLL_MS = 20;
/**
 * Passes without a byte received (and nothing pending) before a connection is closed: 200 ms of
 * silence, so requests a client is still sending (a pipelining client between two writes, data in
 * flight on the link) are read and answered rather than cut off by our FIN.
 */
const DRAIN_QUIET_POLLS = 10;

/** What a graceful close watches per connection. */
interface DrainState {
  /** `socket.bytesRead` at the last pass. */
  bytesRead: number;
  /** Passes in a row without new bytes. */
  quiet: number;
  /** `loseConnection` was called. */
  told: boolean;
}

/** What keeps `t` from being closed without loss (empty when it is quiescent). */
function pendingOf(t: SocketTransport): string[] {
  const pending: string[] = [];
  let work: string | null = null;
  try {
    work = t.protocol.pendingWork?.() ?? null;
  } catch {
    work = "pendingWork() failed";
  }
  if (work !== null) pending.push(work);
  const socket = t.socket;
  if (socket.writableLength > 0) pending.push(`${socket.writableLength} bytes not yet sent`);
  if (socket.isPaused() && !socket.readableEnded && !socket.destroyed) {
    pending.push("reading paused");
  }
  return pending;
}
