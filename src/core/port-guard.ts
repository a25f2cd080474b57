/**
 * The guard of one listening port: it applies the port's {@link ConnectionLimits} and its share of
 * the {@link ProcessLimits}.
 *
 * - At accept (the server's raw `connection` event, before TLS and before a protocol is built):
 *   the process's connection limit and the per-peer limit, dropping the socket (rate-limited log);
 *   the port's own limit is Node's `server.maxConnections`, whose `drop` event is logged the same
 *   way (Node gives no other sign when it refuses a connection, fds exhausted included);
 * - the TLS handshake timeout (a timer per handshaking socket, cancelled once it is secure);
 * - the memory budget (`memory-budget.ts`): transports report growth to {@link PortGuard.grew};
 * - the time limits, through the port's {@link ConnectionSweep}.
 */
import type * as net from "node:net";
import type { ResolvedLimits } from "./connection-limits.js";
import { ConnectionSweep, peerOf } from "./connection-sweep.js";
import type { DelayedCall, ReactorTime } from "./interfaces.js";
import type { LimitReporter } from "./limit-log.js";
import {
  ConnectionRecord,
  granuleFor,
  type MemoryAccount,
  mib,
  shedLargest,
} from "./memory-budget.js";
import type { GuardedPort, ProcessLimits } from "./process-limits.js";
import type { SocketTransport, TransportGuard } from "./transport.js";

/** Where an admitted socket keeps what its `close` must undo (one listener shared by all sockets). */
const kAdmitted: unique symbol = Symbol("weft.admitted");

interface AdmittedSocket extends net.Socket {
  [kAdmitted]?: { guard: PortGuard; host: string; key: string };
}

/** The `close` listener of every admitted socket (assigned in PortGuard's static block). */
let admittedClosed: (this: net.Socket) => void;

/** What Node's `drop` event carries. */
interface DropInfo {
  remoteAddress?: string;
  remotePort?: number;
}

/** See the module comment. */
export class PortGuard implements TransportGuard, GuardedPort, MemoryAccount {
  readonly limits: ResolvedLimits;
  readonly process: ProcessLimits;
  readonly reporter: LimitReporter;
  /** Bytes held by this port's connections, as last counted. */
  total = 0;
  /** Bytes received or written after which a transport reports (see `granuleFor`). */
  granule = 65536;
  readonly #clock: ReactorTime;
  readonly #where: () => string;
  readonly #records = new Map<SocketTransport, ConnectionRecord>();
  readonly #perPeer = new Map<string, number>();
  readonly #handshakes = new Map<string, DelayedCall>();
  readonly #sweep: ConnectionSweep;
  #closed = false;

  static {
    admittedClosed = function (this: net.Socket): void {
      const a = (this as AdmittedSocket)[kAdmitted];
      if (a !== undefined) a.guard.#released(a.host, a.key);
    };
  }

