/**
 * fast-check arbitraries derived from a declared frame shape: valid frames and streams, and
 * malformed streams that each end in exactly one typed error, so a protocol's author fuzzes their
 * own shape without writing generators (and `weft fuzz` can drive a live server with them).
 *
 * ```ts
 * const kv = defineShape({ before: [uint("op")], length: 2 });
 * fc.assert(fc.property(shapedStream(kv), ({ frames, bytes }) => { … }));
 * fc.assert(fc.property(malformedShapedStream(kv), ({ bytes, kind }) => { … }));
 * ```
 */
import fc from "fast-check";
import { crc32Trailer } from "../protocols/shapes/crc32.js";
import { encodeFrame, encodeRawHeader, varintBytes } from "../protocols/shapes/encoder.js";
import type { ShapeErrorKind } from "../protocols/shapes/errors.js";
import {
  bits,
  type Field,
  type FrameInput,
  LEN_FIXED,
  LEN_NONE,
  LEN_VARINT,
  magic,
  type PlacedField,
  type Shape,
  type ShapeSpec,
  uint,
} from "../protocols/shapes/shape.js";
import { concat } from "./bytes.js";

/** A stream of frames of one shape: the frames given to the encoder and their wire bytes. */
export interface ShapedStream<Fr extends object> {
  /** The frames, as the encoder takes them. */
  frames: FrameInput<Fr>[];
  /** Their wire bytes, back to back. */
  bytes: Uint8Array;
}

/** A stream that must end in one error: `valid` whole frames first, then the bad bytes. */
export interface MalformedShapedStream<Fr extends object> {
  /** The frames that precede the fault (delivered before the error). */
  valid: FrameInput<Fr>[];
  /** The whole stream. */
  bytes: Uint8Array;
  /** The error kind a decoder must report (`end()` included, for `"truncated"`). */
  kind: ShapeErrorKind;
}

function fieldValue(f: PlacedField): fc.Arbitrary<number | Uint8Array> {
  if (f.kind === "bytes") return fc.uint8Array({ minLength: f.size, maxLength: f.size });
  return fc.integer({ min: 0, max: 2 ** f.bits - 1 });
}

/** Values for every named field of `shape` (a checksum trailer is left to the encoder). */
function fieldValues(shape: Shape): fc.Arbitrary<Record<string, unknown>> {
  const rec: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of [...shape.beforeFields, ...shape.afterFields]) {
    if (f.name !== null) rec[f.name] = fieldValue(f);
  }
  const t = shape.trailer;
  if (t !== null && t.compute === undefined) {
    rec[t.name] = fc.integer({ min: 0, max: 2 ** (8 * t.bytes) - 1 });
  }
  return fc.record(rec);
}

/** Payload lengths a shape accepts, up to `maxPayload`. */
function payloadArb(shape: Shape, maxPayload: number): fc.Arbitrary<Uint8Array> {
  if (shape.lengthKind === LEN_NONE) {
    return fc.uint8Array({ minLength: shape.fixedLength, maxLength: shape.fixedLength });
  }
  return fc.uint8Array({ maxLength: Math.min(shape.maxLength, maxPayload) });
}

/** One valid frame of `shape`, as the encoder takes it. */
export function shapedFrame<Fr extends object>(
  shape: Shape<Fr>,
  options: { maxPayload?: number } = {},
): fc.Arbitrary<FrameInput<Fr>> {
  const maxPayload = options.maxPayload ?? 300;
  return fc
    .tuple(fieldValues(shape), payloadArb(shape, maxPayload))
    .map(([values, payload]) => toInput<Fr>(values, payload));
}

/** Builds an encoder input from field values and a payload (checked by the encoder). */
function toInput<Fr extends object>(
  values: Record<string, unknown>,
  payload: Uint8Array,
): FrameInput<Fr> {
  const out: Record<string, unknown> = { ...values, payload };
  return out as FrameInput<Fr>;
}

/** Up to `maxFrames` (default 8) valid frames of `shape` and their wire bytes. */
export function shapedStream<Fr extends object>(
  shape: Shape<Fr>,
  options: { maxFrames?: number; maxPayload?: number } = {},
): fc.Arbitrary<ShapedStream<Fr>> {
  return fc
    .array(shapedFrame(shape, options), { maxLength: options.maxFrames ?? 8 })
    .map((frames) => ({ frames, bytes: concat(frames.map((f) => encodeFrame(shape, f))) }));
}

