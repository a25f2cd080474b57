/**
 * fast-check arbitraries for fuzzing stream decoders — weft's own and yours.
 *
 * ```ts
 * import fc from "fast-check";
 * import { chunked, validNetstrings } from "weft/testing";
 *
 * fc.assert(
 *   fc.property(
 *     validNetstrings().chain((s) => chunked(s.bytes).map((chunks) => ({ ...s, chunks }))),
 *     ({ payloads, chunks }) => {
 *       // feed `chunks` one by one to your decoder and compare with `payloads`
 *     },
 *   ),
 * );
 * ```
 *
 * `fast-check` is a runtime dependency of weft (`^4.0.0`: these arbitraries type-check and pass their
 * tests with 4.0.0 through 4.10.2), installed with it. Combine them with the same major version of
 * fast-check in your tests (fast-check 4), so that `fc.assert` and the arbitraries agree.
 */
import fc from "fast-check";
import {
  encodeLengthPrefixed,
  encodeNetstring,
  type LengthPrefixedOptions,
  type NetstringErrorKind,
} from "../protocols/receivers/index.js";
import { concat } from "./bytes.js";

/** A byte stream and the frames (payloads or lines) it encodes. */
export interface FramedStream {
  /** The frames, in order. */
  frames: Uint8Array[];
  /** Their wire encoding, concatenated. */
  bytes: Uint8Array;
}

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

/**
 * Every way of splitting `bytes` into chunks: up to `maxChunks` (default 16) pieces cut at random
 * points (empty chunks included); their concatenation is always `bytes`. Each chunk is an
 * independent copy, so a decoder that keeps a view of a chunk it was fed cannot go unnoticed when
 * the test overwrites the chunks after feeding them.
 */
export function chunked(
  bytes: Uint8Array,
  options: { maxChunks?: number } = {},
): fc.Arbitrary<Uint8Array[]> {
  const maxCuts = Math.max(0, (options.maxChunks ?? 16) - 1);
  return fc.array(fc.integer({ min: 0, max: bytes.length }), { maxLength: maxCuts }).map((cuts) => {
    const points = [...cuts].sort((a, b) => a - b);
    const out: Uint8Array[] = [];
    let prev = 0;
    for (const p of points) {
      out.push(bytes.slice(prev, p));
      prev = p;
    }
    out.push(bytes.slice(prev));
    return out;
  });
}

/** Options shared by the valid-stream arbitraries. */
export interface ValidStreamOptions {
  /** Largest frame generated, in bytes. Default 64 (kept small so runs stay fast). */
  maxLength?: number;
  /** Most frames in one stream. Default 8. */
  maxFrames?: number;
}

function payloads(o: ValidStreamOptions): fc.Arbitrary<Uint8Array[]> {
  return fc.array(fc.uint8Array({ maxLength: o.maxLength ?? 64 }), {
    maxLength: o.maxFrames ?? 8,
  });
}

/** Valid netstring streams: `{ frames, bytes }` with arbitrary payload bytes (`:` and `,` too). */
export function validNetstrings(options: ValidStreamOptions = {}): fc.Arbitrary<FramedStream> {
  return payloads(options).map((frames) => ({
    frames,
    bytes: concat(frames.map((f) => encodeNetstring(f))),
  }));
}

/** Valid length-prefixed streams for the codec `options` (prefix, endian). */
export function validLengthPrefixedFrames(
  options: LengthPrefixedOptions & ValidStreamOptions = {},
): fc.Arbitrary<FramedStream> {
  const codec: LengthPrefixedOptions = {};
  if (options.prefix !== undefined) codec.prefix = options.prefix;
  if (options.endian !== undefined) codec.endian = options.endian;
  const capacity = codec.prefix === 1 ? 255 : Number.MAX_SAFE_INTEGER;
  const gen: ValidStreamOptions = {
    maxLength: Math.min(options.maxLength ?? 64, capacity),
    maxFrames: options.maxFrames ?? 8,
  };
  return payloads(gen).map((frames) => ({
    frames,
    bytes: concat(frames.map((f) => encodeLengthPrefixed(f, codec))),
  }));
}

/**
 * Valid line streams for `delimiter` (default `"\r\n"`): every line is terminated, contains no
 * delimiter, and the first delimiter found after a line's start is its own (so overlapping
 * delimiters such as `"aa"` stay unambiguous). Lines are biased towards the delimiter's bytes.
 */
export function validLines(
  delimiter: Uint8Array | string = "\r\n",
  options: ValidStreamOptions = {},
): fc.Arbitrary<FramedStream> {
  const delim = typeof delimiter === "string" ? ascii(delimiter) : delimiter;
  const byte = fc.oneof(
    fc.integer({ min: 0, max: 255 }),
    fc.constantFrom(...(delim.length > 0 ? Array.from(delim) : [0])),
  );
  const line = fc
    .array(byte, { maxLength: options.maxLength ?? 64 })
    .map((bs) => Uint8Array.from(bs))
    .filter((l) => Buffer.concat([l, delim]).indexOf(delim) === l.length);
  return fc.array(line, { maxLength: options.maxFrames ?? 8 }).map((frames) => ({
    frames,
    bytes: concat(frames.flatMap((f) => [f, delim])),
  }));
}

// Malformed netstrings ----------------------------------------------------------------------------

/** The kinds of malformed netstring {@link malformedNetstring} generates. */
export type MalformedNetstringKind =
  | "non-digit length"
  | "leading zero"
  | "missing colon"
  | "missing comma"
  | "wrong length"
  | "length over the limit"
  | "absurd announced length"
  | "truncated stream";

