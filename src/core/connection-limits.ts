/**
 * The limits a listening port puts on its connections, their defaults, and how the defaults are
 * derived (the process's fd limit, read from `/proc/self/limits`).
 *
 * Every time is in seconds on the reactor's clock (a manual `Clock` in tests); every size in bytes.
 * `null` switches a limit off. The guards that enforce them: `port-guard.ts` (accept, TLS handshake,
 * per-peer and connection counts), `connection-sweep.ts` (frame time, idle), `memory-budget.ts`
 * (bytes held in incomplete frames and unsent replies).
 */
import { readFileSync } from "node:fs";
import { InvalidArgumentError } from "./errors.js";
import type { ProcessLimits } from "./process-limits.js";

/** Limits of one listening port (a front-end). Pass them as `limits` to `listenTCP`/`listenTLS`/`listenUNIX`. */
export interface ConnectionLimits {
  /**
   * Bytes this port's connections may hold together in incomplete frames (what the protocol's
   * `bufferedBytes` reports) and unsent replies (the socket's write buffer). Beyond it the
   * connections holding the most are aborted first. Default {@link DEFAULT_FRONT_END_MEMORY_BUDGET}.
   */
  memoryBudget?: number | null;
  /**
   * Seconds a frame that has started (the protocol holds a partial frame) may take to complete,
   * extended by one second per {@link frameMinRate} bytes received since it started (Apache
   * mod_reqtimeout's `20,MinRate=500`; Node's `headersTimeout`). A slowloris peer is aborted after
   * about this long; a big frame on a slow but honest link (≥ `frameMinRate` B/s) still arrives.
   * Default 20.
   */
  frameTimeout?: number | null;
  /** Bytes per second that extend {@link frameTimeout} by one second. Default 500. */
  frameMinRate?: number;
  /**
   * Seconds without a byte read or written, and no partial frame held, after which the connection
   * is closed. Default `null` (off) for the library; the suite turns it on for request/reply
   * front-ends (see `FrontEndDefinition.limits`).
   */
  idleTimeout?: number | null;
  /** Seconds a TLS client has to complete its handshake (TLS ports only). Default 10. */
  handshakeTimeout?: number | null;
  /**
   * Connections this port accepts at once; the ones beyond are dropped by Node
   * (`server.maxConnections`) and logged, rate-limited. Default half of the process's limit.
   */
  maxConnections?: number | null;
  /** Connections one peer address may hold on this port at once. Default `null` (off). */
  maxConnectionsPerPeer?: number | null;
  /** Where limit events are reported (one line each, rate-limited). Default `console.warn`. */
  report?: (line: string) => void;
  /** The process-wide limits this port counts in. Default: the shared `defaultProcessLimits()`. */
  process?: ProcessLimits;
}

/** The limits as the guards use them: every field present. */
export interface ResolvedLimits {
  readonly memoryBudget: number | null;
  readonly frameTimeout: number | null;
  readonly frameMinRate: number;
  readonly idleTimeout: number | null;
  readonly handshakeTimeout: number | null;
  readonly maxConnections: number | null;
  readonly maxConnectionsPerPeer: number | null;
}

/**
 * 64 MiB per front-end: four times what 1,000 connections each holding a maximal netstring of the
 * transform front-ends (99,999 bytes) need, and 64 AMP boxes at the 1 MiB box limit.
 */
export const DEFAULT_FRONT_END_MEMORY_BUDGET = 64 * 1024 * 1024;
/**
 * 256 MiB per process: the bytes counted are the bytes received or queued, while a growing decoder
 * may have allocated up to twice that (buffers grow by doubling), so the memory really held stays
 * under about 512 MiB — 2% of a 24 GiB machine — whatever the number of connections.
 */
export const DEFAULT_PROCESS_MEMORY_BUDGET = 256 * 1024 * 1024;
/** See {@link ConnectionLimits.frameTimeout}. */
export const DEFAULT_FRAME_TIMEOUT = 20;
/** See {@link ConnectionLimits.frameMinRate}. */
export const DEFAULT_FRAME_MIN_RATE = 500;
/** See {@link ConnectionLimits.handshakeTimeout}. */
export const DEFAULT_HANDSHAKE_TIMEOUT = 10;
/**
 * The most connections the derived default allows a process, whatever its fd limit: each
 * connection also costs a few KiB of heap (socket, transport, protocol), so 64 Ki of them are in the
 * same order as the memory budget.
 */
export const MAX_DERIVED_CONNECTIONS = 65536;

/**
 * The process's soft limit on open files, from `/proc/self/limits` (Linux; Node raises the soft
 * limit to the hard one at startup), or `null` where it cannot be read or is unlimited.
 */
export function openFileLimit(limitsText?: string): number | null {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync("/proc/self/limits", "latin1");
    } catch {
      return null;
    }
  }
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
  if (m === null || m[1] === "unlimited") return null;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

/**
 * Connections a process may hold, derived from its fd limit: the limit less a reserve for the
 * files, pipes and listening sockets the process itself needs (10%, at least 64), at least 16 and at
 * most {@link MAX_DERIVED_CONNECTIONS}. `null` (no limit) when the fd limit is unknown.
 */
export function derivedMaxConnections(fdLimit: number | null = openFileLimit()): number | null {
  if (fdLimit === null) return null;
  const reserve = Math.max(64, Math.ceil(fdLimit * 0.1));
  return Math.min(MAX_DERIVED_CONNECTIONS, Math.max(16, fdLimit - reserve));
}

function check(name: string, value: number | null | undefined, min: number): void {
  if (value === undefined || value === null) return;
  if (!(Number.isFinite(value) && value >= min)) {
    throw new InvalidArgumentError(
      `Invalid limit ${name}: ${String(value)} (a finite number >= ${min} or null expected).`,
    );
  }
}

/**
 * Every field of `limits` with its default; `processMax` (the process's connection limit) sizes the
 * default `maxConnections`. Throws InvalidArgumentError for a negative, zero or non-finite value.
 */
export function resolveLimits(
  limits: ConnectionLimits = {},
  processMax: number | null = null,
): ResolvedLimits {
  check("memoryBudget", limits.memoryBudget, 1);
  check("frameTimeout", limits.frameTimeout, 0);
  check("frameMinRate", limits.frameMinRate, 1);
  check("idleTimeout", limits.idleTimeout, 0);
  check("handshakeTimeout", limits.handshakeTimeout, 0);
  check("maxConnections", limits.maxConnections, 1);
  check("maxConnectionsPerPeer", limits.maxConnectionsPerPeer, 1);
  const pick = <T>(v: T | undefined, d: T): T => (v === undefined ? d : v);
  return {
    memoryBudget: pick(limits.memoryBudget, DEFAULT_FRONT_END_MEMORY_BUDGET),
    frameTimeout: pick(limits.frameTimeout, DEFAULT_FRAME_TIMEOUT),
    frameMinRate: limits.frameMinRate ?? DEFAULT_FRAME_MIN_RATE,
    idleTimeout: pick(limits.idleTimeout, null),
    handshakeTimeout: pick(limits.handshakeTimeout, DEFAULT_HANDSHAKE_TIMEOUT),
    maxConnections: pick(
      limits.maxConnections,
      processMax === null ? null : Math.max(1, Math.ceil(processMax / 2)),
    ),
    maxConnectionsPerPeer: pick(limits.maxConnectionsPerPeer, null),
  };
}