/** The error kinds {@link malformedShapedStream} can produce for `shape`. */
export function malformedKinds(shape: Shape): ShapeErrorKind[] {
  const kinds: ShapeErrorKind[] = [];
  const body = shape.lengthKind === LEN_NONE ? shape.fixedLength : shape.maxLength;
  // A truncation needs a frame of two bytes or more: either a payload byte is allowed, or the
  // fixed parts (fields, the narrowest length field, trailer) are two bytes already.
  const fixedParts = shape.beforeBytes + shape.afterBytes + shape.trailerBytes + minWidth(shape);
  if (shape.maxHeaderBytes + body + shape.trailerBytes >= 2 && (body >= 1 || fixedParts >= 2)) {
    kinds.push("truncated");
  }
  if (tooLongValue(shape) !== null) kinds.push("length too long");
  if (
    shape.lengthKind !== LEN_NONE &&
    shape.delta - shape.lengthWidthFactor * minWidth(shape) < 0
  ) {
    kinds.push("length too short");
  }
  if (shape.lengthKind === LEN_VARINT) kinds.push("overlong varint");
  if ([...shape.beforeFields, ...shape.afterFields].some((f) => f.magic !== null)) {
    kinds.push("bad magic");
  }
  if (shape.trailer?.compute !== undefined) kinds.push("bad checksum");
  return kinds;
}

function minWidth(shape: Shape): number {
  return shape.lengthKind === LEN_FIXED ? shape.lengthBytes : 1;
}

/** A length value announcing `maxLength + 1` payload bytes, if the length field can hold it. */
function tooLongValue(shape: Shape): number | null {
  if (shape.lengthKind === LEN_FIXED) {
    const w = shape.lengthBytes;
    const value = shape.maxLength + 1 - shape.delta + shape.lengthWidthFactor * w;
    const cap = w === 8 ? Number.MAX_SAFE_INTEGER : 2 ** (8 * w) - 1;
    return value >= 0 && value <= cap ? value : null;
  }
  if (shape.lengthKind === LEN_VARINT) {
    for (let w = 1; w <= shape.lengthMaxBytes; w++) {
      const value = shape.maxLength + 1 - shape.delta + shape.lengthWidthFactor * w;
      if (value >= 0 && value <= Number.MAX_SAFE_INTEGER && varintBytes(value) === w) return value;
    }
  }
  return null;
}

/** The bad bytes of one malformed frame of `kind`, given valid field values and a payload. */
function badFrame(
  shape: Shape,
  kind: ShapeErrorKind,
  values: Record<string, unknown>,
  payload: Uint8Array,
  cut: number,
): Uint8Array {
  let good = encodeFrame(shape, toInput(values, payload));
  switch (kind) {
    case "truncated":
      // A one-byte frame: give it a payload byte when the limit allows (malformedKinds only
      // offers "truncated" for a one-byte minimum frame when it does).
      if (good.length < 2 && shape.maxLength >= 1)
        good = encodeFrame(shape, toInput(values, new Uint8Array(1)));
      // At least one byte, at most all but the last.
      return good.subarray(0, 1 + (cut % Math.max(1, good.length - 1)));
    case "length too long":
      // Only the header: the decoder must fail before any payload byte arrives.
      return encodeRawHeader(shape, values, tooLongValue(shape)!);
    case "length too short":
      return concat([encodeRawHeader(shape, values, 0), payload]);
    case "overlong varint": {
      const head = good.subarray(0, shape.beforeBytes);
      const n = shape.lengthMaxBytes;
      const padded = shape.varintMinimal && cut % 2 === 0;
      // Either more continuation bytes than allowed, or a padded (non-minimal) zero.
      const len = padded ? Uint8Array.of(0x80, 0x00) : new Uint8Array(n).fill(0x80);
      return concat([head, len]);
    }
    case "bad magic": {
      const out = good.slice();
      const fields = [...shape.beforeFields, ...shape.afterFields];
      const f = fields.find((x) => x.magic !== null)!;
      const inBefore = shape.beforeFields.includes(f);
      const at = inBefore
        ? f.at
        : good.length - payload.length - shape.trailerBytes - shape.afterBytes + f.at;
      out[at + (cut % f.size)]! ^= 0x01;
      return out;
    }
    case "bad checksum": {
      const out = good.slice();
      out[out.length - 1 - (cut % shape.trailerBytes)]! ^= 1 << (cut % 8);
      return out;
    }
    default:
      throw new Error(`malformedShapedStream: cannot make ${kind}`);
  }
}

/**
 * Valid frames followed by one malformed frame of a kind `shape` allows (see
 * {@link malformedKinds}); a decoder must deliver the valid frames, then report exactly one error
 * of `kind` (after `end()` for `"truncated"`) and nothing more, whatever the chunking.
 */
