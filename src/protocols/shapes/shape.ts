/**
 * The declarative frame shape: what comes before the length field, the length field itself, what
 * comes between it and the payload, what the length counts, what to strip, an optional trailer
 * (a checksum checked before delivery) and the limit. {@link defineShape} checks a declaration
 * once and compiles it into a {@link Shape}, which the decoder, the encoder, the receiver and the
 * test arbitraries all read: one description of the grammar, every consumer derived from it.
 *
 * The model is Netty's `LengthFieldBasedFrameDecoder` (length field offset = the bytes of
 * `before`, length field size and byte order, `lengthAdjustment` = `adjust`, `initialBytesToStrip`
 * = `strip`, fail-fast limit), extended with named header fields, varint and custom lengths,
 * fixed-size frames, trailers and a discard mode that skips a too-long frame without buffering it.
 */
import { InvalidArgumentError } from "../../core/errors.js";
import { checkMaxLength } from "../framing/limits.js";

/** Byte order of a multi-byte integer. */
export type Endian = "big" | "little";

/** An unsigned integer header field of 1 to 4 whole bytes. Delivered as a number. */
export interface UintField<N extends string = string> {
  /** Discriminant. */
  readonly kind: "uint";
  /** The name the value is delivered under (`"_"`: read, not delivered). */
  readonly name: N;
  /** Width in bytes. */
  readonly bytes: 1 | 2 | 3 | 4;
  /** Byte order. */
  readonly endian: Endian;
}

/**
 * An unsigned integer of `bits` bits, most significant bit first. Consecutive bit fields share
 * bytes (MQTT's type and flags nibbles, HTTP/2's reserved bit and 31-bit stream id) and must add
 * up to 8, 16, 24 or 32 bits. A field named `"_"` is read (and written as 0) but not delivered.
 */
export interface BitsField<N extends string = string> {
  /** Discriminant. */
  readonly kind: "bits";
  /** The name the value is delivered under (`"_"`: read, written as 0, not delivered). */
  readonly name: N;
  /** Width in bits (1 to 32). */
  readonly bits: number;
}

/** Opaque header bytes, delivered as a view (valid during the delivery, like the payload). */
export interface BytesField<N extends string = string> {
  /** Discriminant. */
  readonly kind: "bytes";
  /** The name the view is delivered under. */
  readonly name: N;
  /** How many bytes. */
  readonly bytes: number;
}

/** Constant header bytes (a magic number or version): checked, not delivered. */
export interface MagicField {
  /** Discriminant. */
  readonly kind: "magic";
  /** The bytes that must be present. */
  readonly value: Uint8Array;
}

/** One header field. Build them with {@link uint}, {@link bits}, {@link bytes}, {@link magic}. */
export type Field = UintField | BitsField | BytesField | MagicField;

/** An unsigned integer field of `bytes` bytes (default 1), big-endian unless told. */
export function uint<const N extends string>(
  name: N,
  bytes: 1 | 2 | 3 | 4 = 1,
  endian: Endian = "big",
): UintField<N> {
  return { kind: "uint", name, bytes, endian };
}

/** An unsigned integer field of `count` bits (see {@link BitsField}). */
export function bits<const N extends string>(name: N, count: number): BitsField<N> {
  return { kind: "bits", name, bits: count };
}

/** A field of `count` opaque bytes, delivered as a view. */
export function bytes<const N extends string>(name: N, count: number): BytesField<N> {
  return { kind: "bytes", name, bytes: count };
}

/** Constant bytes that must be present (a string is taken as latin1). */
export function magic(value: Uint8Array | readonly number[] | string): MagicField {
  const v =
    typeof value === "string"
      ? Uint8Array.from(value, (ch) => ch.charCodeAt(0) & 0xff)
      : Uint8Array.from(value);
  return { kind: "magic", value: v };
}

