/**
 * The framing model the fuzzer reasons with: how to build valid frames, malformed ones and
 * mutations, and — through the framing's one decoder (weft's own, the same that the receivers
 * use) — what a byte stream *is*: how many whole frames it holds, whether it ends in a decided
 * error (no continuation can make it valid) or inside a frame. Oracles never look at how a case was
 * generated, only at this analysis, so a shrunk or mutated case is always judged correctly.
 */
import type fc from "fast-check";
import type { Decoder, DecoderSink } from "../protocols/framing/decoder.js";

/** The framings `weft fuzz` knows. */
export type FramingName = "netstring" | "line" | "length-prefixed" | "amp";

/** Every {@link FramingName}. */
export const FRAMING_NAMES: readonly FramingName[] = [
  "netstring",
  "line",
  "length-prefixed",
  "amp",
];

/** A malformed (or mutated) frame: its bytes and what was done to it. */
export interface BadFrame {
  /** The bytes. */
  bytes: Uint8Array;
  /** What is wrong with them (a generator's label; the oracles decide from the bytes themselves). */
  kind: string;
}

/** One framing, as the fuzzer needs it. `F` is the decoded frame (bytes, an AMP box, a shape's frame). */
export interface FramingModel<F = unknown> {
  /** The framing's name. */
  readonly name: FramingName;
  /** A one-line description, e.g. `netstring (max 99999 bytes)`. */
  readonly description: string;
  /** The target's frame limit the generators aim at (payload bytes; an AMP value for AMP). */
  readonly maxLength: number;
  /**
   * A fresh decoder of the framing (the one parser of its grammar) reporting to `sink`, accepting
   * frames of up to `limit` bytes (default {@link maxLength}; replies are read with a larger one).
   */
  decoder(sink: DecoderSink<F>, limit?: number): Decoder;
  /** The wire bytes of `frame`. */
  encode(frame: F): Uint8Array;
  /** Valid frames with arbitrary content (kept small). */
  frame(): fc.Arbitrary<F>;
  /**
   * Structure-aware mutations of `frame` that stay valid frames (payload bytes flipped, inserted,
   * deleted, multi-byte and invalid UTF-8 spliced in), re-framed by {@link encode}.
   */
  mutate(frame: F): fc.Arbitrary<F>;
  /** Malformed frames of every kind the framing has (a few valid frames may precede the bad one). */
  malformed(): fc.Arbitrary<BadFrame>;
  /** Mutations of the framing of `frame`'s encoding: length lies, digit changes, deleted/duplicated delimiters. */
  mutateFraming(frame: F): fc.Arbitrary<BadFrame>;
}

/** What a byte stream is, according to the framing's decoder. */
export interface Analysis {
  /** Whole valid frames before the end or the error. */
  frames: number;
  /**
   * A decided error: the decoder rejected the bytes while being fed, so no continuation can make
   * them valid (its `kind` or `code`). `null` when there is none.
   */
  error: string | null;
  /** The stream ends inside a frame (valid so far, but incomplete). */
  partial: boolean;
}

/** The label of a decoder error: its `kind` (netstring, length-prefixed, shapes) or its `code`. */
export function errorLabel(err: Error): string {
  const kind: unknown = Reflect.get(err, "kind");
  if (typeof kind === "string") return kind;
  const code: unknown = Reflect.get(err, "code");
  return typeof code === "string" ? code : err.name;
}

/** The frame limit replies are read with: a target may send longer frames than it accepts. */
export const REPLY_LIMIT = 64 * 1024 * 1024;

/**
 * Runs `fn` with stack traces off. The decoders report malformed input as `WeftError`s, and
 * capturing a stack costs more than decoding a small case: the fuzzer needs an error's kind, never
 * its stack, so it decodes (and drives protocols in-process) without them. Measured: this alone
 * doubles the in-process rate on NetstringReceiver.
 */
export function withoutStacks<T>(fn: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return fn();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** Counts frames and keeps the first error of a decoder it is the sink of. */
class Tally implements DecoderSink<unknown> {
  frames = 0;
  error: Error | null = null;
  onFrame(): void {
    this.frames++;
  }
  onError(err: Error): void {
    this.error ??= err;
  }
  /** The error so far (a method, so that a check before `end()` does not narrow it for later). */
  firstError(): Error | null {
    return this.error;
  }
}

/** Runs `bytes` through the framing's decoder in one chunk (see {@link Analysis}). */
export function analyze(model: FramingModel, bytes: Uint8Array): Analysis {
  return withoutStacks(() => analyzeNow(model, bytes));
}

function analyzeNow(model: FramingModel, bytes: Uint8Array): Analysis {
  const t = new Tally();
  const d = model.decoder(t);
  d.feed(bytes);
  if (t.error !== null) return { frames: t.frames, error: errorLabel(t.error), partial: false };
  d.end();
  return { frames: t.frames, error: null, partial: t.firstError() !== null };
}

/** Whether an analysis is a request of whole valid frames only (at least one). */
export function isCompleteRequest(a: Analysis): boolean {
  return a.frames > 0 && a.error === null && !a.partial;
}

/** The result of checking a target's reply against the framing. */
export interface ReplyCheck {
  /** Whole frames in the reply. */
  frames: number;
  /** What is wrong with the reply, or `null` when it is valid frames of the framing. */
  problem: string | null;
  /** The reply ends inside a frame (allowed only while the connection is still open). */
  partial: boolean;
}

/**
 * Checks `reply` against the framing: every byte must belong to valid frames. A reply cut inside a
 * frame is reported only when `complete` (the target closed the connection cleanly after it).
 */
export function checkReply(model: FramingModel, reply: Uint8Array, complete: boolean): ReplyCheck {
  return withoutStacks(() => checkReplyNow(model, reply, complete));
}

function checkReplyNow(model: FramingModel, reply: Uint8Array, complete: boolean): ReplyCheck {
  const t = new Tally();
  const d = model.decoder(t, REPLY_LIMIT);
  d.feed(reply);
  if (t.error !== null) {
    return {
      frames: t.frames,
      partial: false,
      problem: `not ${model.name} frames: ${t.error.message}`,
    };
  }
  const partial = d.bufferedBytes > 0;
  if (!complete) return { frames: t.frames, partial, problem: null };
  d.end();
  const late = t.firstError();
  if (late !== null) {
    return {
      frames: t.frames,
      partial: true,
      problem: `the reply ends inside a frame before the close: ${late.message}`,
    };
  }
  return { frames: t.frames, partial: false, problem: null };
}

/** The valid frames at the start of `bytes` (copied), for structure-aware mutations of the probe. */
export function decodeFrames(model: FramingModel, bytes: Uint8Array): unknown[] {
  const frames: unknown[] = [];
  const d = model.decoder({
    onFrame(f) {
      frames.push(copyFrame(f));
    },
    onError() {},
  });
  d.feed(bytes.slice());
  return frames;
}

function copyFrame(f: unknown): unknown {
  if (f instanceof Uint8Array) return f.slice();
  if (f instanceof Map)
    return new Map([...f].map(([k, v]) => [k, v instanceof Uint8Array ? v.slice() : v]));
  if (typeof f === "object" && f !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(f)) out[k] = v instanceof Uint8Array ? v.slice() : v;
    return out;
  }
  return f;
}
