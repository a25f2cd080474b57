/**
 * fast-check arbitraries for AMP: box streams (valid and malformed) and values of every argument
 * type, for fuzzing the box codec, the argument types, or your own AMP peer.
 *
 * ```ts
 * import fc from "fast-check";
 * import { BoxDecoder } from "weft";
 * import { ampBoxStream, chunked } from "weft/testing";
 *
 * fc.assert(
 *   fc.property(
 *     ampBoxStream().chain((s) => chunked(s.bytes).map((chunks) => ({ ...s, chunks }))),
 *     ({ boxes, chunks }) => {
 *       // feed `chunks` to a BoxDecoder and compare what it delivers with `boxes`
 *     },
 *   ),
 * );
 * ```
 *
 * The wire bytes are built here by a small independent encoder (pairs in random order, not sorted),
 * so a test does not use the encoder under test as its oracle. Needs `fast-check`.
 */
import fc from "fast-check";
import {
  AmpDateTime,
  AmpDecimal,
  AmpList as AmpListArg,
  type Argument,
  Bool,
  Bytes,
  DateTime,
  Decimal,
  Float,
  Integer,
  ListOf,
  optional,
  Unicode,
} from "../protocols/amp/arguments.js";
import type { AmpBox } from "../protocols/amp/box.js";
import { concat } from "./bytes.js";

/** A box stream and the boxes it encodes. */
export interface AmpBoxStream {
  /** The boxes, in order (duplicate-free keys). */
  boxes: AmpBox[];
  /** Their wire encoding, concatenated (pairs of each box in arbitrary order). */
  bytes: Uint8Array;
}

/** Options of {@link ampBoxStream} and {@link ampBox}. */
export interface AmpBoxOptions {
  /** Most boxes in a stream. Default 5. */
  maxBoxes?: number;
  /** Most keys in a box. Default 6. */
  maxKeys?: number;
  /** Longest value in bytes (up to 65535). Default 64; an occasional value is this long. */
  maxValueLength?: number;
}

/**
 * A box key: 1..255 bytes as a latin1 string (one char per byte), mostly short ASCII names and
 * AMP's own keys, sometimes any bytes.
 */
export function ampKey(): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom("_ask", "_command", "_answer", "a", "b", "text") },
    { weight: 4, arbitrary: fc.stringMatching(/^[A-Za-z_-][A-Za-z0-9_-]{0,15}$/) },
    {
      weight: 2,
      arbitrary: fc
        .uint8Array({ minLength: 1, maxLength: 255 })
        .map((b) => String.fromCharCode(...b)),
    },
  );
}

/** A box value: 0..`maxLength` bytes (default 64), sometimes exactly `maxLength`. */
export function ampValue(maxLength = 64): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.uint8Array({ maxLength: Math.min(maxLength, 32) }) },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength }) },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 0, max: 255 }).map((b) => new Uint8Array(maxLength).fill(b)),
    },
  );
}

/** One box (a Map with distinct keys, possibly empty). */
export function ampBox(options: AmpBoxOptions = {}): fc.Arbitrary<AmpBox> {
  return fc
    .uniqueArray(fc.tuple(ampKey(), ampValue(options.maxValueLength ?? 64)), {
      maxLength: options.maxKeys ?? 6,
      selector: (e) => e[0],
    })
    .map((entries) => new Map(entries));
}

/** Wire bytes of the pairs in the given order (an independent encoder for tests). */
export function rawBoxBytes(pairs: Iterable<readonly [string, Uint8Array]>): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [k, v] of pairs) {
    const head = new Uint8Array(2 + k.length);
    head[1] = k.length;
    for (let i = 0; i < k.length; i++) head[2 + i] = k.charCodeAt(i);
    parts.push(head, new Uint8Array([v.length >> 8, v.length & 0xff]), v);
  }
  parts.push(new Uint8Array(2));
  return concat(parts);
}