/**
 * A length encoding of your own (Netty's overridable `getUnadjustedFrameLength`). `read` looks at
 * `bytes[start..end)` (what has arrived of the field, at most `maxBytes`) and returns
 * `[value, width]`, or `undefined` when it needs more bytes; anything it throws is reported as a
 * framing error of kind `"bad length"`. `write` encodes a value (the encoder's side).
 */
export interface LengthCodec {
  /** The widest encoding `read` may need, in bytes. */
  readonly maxBytes: number;
  /** Decodes `[value, width]` from `bytes[start..end)`, or `undefined` when more bytes are needed. */
  read(bytes: Uint8Array, start: number, end: number): readonly [number, number] | undefined;
  /** Encodes `value` as the length field's bytes. */
  write(value: number): Uint8Array;
}

/**
 * The length field: 1, 2, 3, 4 or 8 unsigned bytes (big-endian unless told), an unsigned LEB128
 * varint (`maxBytes` default 10; `minimal` default true rejects padded encodings), no field at all
 * (`fixed`: every payload has that many bytes), or a {@link LengthCodec}.
 */
export type LengthSpec =
  | 1
  | 2
  | 3
  | 4
  | 8
  | {
      /** Width in bytes. */
      readonly bytes: 1 | 2 | 3 | 4 | 8;
      /** Byte order; default `"big"`. */
      readonly endian?: Endian;
    }
  | "varint"
  | {
      /** An unsigned LEB128 varint. */
      readonly varint: {
        /** Longest encoding accepted, in bytes; default 10. */
        readonly maxBytes?: number;
        /** Reject padded (non-minimal) encodings; default true. */
        readonly minimal?: boolean;
      };
    }
  | {
      /** No length field: every payload has this many bytes. */
      readonly fixed: number;
    }
  | {
      /** A length encoding of your own. */
      readonly custom: LengthCodec;
    };

/** What the length value counts (Netty's `lengthAdjustment`, named). */
export type LengthCounts =
  /** Every byte after the length field: `after` fields, payload, trailer (Netty's default). */
  | "rest"
  /** The payload only. */
  | "payload"
  /** The length field itself and every byte after it (PostgreSQL). */
  | "length+rest"
  /** The whole frame from its first byte. */
  | "frame";

/**
 * A trailer after the payload: an unsigned integer, delivered under `name`; with `compute`, the
 * decoder checks it against `compute(covered)` before delivery (kind `"bad checksum"`) and the
 * encoder writes it. `covers`: the payload (default) or the whole frame before the trailer.
 */
export interface TrailerSpec<N extends string = string> {
  /** The name the trailer value is delivered under. */
  readonly name: N;
  /** Width in bytes. */
  readonly bytes: 1 | 2 | 4;
  /** Byte order; default `"big"`. */
  readonly endian?: Endian;
  /** Computes the expected trailer (a checksum) from the covered bytes. */
  readonly compute?: (covered: Uint8Array) => number;
  /** What `compute` covers: `"payload"` (default) or `"frame"` (every byte before the trailer). */
  readonly covers?: "payload" | "frame";
}

/** The declaration {@link defineShape} takes. Every option has its default beside it. */
export interface ShapeSpec {
  /** Name used in errors. Default `"frame"`. */
  readonly name?: string;
  /** Fields before the length field (Netty's `lengthFieldOffset` is their byte count). Default none. */
  readonly before?: readonly Field[];
  /** The length field. */
  readonly length: LengthSpec;
  /** Fields between the length field and the payload. Default none. */
  readonly after?: readonly Field[];
  /** What the length value counts. Default `"rest"`. */
  readonly lengthCounts?: LengthCounts;
  /** Added to the length value, after `lengthCounts` (Netty's `lengthAdjustment`). Default 0. */
  readonly adjust?: number;
  /**
   * Bytes cut from the start of the frame before delivery (Netty's `initialBytesToStrip`): the
   * delivered `payload` starts there. Default: the whole header (`payload` is the body). At most the
   * header's length (with a varint or custom length, at most the bytes of `before`).
   */
  readonly strip?: number;
  /** A trailer after the payload. Default none. */
  readonly trailer?: TrailerSpec;
  /** Largest accepted payload in bytes, checked as soon as the length is known. Default 99999. */
  readonly maxLength?: number;
  /**
   * A too-long frame: `"fail"` (default) reports it as the one error of the stream; `"discard"`
   * skips its bytes without buffering them, reports it to the sink's `onDiscard` and carries on
   * (Netty's discard mode).
   */
  readonly tooLong?: "fail" | "discard";
}

