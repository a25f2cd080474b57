/**
 * The length-prefixed decoder: frames announced by a binary length prefix (1, 2, 4 or 8 bytes,
 * big- or little-endian, or an unsigned LEB128 varint), parsed sans-I/O.
 */
import { InvalidArgumentError, WeftError } from "../../../core/errors.js";
import { FrameAssembly } from "../../framing/assembly.js";
import type { DecoderFactory, DecoderSink } from "../../framing/decoder.js";
import { FramingDecoder } from "../../framing/framing-decoder.js";
import { checkMaxLength } from "../../framing/limits.js";
import { keepShape, keepShapesOnce } from "../../framing/v8.js";

/** Width of a length prefix in bytes, or an unsigned LEB128 varint. */
export type LengthPrefix = 1 | 2 | 4 | 8 | "varint";

/** Options of the length-prefixed codec. */
export interface LengthPrefixedOptions {
  /** Prefix width in bytes, or `"varint"` (unsigned LEB128). Default `4`. */
  prefix?: LengthPrefix;
  /** Byte order of fixed-width prefixes (ignored for varints). Default `"big"` (network order). */
  endian?: "big" | "little";
  /**
   * Largest accepted payload in bytes (prefix excluded); a larger announced length is an error
   * before any payload byte is buffered. Default `99999` (Twisted's `MAX_LENGTH`). At most
   * 2^53 − 1.
   */
  maxLength?: number;
}

/** What went wrong in a length-prefixed stream. */
export type LengthPrefixedErrorKind = "length too long" | "overlong varint" | "truncated";

/**
 * A malformed length-prefixed stream (code `ERR_LENGTH_PREFIXED`). `kind` says what was wrong,
 * `offset` is the stream offset of the byte where it was detected, `length` the announced length
 * for `"length too long"` (exact up to 2^53; the message always shows the exact value).
 */
export class LengthPrefixedError extends WeftError {
  /** What was wrong. */
  readonly kind: LengthPrefixedErrorKind;
  /** Stream offset (0-based, counting every byte fed) of the byte where it was detected. */
  readonly offset: number;
  /** The announced length for `"length too long"`, −1 otherwise. */
  readonly length: number;

  constructor(kind: LengthPrefixedErrorKind, offset: number, detail: string, length = -1) {
    super("ERR_LENGTH_PREFIXED", `Length-prefixed framing error at byte ${offset}: ${detail}`);
    this.kind = kind;
    this.offset = offset;
    this.length = length;
  }
}

/** Decoder states. */
const HEADER = 0;
const PAYLOAD = 1;

const TWO_32 = 2 ** 32;

/** `value` as a {@link LengthPrefix}; InvalidArgumentError unless it is 1, 2, 4, 8 or `"varint"`. */
export function checkPrefix(value: number | string): LengthPrefix {
  if (value === 1 || value === 2 || value === 4 || value === 8 || value === "varint") return value;
  throw new InvalidArgumentError(`prefix must be 1, 2, 4, 8 or "varint", got ${String(value)}`);
}

/** `value` as a byte order; InvalidArgumentError unless it is `"big"` or `"little"`. */
export function checkEndian(value: string): "big" | "little" {
  if (value === "big" || value === "little") return value;
  throw new InvalidArgumentError(`endian must be "big" or "little", got ${String(value)}`);
}

/**
 * Sans-I/O decoder of length-prefixed frames. Frames lying inside one fed chunk are zero-copy
 * views of it (valid until `feed` returns: `.slice()` one to keep it); a frame that spans chunks is
 * assembled once into a buffer of exactly its announced length. A length above `maxLength` is
 * reported (`kind: "length too long"`) as soon as the prefix is complete, before any payload is
 * buffered, so memory stays bounded by `maxLength` whatever a peer announces.
 */
export class LengthPrefixedDecoder extends FramingDecoder<Uint8Array> {
  /** Prefix width in bytes, or `"varint"` (the `prefix` option; default 4). */
  readonly prefix: LengthPrefix;
  /** True for little-endian fixed-width prefixes (the `endian` option). */
  readonly littleEndian: boolean;
  /** Largest accepted payload in bytes (the `maxLength` option; default 99999). */
  readonly maxLength: number;
  #width: number;
  #state = HEADER;
  // header being assembled across chunks
  #hdr = new Uint8Array(10);
  #hdrLen = 0;
  // varint accumulation
  #vValue = 0;
  #vShift = 1;
  // payload being assembled across chunks
  #asm = new FrameAssembly();
  /** Whether `parse` takes the {@link LengthPrefixedDecoder.#fastFrames} path (see `usesFastPath`). */
  readonly #fast: boolean;