/** A stream of valid boxes and its wire bytes, each box's pairs in a random order. */
export function ampBoxStream(options: AmpBoxOptions = {}): fc.Arbitrary<AmpBoxStream> {
  return fc
    .array(
      ampBox(options).chain((box) =>
        fc
          .shuffledSubarray([...box], { minLength: box.size, maxLength: box.size })
          .map((order) => [box, order] as const),
      ),
      { maxLength: options.maxBoxes ?? 5 },
    )
    .map((items) => ({
      boxes: items.map(([box]) => box),
      bytes: concat(items.map(([, order]) => rawBoxBytes(order))),
    }));
}

/** What is wrong with a {@link MalformedAmpBoxCase}. */
export type MalformedAmpBoxKind = "key-too-long" | "truncated";

/** Valid boxes, then a defect: what a decoder must deliver before its one error. */
export interface MalformedAmpBoxCase {
  /** What is wrong. */
  kind: MalformedAmpBoxKind;
  /** The boxes before the defect, which a decoder delivers first. */
  boxes: AmpBox[];
  /** The wire bytes: the valid boxes, then the defective one. */
  bytes: Uint8Array;
}

/**
 * Valid boxes followed by a defect: a key length prefix above 255 (first byte non-zero, ends in
 * `TooLong`) possibly after some pairs of an unfinished box, or the stream cut inside a box (ends in
 * `MalformedAmpBox` at end of input).
 */
export function malformedAmpBoxes(options: AmpBoxOptions = {}): fc.Arbitrary<MalformedAmpBoxCase> {
  const prefix = ampBoxStream(options);
  const tooLong = fc
    .tuple(
      prefix,
      ampBox({ ...options, maxKeys: 3 }),
      fc.integer({ min: 1, max: 255 }),
      fc.integer({ min: 0, max: 255 }),
      fc.uint8Array({ maxLength: 8 }),
    )
    .map(([s, partial, hi, lo, junk]): MalformedAmpBoxCase => {
      const pairs = rawBoxBytes(partial);
      return {
        kind: "key-too-long",
        boxes: s.boxes,
        bytes: concat([
          s.bytes,
          pairs.subarray(0, pairs.length - 2),
          new Uint8Array([hi, lo]),
          junk,
        ]),
      };
    });
  const truncated = fc.tuple(prefix, ampBox({ ...options, maxKeys: 4 })).chain(([s, box]) => {
    const whole = rawBoxBytes(box);
    return fc.integer({ min: 1, max: whole.length - 1 }).map(
      (cut): MalformedAmpBoxCase => ({
        kind: "truncated",
        boxes: s.boxes,
        bytes: concat([s.bytes, whole.subarray(0, cut)]),
      }),
    );
  });
  return fc.oneof(tooLong, truncated);
}

// ---------------------------------------------------------------------------------------------
// Argument values

/** Integers: small numbers, safe-range edges, and bigints of up to 120 digits. */
export function ampIntegerValue(): fc.Arbitrary<number | bigint> {
  return fc.oneof(
    fc.integer({ min: -1000, max: 1000 }),
    fc.maxSafeInteger(),
    fc.constantFrom(
      0,
      Number.MAX_SAFE_INTEGER,
      Number.MIN_SAFE_INTEGER,
      2n ** 53n,
      -(2n ** 53n),
      2n ** 64n,
      -(10n ** 115n),
    ),
    fc
      .bigInt({ min: -(10n ** 120n), max: 10n ** 120n })
      .filter((b) => b > BigInt(Number.MAX_SAFE_INTEGER) || b < BigInt(Number.MIN_SAFE_INTEGER)),
  );
}

/** Doubles, including -0, NaN, ±Infinity, subnormals and values around Python's 1e16 switch. */
export function ampFloatValue(): fc.Arbitrary<number> {
  return fc.oneof(
    fc.double(),
    fc.constantFrom(0.1, 1e16, 1e15, 9999999999999998, 1e-4, 1e-5, 5e-324, -0, Number.NaN),
    fc.integer().map((n) => n),
  );
}

/** Well-formed strings (no lone surrogates), including astral characters and U+FEFF. */
export function ampUnicodeValue(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ unit: "grapheme", maxLength: 20 }),
    fc.string({ unit: "binary", maxLength: 20 }),
    fc.constantFrom("", "☃", "\uFEFFbom", "wor\u1234ld", "\u{1F600}"),
  );
}