/** The name a field is delivered under, or `never` (magic fields, `"_"`). Type-level helper, not exported. */
type Named<F> = F extends UintField<infer N> | BitsField<infer N> | BytesField<infer N>
  ? N extends "_"
    ? never
    : N
  : never;
/** The delivered value type of a field: a view for `bytes`, else a number. Type-level helper. */
type ValueOf<F> = F extends BytesField ? Uint8Array : number;
/** The delivered values of a list of fields. */
export type FieldValues<T extends readonly Field[]> = {
  [F in T[number] as Named<F>]: ValueOf<F>;
};
/** `{ [name]: number }` for a trailer, else nothing. Type-level helper. */
type TrailerValue<T> = T extends TrailerSpec<infer N> ? { [K in N]: number } : unknown;
/** Merges an intersection into one object type (for readable hovers). Type-level helper. */
type Flatten<T> = { [K in keyof T]: T[K] } & {};

/** The frame a declaration delivers: its named fields and `payload`. */
export type FrameOf<S extends ShapeSpec> = Flatten<
  FieldValues<S["before"] extends readonly Field[] ? S["before"] : []> &
    FieldValues<S["after"] extends readonly Field[] ? S["after"] : []> &
    TrailerValue<S["trailer"]> & {
      /** The payload (a view valid during the delivery). */
      payload: Uint8Array;
    }
>;

/** What the encoder takes for a frame of a generic shape: its fields and the payload. */
export type FrameInput<Fr> = {
  [K in keyof Fr as K extends "payload" ? never : K]: Fr[K];
} & {
  /** The payload; a string is UTF-8 encoded. */
  payload: Uint8Array | string;
};

/** `{ [name]?: number }` for a trailer (required at run time unless the trailer has `compute`), else nothing. Type-level helper. */
type TrailerInput<T> = T extends TrailerSpec<infer N> ? { [K in N]?: number } : unknown;

/**
 * What the encoder takes for a frame of a declaration: the named fields, the payload (a string is
 * UTF-8 encoded) and, optionally, the trailer (computed when the trailer has `compute`).
 */
export type InputOf<S extends ShapeSpec> = Flatten<
  FieldValues<S["before"] extends readonly Field[] ? S["before"] : []> &
    FieldValues<S["after"] extends readonly Field[] ? S["after"] : []> &
    TrailerInput<S["trailer"]> & {
      /** The payload; a string is UTF-8 encoded. */
      payload: Uint8Array | string;
    }
>;

/** Length field kinds of a compiled shape. */
export const LEN_FIXED = 0;
export const LEN_VARINT = 1;
export const LEN_CUSTOM = 2;
export const LEN_NONE = 3;

/** One header field, placed: `at` is its byte offset within its group (before or after). */
export interface PlacedField {
  readonly kind: "uint" | "bits" | "bytes" | "magic";
  /** Delivered name, or `null` (magic, `"_"`). */
  readonly name: string | null;
  readonly at: number;
  /** Bytes read (for bits: the bytes of the whole group). */
  readonly size: number;
  readonly littleEndian: boolean;
  readonly shift: number;
  readonly bits: number;
  readonly magic: Uint8Array | null;
}