  constructor(
    clock: ReactorTime,
    limits: ResolvedLimits,
    process: ProcessLimits,
    reporter: LimitReporter,
    where: () => string,
  ) {
    this.#clock = clock;
    this.limits = limits;
    this.process = process;
    this.reporter = reporter;
    this.#where = where;
    this.#sweep = new ConnectionSweep(
      clock,
      limits,
      () => this.#records.values(),
      reporter,
      where,
      () => this.#checkBudgets(null),
    );
    process.add(this);
    this.#updateGranule();
  }

  /** The connections watched now. */
  get records(): ConnectionRecord[] {
    return [...this.#records.values()];
  }

  /**
   * Installs the accept-time checks on `server`: call before the port's own `connection` listener
   * is added, so a refused socket is gone before a protocol is built for it.
   */
  install(server: net.Server, isTLS: boolean): void {
    const max = this.limits.maxConnections;
    if (max !== null) server.maxConnections = max;
    server.on("drop", (info?: DropInfo) => {
      this.reporter(
        "max-connections",
        `${this.#where()}: dropped a connection from ${info?.remoteAddress ?? "?"}: maxConnections ${max} reached (or no file descriptor left)`,
      );
    });
    server.on("connection", (socket: net.Socket) => this.#admit(socket, isTLS));
  }

  #admit(socket: net.Socket, isTLS: boolean): void {
    const process = this.process;
    // The peer's address is a system call (getpeername): asked only when a limit needs it.
    const perPeer = this.limits.maxConnectionsPerPeer;
    const host = perPeer !== null || isTLS || process.full ? (socket.remoteAddress ?? "") : "";
    if (process.full) {
      this.#refuse(
        socket,
        "process-connections",
        `the process holds its maximum of ${process.maxConnections} connections`,
        host,
      );
      return;
    }
    if (perPeer !== null) {
      // Counted only when the per-peer limit is on (accept stays cheap otherwise).
      const mine = this.#perPeer.get(host) ?? 0;
      if (mine >= perPeer) {
        this.#refuse(
          socket,
          "peer-connections",
          `this peer holds its maximum of ${perPeer} connections`,
          host,
        );
        return;
      }
      this.#perPeer.set(host, mine + 1);
    }
    process.connections++;
    const key = isTLS ? `${host}|${socket.remotePort ?? 0}` : "";
    const timeout = this.limits.handshakeTimeout;
    if (isTLS && timeout !== null) {
      const timer = this.#clock.callLater(timeout, () => {
        this.#handshakes.delete(key);
        this.reporter(
          "handshake-time",
          `${this.#where()}: aborted a connection from ${host}: TLS handshake not completed within ${timeout} s`,
        );
        socket.destroy();
      });
      this.#handshakes.set(key, timer);
    }
    (socket as AdmittedSocket)[kAdmitted] = { guard: this, host, key };
    socket.on("close", admittedClosed);
  }

  /** An admitted socket closed. */
  #released(host: string, key: string): void {
    this.process.connections--;
    if (this.limits.maxConnectionsPerPeer !== null) {
      const n = (this.#perPeer.get(host) ?? 1) - 1;
      if (n <= 0) this.#perPeer.delete(host);
      else this.#perPeer.set(host, n);
    }
    if (key !== "") this.#cancelHandshake(key);
  }

  #refuse(socket: net.Socket, kind: string, why: string, host: string): void {
    socket.on("error", () => {});
    socket.destroy();
    this.reporter(kind, `${this.#where()}: dropped a connection from ${host || "?"}: ${why}`);
  }

  #cancelHandshake(key: string): void {
    const t = this.#handshakes.get(key);
    if (t === undefined) return;
    this.#handshakes.delete(key);
    if (t.active()) t.cancel();
  }

  /** True when the socket was refused at admission (the port must not build a protocol for it). */
  refused(socket: net.Socket): boolean {
    return socket.destroyed;
  }

  /** A TLS socket finished its handshake: its timeout no longer applies. */
  secured(socket: net.Socket): void {
    this.#cancelHandshake(`${socket.remoteAddress ?? ""}|${socket.remotePort ?? 0}`);
  }

  /** A transport was made for an accepted connection. */
  accepted(transport: SocketTransport): void {
    this.#records.set(
      transport,
      new ConnectionRecord(transport, this, this.process, this.#clock.seconds()),
    );
    this.#updateGranule();
    if (!this.#closed) this.#sweep.start();
  }

  /** The connection is gone. */
  lost(transport: SocketTransport): void {
    const r = this.#records.get(transport);
    if (r === undefined) return;
    r.release();
    this.#records.delete(transport);
    // No timer is left pending on a port without connections (a manual Clock shows none).
    if (this.#records.size === 0) {
      this.#sweep.stop();
      if (this.#closed) this.process.remove(this);
    }
    this.#updateGranule();
  }

  /** A transport received or wrote a granule of bytes since it last reported: count it. */
  grew(transport: SocketTransport): void {
    const r = this.#records.get(transport);
    if (r === undefined) return;
    r.refresh();
    this.#checkBudgets(transport);
  }

  /** Sheds connections if this port's or the process's sum is over its budget. */
  #checkBudgets(grown: SocketTransport | null): void {
    const budget = this.limits.memoryBudget;
    if (budget !== null && this.total > budget) {
      const { closed, freed, largest } = shedLargest(this.records, budget);
      if (closed > 0) {
        this.reporter(
          "memory",
          `${this.#where()}: memory budget of ${mib(budget)} exceeded: aborted the ${closed} connection(s) holding the most (${mib(freed)}, largest ${mib(largest)}${grown === null ? "" : `, growing: ${peerOf(grown)}`})`,
        );
      }
    }
    const pb = this.process.memoryBudget;
    if (pb !== null && this.process.total > pb) this.process.overBudget(this.reporter);
  }

  #updateGranule(): void {
    const p = this.process;
    this.granule = Math.min(
      granuleFor(this.limits.memoryBudget, this.#records.size),
      granuleFor(p.memoryBudget, p.connections),
    );
  }

  /** The port stopped listening: no more sweeps once its connections are gone; leave the process sums. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#handshakes.values()) if (t.active()) t.cancel();
    this.#handshakes.clear();
    if (this.#records.size === 0) {
      this.#sweep.stop();
      this.process.remove(this);
    }
  }

  /** The last connection of a closed port is gone. */
  get finished(): boolean {
    return this.#closed && this.#records.size === 0;
  }
}