  constructor(sink: DecoderSink<Uint8Array>, options: LengthPrefixedOptions = {}) {
    super(sink);
    const prefix = checkPrefix(options.prefix ?? 4);
    this.prefix = prefix;
    this.littleEndian = checkEndian(options.endian ?? "big") === "little";
    this.maxLength = checkMaxLength(options.maxLength ?? 99999);
    this.#width = prefix === "varint" ? 0 : prefix;
    this.#fast = prefix !== 8 && this.usesFastPath();
    keepShapesOnce(LengthPrefixedDecoder, keepShapes);
  }

  protected partialBytes(): number {
    return this.#hdrLen + this.#asm.filled;
  }

  protected inFrame(): boolean {
    return this.#state !== HEADER || this.#hdrLen > 0;
  }

  protected resetPartial(): void {
    this.#state = HEADER;
    this.#hdrLen = 0;
    this.#vValue = 0;
    this.#vShift = 1;
    this.#asm.reset();
  }

  protected truncatedError(offset: number): WeftError {
    const what =
      this.#state === PAYLOAD
        ? `stream ended after ${this.#asm.filled} of ${this.#asm.length} payload bytes`
        : `stream ended inside a length prefix (${this.#hdrLen} bytes)`;
    return new LengthPrefixedError("truncated", offset, what);
  }