/** Reads the unsigned integer of `size` (1–4) bytes at `c[p]`. */
export function readUint(c: Uint8Array, p: number, size: number, le: boolean): number {
  switch (size) {
    case 1:
      return c[p]!;
    case 2:
      return le ? c[p]! | (c[p + 1]! << 8) : (c[p]! << 8) | c[p + 1]!;
    case 3:
      return le
        ? c[p]! | (c[p + 1]! << 8) | (c[p + 2]! << 16)
        : (c[p]! << 16) | (c[p + 1]! << 8) | c[p + 2]!;
    default:
      return le
        ? (c[p]! | (c[p + 1]! << 8) | (c[p + 2]! << 16) | (c[p + 3]! << 24)) >>> 0
        : ((c[p]! << 24) | (c[p + 1]! << 16) | (c[p + 2]! << 8) | c[p + 3]!) >>> 0;
  }
}

/** Writes `value` as an unsigned integer of `size` bytes at `out[p]`. */
export function writeUint(out: Uint8Array, p: number, size: number, le: boolean, value: number) {
  let v = value;
  for (let k = 0; k < size; k++) {
    out[le ? p + k : p + size - 1 - k] = v % 256;
    v = Math.floor(v / 256);
  }
}

/** Reads a placed field's value at `c[base + f.at]`. */
export function readField(c: Uint8Array, base: number, f: PlacedField): number | Uint8Array {
  const p = base + f.at;
  if (f.kind === "bytes") return new Uint8Array(c.buffer, c.byteOffset + p, f.size);
  const v = readUint(c, p, f.size, f.littleEndian);
  if (f.kind === "uint" || f.bits === 32) return v;
  return (v >>> f.shift) & ((1 << f.bits) - 1);
}

const NAME_RE = /^[A-Za-z_$][\w$]*$/;

function place(fields: readonly Field[], where: string, names: Set<string>): PlacedField[] {
  const out: PlacedField[] = [];
  let at = 0;
  let group: BitsField[] = [];
  const closeGroup = () => {
    if (group.length === 0) return;
    const total = group.reduce((s, f) => s + f.bits, 0);
    if (total % 8 !== 0 || total > 32) {
      throw new InvalidArgumentError(
        `${where}: consecutive bit fields ${group.map((f) => f.name).join(", ")} add up to ${total} bits; they must fill 1 to 4 whole bytes`,
      );
    }
    let shift = total;
    for (const f of group) {
      shift -= f.bits;
      out.push({
        kind: "bits",
        name: f.name === "_" ? null : f.name,
        at,
        size: total / 8,
        littleEndian: false,
        shift,
        bits: f.bits,
        magic: null,
      });
    }
    at += total / 8;
    group = [];
  };
  for (const f of fields) {
    if (f.kind !== "magic" && f.name !== "_") {
      if (!NAME_RE.test(f.name) || f.name === "payload" || f.name === "__proto__") {
        throw new InvalidArgumentError(`${where}: invalid field name ${JSON.stringify(f.name)}`);
      }
      if (names.has(f.name)) {
        throw new InvalidArgumentError(
          `${where}: field name ${JSON.stringify(f.name)} is used twice`,
        );
      }
      names.add(f.name);
    }
    if (f.kind === "bits") {
      if (!Number.isInteger(f.bits) || f.bits < 1 || f.bits > 32) {
        throw new InvalidArgumentError(`${where}: bit field ${f.name} must have 1 to 32 bits`);
      }
      group.push(f);
      continue;
    }
    closeGroup();
    if (f.kind === "uint") {
      if (![1, 2, 3, 4].includes(f.bytes)) {
        throw new InvalidArgumentError(`${where}: uint field ${f.name} must have 1 to 4 bytes`);
      }
      out.push({
        kind: "uint",
        name: f.name === "_" ? null : f.name,
        at,
        size: f.bytes,
        littleEndian: f.endian === "little",
        shift: 0,
        bits: f.bytes * 8,
        magic: null,
      });
      at += f.bytes;
    } else if (f.kind === "bytes") {
      if (!Number.isInteger(f.bytes) || f.bytes < 1 || f.bytes > 64) {
        throw new InvalidArgumentError(`${where}: bytes field ${f.name} must have 1 to 64 bytes`);
      }
      out.push({
        kind: "bytes",
        name: f.name === "_" ? null : f.name,
        at,
        size: f.bytes,
        littleEndian: false,
        shift: 0,
        bits: 0,
        magic: null,
      });
      at += f.bytes;
    } else {
      if (f.value.length < 1 || f.value.length > 64) {
        throw new InvalidArgumentError(`${where}: magic must have 1 to 64 bytes`);
      }
      out.push({
        kind: "magic",
        name: null,
        at,
        size: f.value.length,
        littleEndian: false,
        shift: 0,
        bits: 0,
        magic: f.value,
      });
      at += f.value.length;
    }
  }
  closeGroup();
  return out;
}