/** Every {@link MalformedNetstringKind}. */
export const MALFORMED_NETSTRING_KINDS: readonly MalformedNetstringKind[] = [
  "non-digit length",
  "leading zero",
  "missing colon",
  "missing comma",
  "wrong length",
  "length over the limit",
  "absurd announced length",
  "truncated stream",
];

/** A malformed netstring stream and what a conforming decoder must make of it. */
export interface MalformedNetstringCase {
  /** What is wrong with the bad netstring. */
  kind: MalformedNetstringKind;
  /** Valid netstrings, then the bad one, then (except for truncation) arbitrary trailing bytes. */
  bytes: Uint8Array;
  /** The payloads delivered before the error. */
  frames: Uint8Array[];
  /** The `NetstringParseError.kind` expected (`"truncated"` is reported at end of input). */
  error: NetstringErrorKind;
  /** The stream offset at which the error is detected. */
  offset: number;
}

const DIGITS = "0123456789";
const isDigit = (b: number): boolean => b >= 0x30 && b <= 0x39;

/**
 * Streams of valid netstrings followed by one malformed netstring of `kind` (for a decoder with
 * `maxLength`, default 50), with the expected outcome: the frames before it, the error kind and
 * its stream offset.
 */
export function malformedNetstring(
  kind: MalformedNetstringKind,
  options: { maxLength?: number; maxFrames?: number } = {},
): fc.Arbitrary<MalformedNetstringCase> {
  const max = options.maxLength ?? 50;
  const prefix = validNetstrings({
    maxLength: Math.min(max, 32),
    maxFrames: options.maxFrames ?? 4,
  });
  const tail = fc.uint8Array({ maxLength: 16 });
  const anyByte = fc.integer({ min: 0, max: 255 });
  const smallLen = fc.integer({ min: 0, max: Math.min(max, 40) });

  const bad: fc.Arbitrary<{ bad: Uint8Array; at: number; error: NetstringErrorKind }> = (() => {
    switch (kind) {
      case "non-digit length":
        return anyByte
          .filter((b) => !isDigit(b))
          .map((b) => ({ bad: Uint8Array.of(b), at: 0, error: "non-digit length" as const }));
      case "leading zero":
        return fc
          .integer({ min: 0, max: 9 })
          .map((d) => ({ bad: ascii(`0${d}`), at: 1, error: "leading zero" as const }));
      case "missing colon":
        return fc
          .tuple(
            smallLen,
            anyByte.filter((b) => !isDigit(b) && b !== 0x3a),
          )
          .map(([n, b]) => {
            const digits = ascii(String(n));
            return {
              bad: concat([digits, Uint8Array.of(b)]),
              at: digits.length,
              error: "missing colon" as const,
            };
          });
      case "missing comma":
        return fc
          .tuple(
            smallLen.chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
            anyByte.filter((b) => b !== 0x2c),
          )
          .map(([p, b]) => {
            const head = ascii(`${p.length}:`);
            return {
              bad: concat([head, p, Uint8Array.of(b)]),
              at: head.length + p.length,
              error: "missing comma" as const,
            };
          });
      case "wrong length":
        // The payload is longer than announced: the byte after the announced length is not ",".
        return fc
          .tuple(fc.integer({ min: 0, max: Math.min(max, 40) }), fc.integer({ min: 1, max: 8 }))
          .chain(([n, extra]) =>
            fc.uint8Array({ minLength: n + extra, maxLength: n + extra }).map((p) => {
              if (p[n] === 0x2c) p[n] = 0x2d;
              const head = ascii(`${n}:`);
              return {
                bad: concat([head, p, ascii(",")]),
                at: head.length + n,
                error: "missing comma" as const,
              };
            }),
          );
      case "length over the limit":
        return fc.integer({ min: max + 1, max: max * 10 + 9 }).map((n) => {
          const digits = String(n);
          return {
            bad: ascii(`${digits}:`),
            at: overflowAt(digits, max),
            error: "length too long" as const,
          };
        });
      case "absurd announced length":
        return fc
          .tuple(
            fc.integer({ min: 1, max: 9 }),
            fc.array(fc.constantFrom(...DIGITS.split("")), { minLength: 12, maxLength: 40 }),
          )
          .map(([first, rest]) => {
            const digits = `${first}${rest.join("")}`;
            return {
              bad: ascii(`${digits}:`),
              at: overflowAt(digits, max),
              error: "length too long" as const,
            };
          });
      case "truncated stream":
        return validNetstrings({ maxLength: Math.min(max, 32), maxFrames: 1 })
          .filter((s) => s.frames.length === 1)
          .chain((s) =>
            fc.integer({ min: 1, max: s.bytes.length - 1 }).map((cut) => ({
              bad: s.bytes.slice(0, cut),
              at: cut,
              error: "truncated" as const,
            })),
          );
    }
  })();

  return fc.tuple(prefix, bad, tail).map(([valid, b, t]) => ({
    kind,
    bytes: concat(kind === "truncated stream" ? [valid.bytes, b.bad] : [valid.bytes, b.bad, t]),
    frames: valid.frames,
    error: b.error,
    offset: valid.bytes.length + b.at,
  }));
}

/** Any of the malformed netstring kinds (see {@link malformedNetstring}). */
export function malformedNetstrings(
  options: { maxLength?: number; maxFrames?: number } = {},
): fc.Arbitrary<MalformedNetstringCase> {
  return fc.oneof(...MALFORMED_NETSTRING_KINDS.map((k) => malformedNetstring(k, options)));
}

/** Index of the digit at which the decimal `digits` first exceeds `max`. */
function overflowAt(digits: string, max: number): number {
  let v = 0;
  for (let i = 0; i < digits.length; i++) {
    v = v * 10 + (digits.charCodeAt(i) - 0x30);
    if (v > max) return i;
  }
  return digits.length;
}
