/**
 * Byte-level mutation operators shared by the framing models: payload mutations (which the models
 * re-frame, so the result stays a valid frame) and mutations of a frame's structural bytes (length
 * digits or prefix, delimiters), which usually make it malformed.
 */
import fc from "fast-check";
import { concat } from "../testing/bytes.js";
import type { BadFrame } from "./framing.js";

/** Byte sequences that test text handling: multi-byte UTF-8, and invalid UTF-8 of several kinds. */
export const UTF8_PIECES: readonly Uint8Array[] = [
  Uint8Array.of(0xc3, 0xa9), // é
  Uint8Array.of(0xe2, 0x98, 0x83), // ☃
  Uint8Array.of(0xf0, 0x9f, 0x98, 0x80), // 😀
  Uint8Array.of(0xef, 0xbb, 0xbf), // BOM
  Uint8Array.of(0xc3), // truncated 2-byte sequence
  Uint8Array.of(0xe2, 0x98), // truncated 3-byte sequence
  Uint8Array.of(0xff), // never valid
  Uint8Array.of(0x80), // lone continuation byte
  Uint8Array.of(0xc0, 0xaf), // overlong "/"
  Uint8Array.of(0xed, 0xa0, 0x80), // UTF-16 surrogate
  Uint8Array.of(0xf4, 0x90, 0x80, 0x80), // above U+10FFFF
  Uint8Array.of(0x00), // NUL
];

/** Interesting single bytes: delimiters of every framing, digits, controls, high bytes. */
const INTERESTING = [0x00, 0x0a, 0x0d, 0x2c, 0x3a, 0x30, 0x39, 0x2e, 0x20, 0x7f, 0x80, 0xff];

const byteArb = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(...INTERESTING));

/** One payload mutation: applied to `payload` it yields new payload bytes. */
type PayloadOp =
  | { op: "flip"; at: number; bit: number }
  | { op: "set"; at: number; byte: number }
  | { op: "insert"; at: number; bytes: Uint8Array }
  | { op: "delete"; at: number; count: number }
  | { op: "utf8"; at: number; piece: number }
  | { op: "repeat"; times: number };

const payloadOp: fc.Arbitrary<PayloadOp> = fc.oneof(
  fc.record({
    op: fc.constant("flip" as const),
    at: fc.nat(),
    bit: fc.integer({ min: 0, max: 7 }),
  }),
  fc.record({ op: fc.constant("set" as const), at: fc.nat(), byte: byteArb }),
  fc.record({
    op: fc.constant("insert" as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({
    op: fc.constant("delete" as const),
    at: fc.nat(),
    count: fc.integer({ min: 1, max: 8 }),
  }),
  fc.record({
    op: fc.constant("utf8" as const),
    at: fc.nat(),
    piece: fc.integer({ min: 0, max: UTF8_PIECES.length - 1 }),
  }),
  fc.record({ op: fc.constant("repeat" as const), times: fc.integer({ min: 2, max: 4 }) }),
);

function applyOp(p: Uint8Array, o: PayloadOp, max: number): Uint8Array {
  const len = p.length;
  switch (o.op) {
    case "flip": {
      if (len === 0) return p;
      const out = p.slice();
      const i = o.at % len;
      out[i] = (out[i] as number) ^ (1 << o.bit);
      return out;
    }
    case "set": {
      if (len === 0) return Uint8Array.of(o.byte);
      const out = p.slice();
      out[o.at % len] = o.byte;
      return out;
    }
    case "insert": {
      const i = o.at % (len + 1);
      return concat([p.subarray(0, i), o.bytes, p.subarray(i)]);
    }
    case "delete": {
      if (len === 0) return p;
      const i = o.at % len;
      return concat([p.subarray(0, i), p.subarray(Math.min(len, i + o.count))]);
    }
    case "utf8": {
      const i = o.at % (len + 1);
      return concat([p.subarray(0, i), UTF8_PIECES[o.piece] as Uint8Array, p.subarray(i)]);
    }
    case "repeat": {
      if (len === 0 || len * o.times > max) return p;
      return concat(Array.from({ length: o.times }, () => p));
    }
  }
}

/**
 * Mutations of `payload` (one to four operators), kept within `max` bytes. fast-check shrinks them
 * towards fewer operators, so a shrunk case mutates as little as it must.
 */
export function mutatePayload(payload: Uint8Array, max: number): fc.Arbitrary<Uint8Array> {
  return fc.array(payloadOp, { minLength: 1, maxLength: 4 }).map((ops) => {
    let p = payload;
    for (const o of ops) p = applyOp(p, o, max);
    return p.length > max ? p.subarray(0, max) : p;
  });
}

/** An operation on one structural byte of an encoded frame. */
type StructOp =
  | { op: "delete"; which: number }
  | { op: "duplicate"; which: number }
  | { op: "replace"; which: number; byte: number };

const structOp: fc.Arbitrary<StructOp> = fc.oneof(
  fc.record({ op: fc.constant("delete" as const), which: fc.nat() }),
  fc.record({ op: fc.constant("duplicate" as const), which: fc.nat() }),
  fc.record({ op: fc.constant("replace" as const), which: fc.nat(), byte: byteArb }),
);

/**
 * Framing mutations of `encoded`: delete, duplicate or replace one of its structural bytes (the
 * positions in `structural`: length digits or prefix, delimiters), or one of `lies` (the frame
 * re-encoded with a lying length, built by the model).
 */
export function mutateStructure(
  encoded: Uint8Array,
  structural: readonly number[],
  lies: fc.Arbitrary<BadFrame> | null,
): fc.Arbitrary<BadFrame> {
  const ops: fc.Arbitrary<BadFrame>[] = [];
  if (structural.length > 0) {
    ops.push(
      structOp.map((o): BadFrame => {
        const at = structural[o.which % structural.length] as number;
        const before = encoded.subarray(0, at);
        const after = encoded.subarray(at + 1);
        const b = encoded.subarray(at, at + 1);
        switch (o.op) {
          case "delete":
            return { bytes: concat([before, after]), kind: "deleted structural byte" };
          case "duplicate":
            return { bytes: concat([before, b, b, after]), kind: "duplicated structural byte" };
          default:
            return {
              bytes: concat([before, Uint8Array.of(o.byte), after]),
              kind: "changed structural byte",
            };
        }
      }),
    );
  }
  if (lies !== null) ops.push(lies);
  if (ops.length === 0) return fc.constant({ bytes: encoded, kind: "unchanged" });
  return fc.oneof(...ops);
}
