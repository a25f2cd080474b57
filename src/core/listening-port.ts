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
   * are aborted; `null` waits as long as it takes. Default 5.
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
  readonly #server: net.Server;
  readonly #factory: Factory;
  readonly #reactor: Reactor;
  readonly #kind: SocketKind;
  readonly #path: string | undefined;
  readonly #transports = new Set<SocketTransport>();
  #host: Address | undefined;
  #stopped: Promise<void> | null = null;
  readonly #waiters: Array<() => void> = [];
  /** Applies the port's connection limits (see `port-guard.ts`). */
  readonly guard: PortGuard;

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
    if (this.#transports.size === 0) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.#waiters.push(resolve));
    const abort = options.abort === true;
    for (const t of [...this.#transports]) {
      if (abort) t.abortConnection();
      else t.loseConnection();
    }
    if (!abort && timeout !== null && this.#transports.size > 0) {
      const expiry = this.#reactor.callLater(timeout, () => {
        for (const t of [...this.#transports]) t.abortConnection();
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
   * aborting those still open after `timeout` seconds (default 5).
   * Idempotent.
   */
  stopListening(options: StopListeningOptions = {}): Promise<void> {
    if (this.#stopped === null) {
      this.#server.close();
      this.#stopped = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        this.#factory.doStop();
      });
    }
    if (options.closeConnections === true) {
      const timeout = options.timeout === undefined ? DEFAULT_CLOSE_TIMEOUT : options.timeout;
      return Promise.all([this.#stopped, this.closeConnections({ timeout })]).then(() => undefined);
    }
    return this.#stopped;
  }
}
