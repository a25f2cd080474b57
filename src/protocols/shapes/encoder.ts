/**
 * The encoder of shaped frames, derived from the same {@link Shape} as the decoder: header fields,
 * the length value (inverse of `lengthCounts`/`adjust`), the payload and the trailer (computed when
 * the shape has a checksum). `maxLength` is not checked on send (as Twisted); what the length
 * field cannot announce throws {@link StringTooLongError}, a field value out of range
 * {@link InvalidArgumentError}.
 */
import { InvalidArgumentError } from "../../core/errors.js";
import { concatBytes, toBytes } from "../framing/bytes.js";
import { StringTooLongError } from "../receivers/index.js";
import {
  LEN_CUSTOM,
  LEN_FIXED,
  LEN_NONE,
  LEN_VARINT,
  type PlacedField,
  type Shape,
  writeUint,
} from "./shape.js";

/** What every encoder input has. */
export interface FrameInputBase {
  /** The payload; a string is UTF-8 encoded. */
  readonly payload: Uint8Array | string;
}

/** Bytes of the unsigned LEB128 encoding of `value`. */
export function varintBytes(value: number): number {
  let n = 1;
  let v = value;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** Writes the unsigned LEB128 encoding of `value` at `out[p]`; returns its width. */
export function writeVarint(out: Uint8Array, p: number, value: number): number {
  let v = value;
  let k = 0;
  while (v >= 128) {
    out[p + k++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  out[p + k++] = v;
  return k;
}

function writeFields(
  out: Uint8Array,
  base: number,
  fields: readonly PlacedField[],
  values: Readonly<Record<string, unknown>>,
  where: string,
): void {
  for (const f of fields) {
    const p = base + f.at;
    if (f.kind === "magic") {
      out.set(f.magic!, p);
      continue;
    }
    const v = f.name === null ? (f.kind === "bytes" ? new Uint8Array(f.size) : 0) : values[f.name];
    if (f.kind === "bytes") {
      if (!(v instanceof Uint8Array) || v.length !== f.size) {
        throw new InvalidArgumentError(`${where}: field ${f.name} must be ${f.size} bytes`);
      }
      out.set(v, p);
      continue;
    }
    const cap = 2 ** f.bits - 1;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > cap) {
      throw new InvalidArgumentError(
        `${where}: field ${f.name} must be an integer from 0 to ${cap}, got ${String(v)}`,
      );
    }
    if (f.kind === "uint") {
      writeUint(out, p, f.size, f.littleEndian, v);
    } else {
      // Bit fields of one group share bytes: OR each into place (the header starts zeroed).
      const group = f.size;
      let word = 0;
      for (let k = 0; k < group; k++) word = word * 256 + out[p + k]!;
      word += v * 2 ** f.shift;
      writeUint(out, p, group, false, word);
    }
  }
}

/** The length value and field width announcing a payload of `plen` bytes. */
function lengthValue(shape: Shape, plen: number): [number, number] {
  const base = plen - shape.delta;
  const f = shape.lengthWidthFactor;
  switch (shape.lengthKind) {
    case LEN_FIXED: {
      const w = shape.lengthBytes;
      return [base + f * w, w];
    }
    case LEN_VARINT: {
      for (let w = 1; w <= shape.lengthMaxBytes; w++) {
        if (varintBytes(Math.max(0, base + f * w)) === w) return [base + f * w, w];
      }
      return [Number.POSITIVE_INFINITY, shape.lengthMaxBytes];
    }
    default: {
      const codec = shape.custom!;
      if (f === 0) return [base, codec.write(Math.max(0, base)).length];
      for (let w = 1; w <= codec.maxBytes; w++) {
        if (codec.write(Math.max(0, base + w)).length === w) return [base + w, w];
      }
      return [Number.POSITIVE_INFINITY, codec.maxBytes];
    }
  }
}

/** Largest value a length field can hold. */
function lengthCapacity(shape: Shape, width: number): number {
  if (shape.lengthKind === LEN_FIXED) {
    return shape.lengthBytes === 8 ? Number.MAX_SAFE_INTEGER : 2 ** (8 * width) - 1;
  }
  if (shape.lengthKind === LEN_VARINT) {
    return Math.min(Number.MAX_SAFE_INTEGER, 128 ** shape.lengthMaxBytes - 1);
  }
  return Number.MAX_SAFE_INTEGER;
}

/**
 * The header of a frame of `shape` with these field values and a payload of `payloadLength`
 * bytes (without the trailer: see {@link encodeFrameParts}).
 */
export function encodeHeader<Fr extends object, In extends object>(
  shape: Shape<Fr, In>,
  fields: Omit<In, "payload">,
  payloadLength: number,
): Uint8Array {
  const where = `shape ${shape.name}`;
  if (shape.lengthKind === LEN_NONE) {
    if (payloadLength !== shape.fixedLength) {
      throw new InvalidArgumentError(
        `${where}: frames carry exactly ${shape.fixedLength} payload bytes, got ${payloadLength}`,
      );
    }
    return encodeRawHeader(shape, asRecord(fields), 0);
  }
  const [value, w] = lengthValue(shape, payloadLength);
  if (value < 0) {
    throw new InvalidArgumentError(
      `${where}: a payload of ${payloadLength} bytes gives length ${value}`,
    );
  }
  const cap = lengthCapacity(shape, w);
  if (value > cap) {
    throw new StringTooLongError(
      payloadLength,
      Math.max(0, cap + shape.delta - shape.lengthWidthFactor * w),
    );
  }
  return encodeRawHeader(shape, asRecord(fields), value);
}

/** Field values by name (the encoder checks every value it reads). */
function asRecord(fields: object): Readonly<Record<string, unknown>> {
  return fields as Readonly<Record<string, unknown>>;
}

/**
 * @internal A header whose length field holds `value` as given, whatever payload follows: for
 * generating malformed input (weft/testing). `value` must fit a fixed-width field.
 */
export function encodeRawHeader(
  shape: Shape,
  values: Readonly<Record<string, unknown>>,
  value: number,
): Uint8Array {
  const where = `shape ${shape.name}`;
  let lenBytes: Uint8Array = new Uint8Array(0);
  if (shape.lengthKind === LEN_FIXED) {
    lenBytes = new Uint8Array(shape.lengthBytes);
    writeUint(lenBytes, 0, shape.lengthBytes, shape.lengthLittleEndian, value);
  } else if (shape.lengthKind === LEN_VARINT) {
    lenBytes = new Uint8Array(varintBytes(value));
    writeVarint(lenBytes, 0, value);
  } else if (shape.lengthKind === LEN_CUSTOM) {
    lenBytes = shape.custom!.write(value);
  }
  const b = shape.beforeBytes;
  const w = lenBytes.length;
  const out = new Uint8Array(b + w + shape.afterBytes);
  writeFields(out, 0, shape.beforeFields, values, where);
  out.set(lenBytes, b);
  writeFields(out, b + w, shape.afterFields, values, where);
  return out;
}

/**
 * A frame as pieces to write one after another: header, payload (the caller's bytes, not copied)
 * and, when the shape has one, the trailer.
 */
export function encodeFrameParts<Fr extends object, In extends object>(
  shape: Shape<Fr, In>,
  frame: In & FrameInputBase,
): Uint8Array[] {
  const payload = toBytes(frame.payload);
  const header = encodeHeader(shape, frame, payload.length);
  const t = shape.trailer;
  if (t === null) return [header, payload];
  let tv: unknown;
  if (t.compute !== undefined) {
    const covered = t.covers === "frame" ? concat2(header, payload) : payload;
    tv = t.compute(covered) >>> 0;
    if (t.bytes < 4) tv = (tv as number) & ((1 << (8 * t.bytes)) - 1);
  } else {
    tv = asRecord(frame)[t.name];
  }
  const cap = 2 ** (8 * t.bytes) - 1;
  if (typeof tv !== "number" || !Number.isInteger(tv) || tv < 0 || tv > cap) {
    throw new InvalidArgumentError(`shape ${shape.name}: trailer ${t.name} must be 0 to ${cap}`);
  }
  const trailer = new Uint8Array(t.bytes);
  writeUint(trailer, 0, t.bytes, t.endian === "little", tv);
  return [header, payload, trailer];
}

function concat2(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** The wire bytes of one frame, in one new buffer. */
export function encodeFrame<Fr extends object, In extends object>(
  shape: Shape<Fr, In>,
  frame: In & FrameInputBase,
): Uint8Array {
  return concatBytes(encodeFrameParts(shape, frame));
}
