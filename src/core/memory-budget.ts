/**
 * The memory budget across connections: what each connection holds (bytes of incomplete frames,
 * as its protocol's `bufferedBytes` reports them, plus unsent replies, the socket's
 * `writableLength`), summed per front-end and per process, and the shedding of the connections
 * holding the most once a sum is over its budget.
 *
 * Accounting happens on growth, never per byte: a transport counts the bytes it received and
 * wrote since it last reported, and reports once that passes a granule (see `granuleFor`), so a
 * connection that holds little never touches the sums; the sweep (`connection-sweep.ts`) recounts
 * every connection exactly once per tick (and checks the budgets then), which catches what shrank
 * and the many-small case.
 */
import type { SocketTransport } from "./transport.js";

/** A protocol that can say how many received bytes it holds (the framing receivers, AMP, PB). */
export interface HoldsBytes {
  /** Bytes received and not yet delivered (a partial frame, frames held while paused). */
  readonly bufferedBytes: number;
}

/** Bytes `protocol` holds, if it says (0 for a protocol without `bufferedBytes`). */
export function protocolHeldBytes(protocol: object): number {
  if (!("bufferedBytes" in protocol)) return 0;
  const n = protocol.bufferedBytes;
  return typeof n === "number" ? n : 0;
}

/** Where a connection's held bytes are summed: its port, and the process. */
export interface MemoryAccount {
  /** Bytes held by the account's connections, as last counted. */
  total: number;
}

/** One watched connection: its accounting and the sweep's state. */
export class ConnectionRecord {
  readonly transport: SocketTransport;
  readonly port: MemoryAccount;
  readonly process: MemoryAccount;
  /** Bytes held when last counted (already added to both accounts). */
  held = 0;
  /** Aborted by a guard: counts nothing more. */
  shed = false;
  /** Sweep state: `bytesRead`/`bytesWritten` at the last tick, and when either last changed. */
  read = 0;
  written = 0;
  lastActive: number;
  /** When the frame in progress was first seen (-1: none), and `bytesRead` before it. */
  frameStart = -1;
  frameRead = 0;
  /** When an idle close was asked for (-1: not yet): aborted if still open a while later. */
  closingSince = -1;

  constructor(
    transport: SocketTransport,
    port: MemoryAccount,
    process: MemoryAccount,
    now: number,
  ) {
    this.transport = transport;
    this.port = port;
    this.process = process;
    this.lastActive = now;
  }

  /** Counts what the connection holds now and updates both accounts; returns the count. */
  refresh(): number {
    if (this.shed) return 0;
    const t = this.transport;
    const held = protocolHeldBytes(t.protocol) + t.socket.writableLength;
    const delta = held - this.held;
    if (delta !== 0) {
      this.held = held;
      this.port.total += delta;
      this.process.total += delta;
    }
    return held;
  }

  /** Takes the connection out of both accounts (it is gone, or being aborted). */
  release(): void {
    this.port.total -= this.held;
    this.process.total -= this.held;
    this.held = 0;
  }
}

/** Share of the budget the shedding brings the sum down to (headroom before the next shedding). */
const SHED_TO = 0.9;

/**
 * Recounts `records` exactly and, if they hold more than `budget` together, aborts the ones holding
 * the most until the sum is under 90% of it. Returns the connections aborted and the bytes they
 * held (zero and zero when the recount shows the sum within budget).
 */
export function shedLargest(
  records: readonly ConnectionRecord[],
  budget: number,
): { closed: number; freed: number; largest: number } {
  let total = 0;
  for (const r of records) total += r.refresh();
  if (total <= budget) return { closed: 0, freed: 0, largest: 0 };
  const target = budget * SHED_TO;
  const order = records.filter((r) => !r.shed && r.held > 0).sort((a, b) => b.held - a.held);
  let closed = 0;
  let freed = 0;
  const largest = order[0]?.held ?? 0;
  for (const r of order) {
    if (total <= target) break;
    total -= r.held;
    freed += r.held;
    closed++;
    r.release();
    r.shed = true;
    r.transport.abortConnection();
  }
  return { closed, freed, largest };
}

/**
 * The granule of held bytes after which a transport reports its growth: small enough that all the
 * connections' unreported bytes together stay within half the budget (`budget / (2 × connections)`),
 * between 4 KiB and 64 KiB.
 */
export function granuleFor(budget: number | null, connections: number): number {
  if (budget === null) return 65536;
  const share = Math.floor(budget / (2 * Math.max(1, connections)));
  return Math.min(65536, Math.max(4096, share));
}

/** `n` bytes in MiB with one decimal, for log lines. */
export function mib(n: number): string {
  return `${(n / 1048576).toFixed(1)} MiB`;
}
