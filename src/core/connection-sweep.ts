/**
 * The per-port sweep: one timer on the reactor's clock, running only while the port has
 * connections, that looks at every connection once per tick — nothing in the data path. Each tick
 * it recounts the bytes each holds (memory budget), and applies the time limits:
 *
 * - **frame time**: a connection whose protocol holds a partial frame must complete it within
 *   `frameTimeout + (bytes received since it started) / frameMinRate` seconds (mod_reqtimeout's
 *   `MinRate` rule), else it is aborted — slowloris peers go, a big frame on a slow honest link
 *   arrives. Time while reading is paused (by the protocol, or for a full write buffer) is not
 *   counted against the peer;
 * - **idle**: no byte read or written for `idleTimeout` seconds, no partial frame and no work in
 *   progress (`Protocol.pendingWork()`): closed
 *   (`loseConnection`; aborted if still open {@link IDLE_ABORT_AFTER} seconds later, for a peer
 *   that never answers the FIN).
 *
 * Progress is read from the socket's own counters (`bytesRead`, `bytesWritten`).
 */
import type { ResolvedLimits } from "./connection-limits.js";
import type { DelayedCall, ReactorTime } from "./interfaces.js";
import type { LimitReporter } from "./limit-log.js";
import { type ConnectionRecord, protocolHeldBytes } from "./memory-budget.js";

/** Seconds after an idle close before a connection still open is aborted. */
export const IDLE_ABORT_AFTER = 5;

/** Seconds between ticks: a quarter of the shortest time limit, between 0.05 and 1. */
export function sweepInterval(limits: ResolvedLimits): number {
  let shortest = 4;
  if (limits.frameTimeout !== null) shortest = Math.min(shortest, limits.frameTimeout);
  if (limits.idleTimeout !== null) shortest = Math.min(shortest, limits.idleTimeout);
  return Math.min(1, Math.max(0.05, shortest / 4));
}

/** The sweep of one port (see the module comment). */
export class ConnectionSweep {
  readonly #clock: ReactorTime;
  readonly #limits: ResolvedLimits;
  readonly #records: () => Iterable<ConnectionRecord>;
  readonly #report: LimitReporter;
  readonly #where: () => string;
  readonly #interval: number;
  readonly #swept: () => void;
  #timer: DelayedCall | null = null;
  #last = 0;

  constructor(
    clock: ReactorTime,
    limits: ResolvedLimits,
    records: () => Iterable<ConnectionRecord>,
    report: LimitReporter,
    where: () => string,
    swept: () => void,
  ) {
    this.#swept = swept;
    this.#clock = clock;
    this.#limits = limits;
    this.#records = records;
    this.#report = report;
    this.#where = where;
    this.#interval = sweepInterval(limits);
  }

  /** Ensures the timer runs (called when a connection is accepted). */
  start(): void {
    if (this.#timer !== null) return;
    this.#last = this.#clock.seconds();
    this.#timer = this.#clock.callLater(this.#interval, this.#tick);
  }

  /** Stops the timer (no connections left, or the port stopped). */
  stop(): void {
    const t = this.#timer;
    this.#timer = null;
    if (t?.active()) t.cancel();
  }

  readonly #tick = (): void => {
    this.#timer = null;
    const now = this.#clock.seconds();
    const elapsed = now - this.#last;
    this.#last = now;
    let any = false;
    for (const r of this.#records()) {
      any = true;
      if (!r.shed) this.#check(r, now, elapsed);
    }
    this.#swept(); // the sums are exact now: the budgets are checked against them
    if (any) this.#timer = this.#clock.callLater(this.#interval, this.#tick);
  };

  #check(r: ConnectionRecord, now: number, elapsed: number): void {
    r.refresh();
    const t = r.transport;
    const socket = t.socket;
    const read = socket.bytesRead;
    const written = socket.bytesWritten;
    if (read !== r.read || written !== r.written) {
      r.read = read;
      r.written = written;
      r.lastActive = now;
    }
    if (r.closingSince >= 0) {
      if (now - r.closingSince >= IDLE_ABORT_AFTER) t.abortConnection();
      return;
    }
    const limits = this.#limits;
    const partial = protocolHeldBytes(t.protocol);
    if (partial > 0 && limits.frameTimeout !== null) {
      if (r.frameStart < 0) {
        // It started since the last tick: count from then (the peer's benefit of the doubt is
        // the minimum rate, not the sweep's granularity).
        r.frameStart = now - elapsed;
        r.frameRead = read - partial;
      } else if (socket.isPaused() || t.readingPausedForBuffer) {
        r.frameStart += elapsed; // the peer cannot send while we do not read
      }
      const allowed = limits.frameTimeout + (read - r.frameRead) / limits.frameMinRate;
      if (now - r.frameStart > allowed) {
        this.#report(
          "frame-time",
          `${this.#where()}: aborted a connection from ${peerOf(t)}: a frame not completed within ${allowed.toFixed(1)} s (${read - r.frameRead} bytes in ${(now - r.frameStart).toFixed(1)} s; frameTimeout ${limits.frameTimeout} s + 1 s per ${limits.frameMinRate} bytes)`,
        );
        r.shed = true;
        r.release();
        t.abortConnection();
      }
      return;
    }
    if (partial === 0) r.frameStart = -1;
    const idle = limits.idleTimeout;
    if (idle !== null && now - r.lastActive >= idle) {
      // A request still being worked on (a slow computation, a reply not yet written) is no idleness.
      if (t.protocol.pendingWork() !== null) {
        r.lastActive = now;
        return;
      }
      r.closingSince = now;
      if (socket.writableLength > 0)
        t.abortConnection(); // the peer does not read: nothing to flush
      else t.loseConnection();
    }
  }
}

/** `host:port` of the peer, for log lines. */
export function peerOf(t: { getPeer(): { host: string; port: number; path?: string } }): string {
  const p = t.getPeer();
  if (p.path !== undefined) return p.path || "a unix socket peer";
  return p.host.includes(":") ? `[${p.host}]:${p.port}` : `${p.host}:${p.port}`;
}