/** Decimal values in every form Python's `str(Decimal)` produces. */
export function ampDecimalValue(): fc.Arbitrary<AmpDecimal> {
  const digits = fc.stringMatching(/^[0-9]{1,30}$/);
  const finite = fc
    .tuple(fc.constantFrom("", "-"), digits, fc.integer({ min: -40, max: 40 }))
    .map(([s, d, e]) => new AmpDecimal(`${s}${d}E${e}`));
  const special = fc
    .constantFrom("NaN", "-NaN", "sNaN", "-sNaN", "NaN12", "Infinity", "-Infinity", "-0", "1.10")
    .map((t) => new AmpDecimal(t));
  return fc.oneof(finite, special);
}

/** Date-times over years 1..9999 with microseconds and offsets in -23:59..+23:59. */
export function ampDateTimeValue(): fc.Arbitrary<AmpDateTime> {
  return fc
    .record({
      year: fc.integer({ min: 1, max: 9999 }),
      month: fc.integer({ min: 1, max: 12 }),
      day: fc.integer({ min: 1, max: 28 }),
      hour: fc.integer({ min: 0, max: 23 }),
      minute: fc.integer({ min: 0, max: 59 }),
      second: fc.integer({ min: 0, max: 59 }),
      microsecond: fc.integer({ min: 0, max: 999999 }),
      offsetMinutes: fc.integer({ min: -1439, max: 1439 }),
    })
    .map((f) => new AmpDateTime(f));
}

/** An argument type paired with an arbitrary of its values (for encode/decode identity tests). */
export interface AmpArgumentCase<T = unknown> {
  /** The argument type under test. */
  argument: Argument<T>;
  /** Generates values the argument must encode and decode back unchanged. */
  values: fc.Arbitrary<T>;
}

function argCase<T>(argument: Argument<T>, values: fc.Arbitrary<T>): AmpArgumentCase {
  return { argument, values };
}

/**
 * One case per argument type: the simple ones, ListOf of each, an optional, and nested AmpLists.
 * Every value round-trips through `encode` then `decode` (compare Decimal/DateTime by `toString()`,
 * NaN with `Object.is`).
 */
export function ampArgumentCases(): AmpArgumentCase[] {
  const inner = AmpListArg({ x: Integer, note: optional(Unicode) });
  const innerValue = fc.record(
    { x: ampIntegerValue(), note: ampUnicodeValue() },
    { requiredKeys: ["x"] },
  );
  const outer = AmpListArg({ name: Bytes, items: inner, when: DateTime });
  return [
    argCase(Integer, ampIntegerValue()),
    argCase(Bytes, fc.uint8Array({ maxLength: 64 })),
    argCase(Unicode, ampUnicodeValue()),
    argCase(Bool, fc.boolean()),
    argCase(Float, ampFloatValue()),
    argCase(Decimal, ampDecimalValue()),
    argCase(DateTime, ampDateTimeValue()),
    argCase(ListOf(Integer), fc.array(ampIntegerValue(), { maxLength: 8 })),
    argCase(ListOf(Unicode), fc.array(ampUnicodeValue(), { maxLength: 8 })),
    argCase(ListOf(Bytes), fc.array(fc.uint8Array({ maxLength: 16 }), { maxLength: 8 })),
    argCase(ListOf(Float), fc.array(ampFloatValue(), { maxLength: 8 })),
    argCase(ListOf(Decimal), fc.array(ampDecimalValue(), { maxLength: 8 })),
    argCase(ListOf(DateTime), fc.array(ampDateTimeValue(), { maxLength: 4 })),
    argCase(ListOf(Bool), fc.array(fc.boolean(), { maxLength: 8 })),
    argCase(inner, fc.array(innerValue, { maxLength: 5 })),
    argCase(
      outer,
      fc.array(
        fc.record({
          name: fc.uint8Array({ maxLength: 8 }),
          items: fc.array(innerValue, { maxLength: 3 }),
          when: ampDateTimeValue(),
        }),
        { maxLength: 3 },
      ),
    ),
  ];
}