function widthOf(fields: readonly PlacedField[]): number {
  let w = 0;
  for (const f of fields) w = Math.max(w, f.at + f.size);
  return w;
}

/**
 * A compiled, validated frame shape. Immutable: {@link Shape.withLimit} makes a copy with another
 * `maxLength`. `Fr` is the type of the frames it delivers.
 */
export class Shape<Fr extends object = object, In extends object = object> {
  /** @internal Carries the frame type; never set. */
  declare readonly __frame?: Fr;
  /** @internal Carries the encoder-input type; never set. */
  declare readonly __input?: In;
  /** The declaration this shape was compiled from. */
  readonly spec: ShapeSpec;
  /** The name used in errors (`spec.name`, default `"frame"`). */
  readonly name: string;
  /** Bytes of the fields before the length field (Netty's `lengthFieldOffset`). */
  readonly beforeBytes: number;
  /** Bytes of the fields between the length field and the payload. */
  readonly afterBytes: number;
  /** @internal One of the `LEN_*` kinds. */
  readonly lengthKind: number;
  /** Width of a fixed-width length field (0 otherwise). */
  readonly lengthBytes: number;
  /** @internal Byte order of a fixed-width length field. */
  readonly lengthLittleEndian: boolean;
  /** Longest length field (its width when fixed, `maxBytes` for varint and custom, 0 for none). */
  readonly lengthMaxBytes: number;
  /** @internal Whether padded varints are rejected. */
  readonly varintMinimal: boolean;
  /** @internal The custom length codec, if any. */
  readonly custom: LengthCodec | null;
  /** The payload length of a `fixed` shape. */
  readonly fixedLength: number;
  /** @internal The `before` fields, placed. */
  readonly beforeFields: readonly PlacedField[];
  /** @internal The `after` fields, placed. */
  readonly afterFields: readonly PlacedField[];
  /** Payload length = length value + `delta` − `lengthWidthFactor` × (width of the length field). */
  readonly delta: number;
  /** @internal See `delta`. */
  readonly lengthWidthFactor: 0 | 1;
  /** Bytes stripped, or −1 for "the whole header". */
  readonly strip: number;
  /** The trailer declaration, or `null`. */
  readonly trailer: TrailerSpec | null;
  /** Width of the trailer in bytes (0 without one). */
  readonly trailerBytes: number;
  /** Largest accepted payload in bytes (`spec.maxLength`, default 99999). */
  readonly maxLength: number;
  /** True when a too-long frame is skipped (`tooLong: "discard"`) instead of failing the stream. */
  readonly discard: boolean;
  /** True when a frame carries nothing but its payload (no field, no trailer). */
  readonly bare: boolean;
  /** True when the decoder's hot loop applies: a 1–4 byte length, no trailer, no magic. */
  readonly fastPath: boolean;
  /** True when a field is delivered as a view (`bytes`). */
  readonly hasBytesFields: boolean;

