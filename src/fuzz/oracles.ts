/**
 * The oracles that judge one outcome on its own: `malformed-reply`, `accepted-malformed` and
 * `hang`. (`crash`, `liveness`, `inconsistent`, `differential` and `memory` compare several
 * observations and live in the campaign; they produce the same {@link Verdict}.)
 *
 * No false positives is part of the contract, so each rule is only as strict as the grammar
 * allows: a target that closes without a word on bad input is correct; a line server may answer an
 * over-long line with an error line if it then closes; a reply cut short is only wrong when the
 * target closed cleanly after it.
 */
import { escapeBytes } from "./escapes.js";
import { type Analysis, checkReply, type FramingModel } from "./framing.js";
import type { Outcome } from "./outcome.js";

/** The oracles, as named in findings. */
export type OracleName =
  | "crash"
  | "liveness"
  | "hang"
  | "accepted-malformed"
  | "malformed-reply"
  | "inconsistent"
  | "differential"
  | "memory";

/** Every {@link OracleName}. */
export const ORACLE_NAMES: readonly OracleName[] = [
  "crash",
  "liveness",
  "hang",
  "accepted-malformed",
  "malformed-reply",
  "inconsistent",
  "differential",
  "memory",
];

/** An oracle's judgement that a case shows a bug. */
export interface Verdict {
  oracle: OracleName;
  /** What identifies the bug (oracle + what went wrong), for deduplication. */
  signature: string;
  /** What the target did (escaped bytes and words). */
  observed: string;
  /** What a correct target does. */
  expected: string;
}

/** Options of the per-outcome oracles. */
export interface OracleOptions {
  /** Turn `accepted-malformed` off (`--lenient`). */
  lenient: boolean;
  /** The per-case timeout, for messages. */
  timeoutMs: number;
}

/** How an outcome ended, in words. */
export function describeOutcome(o: Outcome): string {
  const end = o.connectError
    ? `could not connect (${o.connectError})`
    : o.closed
      ? o.reset
        ? "connection reset"
        : "connection closed"
      : o.timedOut
        ? "still open at the timeout"
        : "still open";
  return o.reply.length === 0 ? `no reply; ${end}` : `"${escapeBytes(o.reply, 512)}"; ${end}`;
}

/** The per-outcome oracles, in order of importance; the first that fires wins. */
export function judge(
  model: FramingModel,
  a: Analysis,
  o: Outcome,
  opts: OracleOptions,
): Verdict | null {
  if (o.connectError !== null) return null; // the campaign decides whether the target crashed
  const check = checkReply(model, o.reply, o.closed && !o.reset);
  if (check.problem !== null) {
    return {
      oracle: "malformed-reply",
      signature: `malformed-reply:${check.problem.replace(/\d+/g, "N").slice(0, 80)}`,
      observed: `${describeOutcome(o)} — ${check.problem}`,
      expected: `replies made of valid ${model.name} frames`,
    };
  }
  if (a.error !== null && a.frames === 0 && o.reply.length > 0 && !opts.lenient) {
    // A line server may answer an over-long line with an error line, then close.
    const refusedWithWords = model.name === "line" && o.closed;
    if (!refusedWithWords) {
      return {
        oracle: "accepted-malformed",
        signature: `accepted-malformed:${o.closed ? "then closed" : "stayed open"}`,
        observed: describeOutcome(o),
        expected: `no reply to a malformed first frame (${a.error}); the connection closed${/length|LENGTH/.test(a.error) ? ` (the limit is ${model.maxLength}: --max-length)` : ""}`,
      };
    }
  }
  if (a.error !== null && !o.closed && o.timedOut) {
    const limitHint = /length|LENGTH/.test(a.error)
      ? ` — is ${model.maxLength} (--max-length) the target's limit?`
      : "";
    return {
      oracle: "hang",
      signature: "hang",
      observed: describeOutcome(o),
      expected: `the connection closed within ${opts.timeoutMs} ms of a frame no continuation can make valid (${a.error})${limitHint}`,
    };
  }
  return null;
}
