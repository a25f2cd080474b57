/**
 * Differential mode (`--reference`): the same case goes to the target and to a reference server,
 * and any difference in outcome — reply bytes, closed or not — is a finding, unless the allow-list
 * file says that a pair of correct servers may differ that way.
 *
 * Allow-list file: one JavaScript regular expression a line (blank lines and `#` comments ignored),
 * matched against the difference, written as
 * `label=<case label> | target: <outcome> | reference: <outcome>` where an outcome reads like
 * `"<escaped reply>"; connection closed` or `no reply; still open at the timeout`. For example
 * `^label=valid, \d pipelined` allows every difference on pipelined requests.
 */
import { readFileSync } from "node:fs";
import { InvalidArgumentError } from "../core/errors.js";
import type { FuzzCase } from "./cases.js";
import { describeOutcome, type OracleName, type Verdict } from "./oracles.js";
import type { Outcome } from "./outcome.js";

/** Reads an allow-list file (see the module comment). */
export function readAllowList(path: string): RegExp[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new InvalidArgumentError(
      `cannot read allow-list ${path}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const out: RegExp[] = [];
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    try {
      out.push(new RegExp(line));
    } catch (err) {
      throw new InvalidArgumentError(
        `${path}:${i + 1}: not a regular expression: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
  return out;
}

/** Whether two outcomes are the same on the wire (reply bytes, and closed or not). */
export function sameOutcome(a: Outcome, b: Outcome): boolean {
  return a.closed === b.closed && Buffer.from(a.reply).equals(Buffer.from(b.reply));
}

/** The `differential` verdict for `c`, or `null` when the outcomes agree or the difference is allowed. */
export function compareWithReference(
  c: FuzzCase,
  target: Outcome,
  reference: Outcome,
  allow: readonly RegExp[],
): Verdict | null {
  if (sameOutcome(target, reference)) return null;
  const observed = describeOutcome(target);
  const expected = describeOutcome(reference);
  const text = `label=${c.label} | target: ${observed} | reference: ${expected}`;
  if (allow.some((re) => re.test(text))) return null;
  const oracle: OracleName = "differential";
  const what =
    target.closed !== reference.closed
      ? target.closed
        ? "closes where the reference stays open"
        : "stays open where the reference closes"
      : target.reply.length === 0
        ? "no reply where the reference replies"
        : reference.reply.length === 0
          ? "replies where the reference does not"
          : "a different reply";
  return { oracle, signature: `differential:${c.label.split(":")[0]}:${what}`, observed, expected };
}