  constructor(spec: ShapeSpec) {
    this.spec = spec;
    this.name = spec.name ?? "frame";
    const where = `shape ${this.name}`;
    const names = new Set<string>();
    this.beforeFields = place(spec.before ?? [], where, names);
    this.beforeBytes = widthOf(this.beforeFields);
    this.afterFields = place(spec.after ?? [], where, names);
    this.afterBytes = widthOf(this.afterFields);
    this.maxLength = checkMaxLength(spec.maxLength ?? 99999);
    this.discard = (spec.tooLong ?? "fail") === "discard";
    if (spec.tooLong !== undefined && spec.tooLong !== "fail" && spec.tooLong !== "discard") {
      throw new InvalidArgumentError(`${where}: tooLong must be "fail" or "discard"`);
    }

    const len = spec.length;
    let kind = LEN_FIXED;
    let lengthBytes = 0;
    let le = false;
    let maxBytes = 0;
    let minimal = true;
    let custom: LengthCodec | null = null;
    let fixedLength = 0;
    if (typeof len === "number" || (typeof len === "object" && "bytes" in len)) {
      lengthBytes = typeof len === "number" ? len : len.bytes;
      le = typeof len === "object" && len.endian === "little";
      if (![1, 2, 3, 4, 8].includes(lengthBytes)) {
        throw new InvalidArgumentError(
          `${where}: a length field has 1, 2, 3, 4 or 8 bytes, got ${String(lengthBytes)}`,
        );
      }
      maxBytes = lengthBytes;
    } else if (len === "varint" || (typeof len === "object" && "varint" in len)) {
      kind = LEN_VARINT;
      const v = len === "varint" ? {} : len.varint;
      maxBytes = v.maxBytes ?? 10;
      minimal = v.minimal ?? true;
      if (!Number.isInteger(maxBytes) || maxBytes < 1 || maxBytes > 10) {
        throw new InvalidArgumentError(`${where}: varint maxBytes must be 1 to 10`);
      }
    } else if (typeof len === "object" && "fixed" in len) {
      kind = LEN_NONE;
      fixedLength = len.fixed;
      if (!Number.isSafeInteger(fixedLength) || fixedLength < 0) {
        throw new InvalidArgumentError(`${where}: fixed length must be a non-negative integer`);
      }
      if (fixedLength > this.maxLength) {
        throw new InvalidArgumentError(
          `${where}: fixed length ${fixedLength} exceeds maxLength ${this.maxLength}`,
        );
      }
    } else if (typeof len === "object" && "custom" in len) {
      kind = LEN_CUSTOM;
      custom = len.custom;
      maxBytes = custom.maxBytes;
      if (!Number.isInteger(maxBytes) || maxBytes < 1 || maxBytes > 64) {
        throw new InvalidArgumentError(`${where}: a custom length's maxBytes must be 1 to 64`);
      }
    } else {
      throw new InvalidArgumentError(`${where}: unknown length ${JSON.stringify(len)}`);
    }
    this.lengthKind = kind;
    this.lengthBytes = lengthBytes;
    this.lengthLittleEndian = le;
    this.lengthMaxBytes = maxBytes;
    this.varintMinimal = minimal;
    this.custom = custom;
    this.fixedLength = fixedLength;

    const t = spec.trailer ?? null;
    if (t !== null) {
      if (![1, 2, 4].includes(t.bytes)) {
        throw new InvalidArgumentError(`${where}: a trailer has 1, 2 or 4 bytes`);
      }
      if (!NAME_RE.test(t.name) || t.name === "payload" || names.has(t.name)) {
        throw new InvalidArgumentError(`${where}: invalid trailer name ${JSON.stringify(t.name)}`);
      }
    }
    this.trailer = t;
    this.trailerBytes = t?.bytes ?? 0;

    const adjust = spec.adjust ?? 0;
    if (!Number.isSafeInteger(adjust)) {
      throw new InvalidArgumentError(`${where}: adjust must be an integer`);
    }
    const counts = spec.lengthCounts ?? "rest";
    const tail = this.afterBytes + this.trailerBytes;
    let delta: number;
    let factor: 0 | 1 = 0;
    switch (counts) {
      case "rest":
        delta = adjust - tail;
        break;
      case "payload":
        delta = adjust;
        break;
      case "length+rest":
        delta = adjust - tail;
        factor = 1;
        break;
      case "frame":
        delta = adjust - tail - this.beforeBytes;
        factor = 1;
        break;
      default:
        throw new InvalidArgumentError(`${where}: unknown lengthCounts ${JSON.stringify(counts)}`);
    }
    if (kind === LEN_NONE && (spec.lengthCounts !== undefined || adjust !== 0)) {
      throw new InvalidArgumentError(
        `${where}: a fixed-size shape has no length to count or adjust`,
      );
    }
    this.delta = delta;
    this.lengthWidthFactor = factor;

    const strip = spec.strip;
    if (strip === undefined) {
      this.strip = -1;
    } else {
      const variable = kind === LEN_VARINT || kind === LEN_CUSTOM;
      const limit = variable ? this.beforeBytes : this.beforeBytes + lengthBytes + this.afterBytes;
      if (!Number.isInteger(strip) || strip < 0 || strip > limit) {
        throw new InvalidArgumentError(
          `${where}: strip must be 0 to ${limit} (the header${variable ? " before a variable-width length" : ""}), got ${String(strip)}`,
        );
      }
      this.strip = strip === limit && !variable ? -1 : strip;
    }
    if (
      kind === LEN_NONE &&
      this.beforeBytes + this.afterBytes + fixedLength + this.trailerBytes === 0
    ) {
      throw new InvalidArgumentError(`${where}: frames of 0 bytes`);
    }
    this.bare = names.size === 0 && t === null;
    const all = [...this.beforeFields, ...this.afterFields];
    const hasMagic = all.some((f) => f.magic !== null);
    this.hasBytesFields = all.some((f) => f.kind === "bytes" && f.name !== null);
    this.fastPath = kind === LEN_FIXED && lengthBytes !== 8 && t === null && !hasMagic;
  }

