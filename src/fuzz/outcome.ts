/**
 * What a target did with one case, and when the fuzzer stops waiting for more: the same rules for
 * the network executor and the in-process one, so both judge alike.
 */
import { type Analysis, isCompleteRequest } from "./framing.js";

/** What the target did on one connection. */
export interface Outcome {
  /** Every byte the target sent. */
  reply: Uint8Array;
  /** The target closed the connection (FIN or reset) before the fuzzer stopped waiting. */
  closed: boolean;
  /** The close was a reset (ECONNRESET, EPIPE) rather than an orderly FIN. */
  reset: boolean;
  /** The fuzzer stopped waiting because the timeout passed (not a close, not a settled reply). */
  timedOut: boolean;
  /** Why connecting failed (`ECONNREFUSED`, …), or `null` when it connected. */
  connectError: string | null;
}

/** How long to wait after the last byte is sent, and for what. */
export interface WaitRule {
  /**
   * Stop once the reply holds at least this many whole frames and nothing more arrived for
   * `settleMs` (−1: never, wait for the close or the timeout).
   */
  replyFrames: number;
  /** Stop after `settleMs` of silence even without a reply (nothing is expected). */
  quietStop: boolean;
  /** Stop once this many reply bytes arrived and `settleMs` passed without a close (0: unused). */
  replyBytes?: number;
}

/** Milliseconds of silence after which a reply counts as complete (see {@link WaitRule}). */
export function settleTime(timeoutMs: number): number {
  return Math.max(2, Math.min(10, Math.floor(timeoutMs / 50)));
}

/**
 * The wait rule for a request: a complete request waits for as many reply frames as it has
 * frames (or the close); a decided error waits for the close (the hang oracle needs it); an empty
 * or unfinished request without half-close expects nothing and stops after a silence.
 */
export function waitRule(a: Analysis, halfClose: boolean): WaitRule {
  if (isCompleteRequest(a)) return { replyFrames: a.frames, quietStop: false };
  if (a.error !== null) return { replyFrames: -1, quietStop: false };
  return { replyFrames: -1, quietStop: !halfClose };
}

/** Stop reading a reply beyond this many bytes (a target flooding the fuzzer). */
export const MAX_REPLY_BYTES = 4 * 1024 * 1024;