export function malformedShapedStream<Fr extends object>(
  shape: Shape<Fr>,
  options: { maxFrames?: number; maxPayload?: number; kinds?: readonly ShapeErrorKind[] } = {},
): fc.Arbitrary<MalformedShapedStream<Fr>> {
  const kinds = options.kinds ?? malformedKinds(shape);
  return fc
    .record({
      prefix: shapedStream(shape, {
        maxFrames: options.maxFrames ?? 3,
        maxPayload: options.maxPayload ?? 300,
      }),
      kind: fc.constantFrom(...kinds),
      values: fieldValues(shape),
      payload: payloadArb(shape, options.maxPayload ?? 300),
      cut: fc.nat(),
      trailing: fc.uint8Array({ maxLength: 16 }),
    })
    .map(({ prefix, kind, values, payload, cut, trailing }) => {
      const bad = badFrame(shape, kind, values, payload, cut);
      // Bytes after the fault must be ignored (nothing after a truncation, by definition).
      const tail = kind === "truncated" ? [] : [trailing];
      return { valid: prefix.frames, bytes: concat([prefix.bytes, bad, ...tail]), kind };
    });
}

const widths = [1, 2, 3, 4] as const;

function fieldArb(name: string): fc.Arbitrary<Field[]> {
  const one = fc
    .tuple(fc.constantFrom(...widths), fc.constantFrom<"big" | "little">("big", "little"))
    .map(([w, e]): Field[] => [uint(name, w, e)]);
  const nibbles: Field[] = [bits(`${name}a`, 4), bits(`${name}b`, 4)];
  const flagged: Field[] = [bits("_", 1), bits(name, 15)];
  const constant: Field[] = [magic([0xca, 0xfe])];
  return fc.oneof(one, fc.constant(nibbles), fc.constant(flagged), fc.constant(constant));
}

/**
 * Random shape declarations (for testing decoders of any shape): fields before and after the
 * length, every length kind, every `lengthCounts`, negative adjustments, strips, trailers and
 * limits up to 200 bytes. Every declaration it makes is valid and every payload up to
 * `maxLength` is encodable.
 */
export function shapeSpecs(): fc.Arbitrary<ShapeSpec> {
  const fieldList = (prefix: string): fc.Arbitrary<Field[]> =>
    fc
      .integer({ min: 0, max: 2 })
      .chain((count) =>
        count === 0
          ? fc.constant<Field[][]>([])
          : fc.tuple(...Array.from({ length: count }, (_, i) => fieldArb(`${prefix}${i}`))),
      )
      .map((groups: Field[][]) => groups.flat());
  return fc
    .record({
      before: fieldList("b"),
      after: fieldList("a"),
      length: fc.constantFrom<ShapeSpec["length"]>(
        1,
        2,
        3,
        4,
        8,
        { bytes: 2, endian: "little" },
        { bytes: 4, endian: "little" },
        "varint",
        { varint: { maxBytes: 2 } },
        { fixed: 3 },
      ),
      lengthCounts: fc.constantFrom(
        "rest" as const,
        "payload" as const,
        "length+rest" as const,
        "frame" as const,
      ),
      adjust: fc.integer({ min: -3, max: 0 }),
      strip: fc.option(fc.nat({ max: 8 }), { nil: undefined }),
      trailer: fc.constantFrom<ShapeSpec["trailer"]>(undefined, crc32Trailer("crc"), {
        name: "t",
        bytes: 2,
      }),
      maxLength: fc.integer({ min: 0, max: 200 }),
    })
    .map((r) => {
      const fixed = typeof r.length === "object" && "fixed" in r.length;
      const variable =
        r.length === "varint" || (typeof r.length === "object" && "varint" in r.length);
      const beforeBytes = r.before.reduce((s, f) => s + fieldBytes(f), 0);
      const afterBytes = r.after.reduce((s, f) => s + fieldBytes(f), 0);
      const lenBytes = typeof r.length === "number" ? r.length : fixed || variable ? 0 : 2;
      const lenW = typeof r.length === "object" && "bytes" in r.length ? r.length.bytes : lenBytes;
      const headerMax = variable ? beforeBytes : beforeBytes + lenW + afterBytes;
      const spec: ShapeSpec = {
        name: "random",
        before: r.before,
        length: r.length,
        after: r.after,
        ...(fixed ? {} : { lengthCounts: r.lengthCounts, adjust: r.adjust }),
        ...(r.strip !== undefined ? { strip: Math.min(r.strip, headerMax) } : {}),
        ...(r.trailer !== undefined ? { trailer: r.trailer } : {}),
        maxLength: fixed ? Math.max(3, r.maxLength) : r.maxLength,
      };
      return spec;
    });
}

function fieldBytes(f: Field): number {
  switch (f.kind) {
    case "uint":
      return f.bytes;
    case "bits":
      return f.bits / 8;
    case "bytes":
      return f.bytes;
    default:
      return f.value.length;
  }
}