  /** Bytes of the header when the length field is `lengthWidth` bytes wide. */
  headerBytes(lengthWidth: number): number {
    return this.beforeBytes + lengthWidth + this.afterBytes;
  }

  /** Shortest header (what must arrive before any length can be known). */
  get minHeaderBytes(): number {
    return (
      this.beforeBytes + (this.lengthKind === LEN_FIXED ? this.lengthBytes : 0) + this.afterBytes
    );
  }

  /** Longest header. */
  get maxHeaderBytes(): number {
    return this.beforeBytes + this.lengthMaxBytes + this.afterBytes;
  }

  /** Every field name a frame carries (payload excluded), in wire order. */
  get fieldNames(): string[] {
    const out: string[] = [];
    for (const f of [...this.beforeFields, ...this.afterFields]) if (f.name) out.push(f.name);
    if (this.trailer) out.push(this.trailer.name);
    return out;
  }

  /** The same shape with another `maxLength`. */
  withLimit(maxLength: number): Shape<Fr, In> {
    return new Shape<Fr, In>({ ...this.spec, maxLength });
  }
}

/** The frame type of a shape. */
export type ShapeFrame<S> = S extends Shape<infer Fr, infer _In> ? Fr : never;
/** What the encoder takes for a frame of a shape. */
export type ShapeInput<S> = S extends Shape<infer _Fr, infer In> ? In : never;

/**
 * Checks a declaration and compiles it. A wrong combination (a strip longer than the header, bit
 * fields that do not fill whole bytes, a length width Netty does not have either, …) throws
 * {@link InvalidArgumentError} here, where it is written.
 */
export function defineShape<const S extends ShapeSpec>(spec: S): Shape<FrameOf<S>, InputOf<S>> {
  return new Shape<FrameOf<S>, InputOf<S>>(spec);
}