  #tooLong(length: number, offset: number, exact?: string): void {
    const shown = exact ?? String(length);
    this.fail(
      new LengthPrefixedError(
        "length too long",
        offset,
        `announced length ${shown} exceeds maxLength ${this.maxLength}`,
        length,
      ),
    );
  }

  /** Reads a fixed-width prefix at `c[i]`; returns -1 after reporting an error. */
  #readFixed(c: Uint8Array, i: number, errOffset: number): number {
    const le = this.littleEndian;
    switch (this.#width) {
      case 1:
        return c[i]!;
      case 2:
        return le ? c[i]! | (c[i + 1]! << 8) : (c[i]! << 8) | c[i + 1]!;
      case 4:
        return le
          ? (c[i]! | (c[i + 1]! << 8) | (c[i + 2]! << 16) | (c[i + 3]! << 24)) >>> 0
          : ((c[i]! << 24) | (c[i + 1]! << 16) | (c[i + 2]! << 8) | c[i + 3]!) >>> 0;
      default: {
        const a = ((c[i]! << 24) | (c[i + 1]! << 16) | (c[i + 2]! << 8) | c[i + 3]!) >>> 0;
        const b = ((c[i + 4]! << 24) | (c[i + 5]! << 16) | (c[i + 6]! << 8) | c[i + 7]!) >>> 0;
        let hi: number;
        let lo: number;
        if (le) {
          lo = ((a & 0xff) << 24) | ((a & 0xff00) << 8) | ((a >>> 8) & 0xff00) | (a >>> 24);
          hi = ((b & 0xff) << 24) | ((b & 0xff00) << 8) | ((b >>> 8) & 0xff00) | (b >>> 24);
          lo >>>= 0;
          hi >>>= 0;
        } else {
          hi = a;
          lo = b;
        }
        // hi ≥ 2^21 means ≥ 2^53: beyond any maxLength; compare exactly, report exactly.
        if (hi >= 0x200000) {
          const exact = ((BigInt(hi) << 32n) | BigInt(lo)).toString();
          this.#tooLong(Number(exact), errOffset, exact);
          return -1;
        }
        return hi * TWO_32 + lo;
      }
    }
  }

  /**
   * The fast path of `parse`'s loop: whole frames with a 1-, 2- or 4-byte prefix (or a one-byte
   * varint) lying inside the chunk, delivered as views, with the loop state in locals. Returns where
   * it stopped; anything else (a partial frame, an error, 8-byte prefixes, longer varints) is left
   * to the general loop, which handles every input alone (see `usesFastPath`).
   */
  #fastFrames(c: Uint8Array, start: number): number {
    const n = c.length;
    const max = this.maxLength;
    const width = this.#width;
    const le = this.littleEndian;
    // Read at the first whole frame, once: on a Buffer these are slow getters (as slow as parsing
    // a 7-byte chunk), and a chunk holding no whole frame needs neither.
    let ab: ArrayBufferLike | null = null;
    let bo = 0;
    const sink = this.sink;
    const hw = width === 0 ? 1 : width;
    let i = start;
    while (n - i >= hw) {
      let length: number;
      if (width === 4) {
        length = le
          ? (c[i]! | (c[i + 1]! << 8) | (c[i + 2]! << 16) | (c[i + 3]! << 24)) >>> 0
          : ((c[i]! << 24) | (c[i + 1]! << 16) | (c[i + 2]! << 8) | c[i + 3]!) >>> 0;
      } else if (width === 2) {
        length = le ? c[i]! | (c[i + 1]! << 8) : (c[i]! << 8) | c[i + 1]!;
      } else {
        length = c[i]!;
        if (width === 0 && length >= 0x80) break; // a longer varint
      }
      if (length > max || n - i - hw < length) break;
      i += hw;
      if (ab === null) {
        ab = c.buffer;
        bo = c.byteOffset;
      }
      const frame = new Uint8Array(ab, bo + i, length);
      i += length;
      sink.onFrame(frame);
      if (this.halted) return i;
    }
    return i;
  }

  protected parse(c: Uint8Array): number {
    const n = c.length;
    const max = this.maxLength;
    const width = this.#width;
    const fast = this.#fast;
    let i = 0;
    while (i < n) {
      if (fast && this.#state === HEADER && this.#hdrLen === 0) {
        i = this.#fastFrames(c, i);
        if (this.halted || i === n) return i;
      }
      if (this.#state === PAYLOAD) {
        const asm = this.#asm;
        i += asm.take(c, i);
        if (!asm.complete) return i;
        this.#state = HEADER;
        this.sink.onFrame(asm.finish());
        if (this.halted) return i;
        continue;
      }
      // Header.
      let length: number;
      if (width === 0 && this.#hdrLen === 0 && c[i]! < 0x80) {
        // One-byte varint (lengths below 128): the common case, no loop.
        length = c[i]!;
        i++;
        if (length > max) {
          this.#tooLong(length, this.base + i - 1);
          return i;
        }
      } else if (width === 0) {
        // Unsigned LEB128, checked byte by byte.
        let value = this.#vValue;
        let mul = this.#vShift;
        let count = this.#hdrLen;
        let done = false;
        while (i < n) {
          const b = c[i]!;
          value += (b & 0x7f) * mul;
          count++;
          i++;
          if (value > max) {
            this.#tooLong(value, this.base + i - 1);
            return i;
          }
          if (b < 0x80) {
            if (b === 0 && count > 1) {
              this.fail(
                new LengthPrefixedError(
                  "overlong varint",
                  this.base + i - 1,
                  "varint length is not minimally encoded",
                ),
              );
              return i;
            }
            done = true;
            break;
          }
          if (count >= 10) {
            this.fail(
              new LengthPrefixedError(
                "overlong varint",
                this.base + i - 1,
                "varint length longer than 10 bytes",
              ),
            );
            return i;
          }
          mul *= 128;
        }
        if (!done) {
          this.#vValue = value;
          this.#vShift = mul;
          this.#hdrLen = count;
          return i;
        }
        this.#vValue = 0;
        this.#vShift = 1;
        this.#hdrLen = 0;
        length = value;
      } else if (this.#hdrLen === 0 && n - i >= width) {
        // Fast path: the whole prefix is in this chunk.
        length = this.#readFixed(c, i, this.base + i + width - 1);
        if (length < 0) return i + width;
        i += width;
        if (length > max) {
          this.#tooLong(length, this.base + i - 1);
          return i;
        }
      } else {
        const take = Math.min(width - this.#hdrLen, n - i);
        for (let k = 0; k < take; k++) this.#hdr[this.#hdrLen++] = c[i + k]!;
        i += take;
        if (this.#hdrLen < width) return i;
        this.#hdrLen = 0;
        length = this.#readFixed(this.#hdr, 0, this.base + i - 1);
        if (length < 0) return i;
        if (length > max) {
          this.#tooLong(length, this.base + i - 1);
          return i;
        }
      }
      if (n - i >= length) {
        // Zero-copy view of the frame inside this chunk.
        const frame = new Uint8Array(c.buffer, c.byteOffset + i, length);
        i += length;
        this.sink.onFrame(frame);
        if (this.halted) return i;
      } else {
        this.#asm.start(length, c, i);
        i += this.#asm.take(c, i);
        this.#state = PAYLOAD;
      }
    }
    return i;
  }
}

/** A sink that ignores everything, for the shape keepers. */
const IDLE_SINK: DecoderSink<unknown> = { onFrame() {}, onError() {} };

/** The shape keepers of {@link LengthPrefixedDecoder} (see `framing/v8.ts`). */
function keepShapes(): void {
  for (const prefix of [1, 2, 4, 8, "varint"] as const) {
    const d = new LengthPrefixedDecoder(IDLE_SINK, { prefix });
    // A prefix announcing 5 bytes and 2 of them: the partial-frame fields get set, and no frame or
    // error is delivered (which would add this sink to the call sites' feedback).
    const width = prefix === "varint" ? 1 : prefix;
    const head = new Uint8Array(width + 2);
    head[width - 1] = 5;
    d.feed(head);
    keepShape(d);
  }
}

/** A {@link DecoderFactory} of {@link LengthPrefixedDecoder}s with `options`. */
export function lengthPrefixedDecoder(
  options: LengthPrefixedOptions = {},
): DecoderFactory<Uint8Array> {
  // Validate eagerly so a bad option fails where it is written.
  new LengthPrefixedDecoder({ onFrame() {}, onError() {} }, options);
  return (sink) => new LengthPrefixedDecoder(sink, options);
}
