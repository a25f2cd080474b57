/**
 * Length-prefixed framing: a sans-I/O decoder and encoder for frames announced by a binary length
 * prefix (1, 2, 4 or 8 bytes, big- or little-endian, or an unsigned LEB128 varint), the general
 * `LengthPrefixedReceiver` protocol on top, and Twisted's `Int8StringReceiver`,
 * `Int16StringReceiver` and `Int32StringReceiver` as presets of it.
 *
 * Also home of {@link FramingDecoder}, the pause/queue/stop machinery shared with the netstring
 * decoder.
 */
import { InvalidArgumentError, WeftError } from "../../core/errors.js";
import type { Producer } from "../../core/interfaces.js";
import { Protocol } from "../../core/protocol.js";
import type { Decoder, DecoderFactory, DecoderSink } from "./decoder.js";

/** Largest `maxLength` any weft decoder accepts: lengths stay exact JavaScript integers. */
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** Frames assembled across chunks at least this big skip the zero-fill of `new Uint8Array`. */
const UNSAFE_ALLOC_MIN = 1024;

/**
 * @internal A buffer of exactly `length` bytes for a frame that spans chunks. It is always
 * completely overwritten before it is handed out, so skipping the zero-fill is safe.
 */
export function allocFrame(length: number): Uint8Array {
  if (length < UNSAFE_ALLOC_MIN) return new Uint8Array(length);
  const b = Buffer.allocUnsafeSlow(length);
  return new Uint8Array(b.buffer, b.byteOffset, length);
}

/** Frames up to this length get their whole buffer as soon as the length is known. */
const EAGER_MAX = 16 * 1024 * 1024;
/** Bigger frames start with this much and grow by doubling as their bytes arrive. */
const GROW_START = 1024 * 1024;
const EMPTY = new Uint8Array(0);

/** Frames at least this big get their buffer aligned with the chunks they are copied from. */
const ALIGN_MIN = 256 * 1024;

/**
 * @internal One frame being assembled across chunks. Up to 16 MiB the buffer is sized from the
 * announced length at once (one copy of each byte); beyond, it starts at 1 MiB and doubles as bytes
 * arrive, so a peer announcing a huge (allowed) length without sending it does not get it
 * allocated.
 *
 * Big frames are placed at an offset (under 64 bytes) that gives the destination of each copy the
 * same alignment as its source chunk: memcpy between differently aligned addresses is about 25%
 * slower. The offset is guessed from the first chunk and corrected once, at the second.
 */
export class FrameAssembly {
  buf: Uint8Array = EMPTY;
  filled = 0;
  length = 0;
  #pad = 0;
  #aligned = true;

  /** Starts a frame of `length` bytes whose first byte is `c[i]` (or the next chunk's first). */
  start(length: number, c: Uint8Array, i: number): void {
    this.length = length;
    this.filled = 0;
    const big = length >= ALIGN_MIN;
    this.#pad = big ? (c.byteOffset + i) & 63 : 0;
    this.#aligned = !big;
    this.buf = this.#alloc(length <= EAGER_MAX ? length : GROW_START);
  }

  #alloc(capacity: number): Uint8Array {
    if (capacity < UNSAFE_ALLOC_MIN) return new Uint8Array(capacity);
    const raw = Buffer.allocUnsafeSlow(capacity + this.#pad);
    return new Uint8Array(raw.buffer, raw.byteOffset + this.#pad, capacity);
  }

  #realloc(capacity: number): void {
    const grown = this.#alloc(capacity);
    if (this.filled > 0) grown.set(this.buf.subarray(0, this.filled), 0);
    this.buf = grown;
  }

  /** Copies as many of the missing bytes as `c[i..]` holds; returns how many it took. */
  take(c: Uint8Array, i: number): number {
    const filled = this.filled;
    const want = Math.min(this.length - filled, c.length - i);
    if (!this.#aligned && filled > 0) {
      // Second chunk: from now on chunks are assumed to keep this one's alignment.
      this.#aligned = true;
      const pad = (c.byteOffset + i - filled) & 63;
      if (pad !== this.#pad) {
        this.#pad = pad;
        this.#realloc(this.buf.length);
      }
    }
    let buf = this.buf;
    if (filled + want > buf.length) {
      this.#realloc(Math.min(this.length, Math.max(filled + want, buf.length * 2)));
      buf = this.buf;
    }
    if (want < 32) {
      // Tiny chunks: a plain loop beats creating a subarray.
      for (let k = 0; k < want; k++) buf[filled + k] = c[i + k]!;
    } else if (i === 0 && want === c.length) {
      buf.set(c, filled); // the whole chunk: no subarray (a Buffer's goes through its species)
    } else {
      buf.set(c.subarray(i, i + want), filled);
    }
    this.filled = filled + want;
    return want;
  }

  get complete(): boolean {
    return this.filled === this.length;
  }

  /** Hands the finished frame out and forgets it. */
  finish(): Uint8Array {
    const b = this.buf;
    this.reset();
    return b;
  }

  reset(): void {
    this.buf = EMPTY;
    this.filled = 0;
    this.length = 0;
    this.#pad = 0;
    this.#aligned = true;
  }
}

/** @internal Validates a `maxLength` option: a non-negative safe integer. */
export function checkMaxLength(maxLength: number, limit = MAX_SAFE): number {
  if (!Number.isSafeInteger(maxLength) || maxLength < 0 || maxLength > limit) {
    throw new InvalidArgumentError(
      `maxLength must be an integer between 0 and ${limit}, got ${String(maxLength)}`,
    );
  }
  return maxLength;
}

/**
 * Base of weft's binary framing decoders: the queueing that makes them pausable and re-entrant.
 *
 * - `pause()` stops delivery after the current frame; what is left of the current chunk and every
 *   chunk fed meanwhile is copied and kept until `resume()` (the caller is expected to stop reading
 *   while paused: input fed during a pause is buffered without limit).
 * - A `feed` from inside `onFrame` (re-entrant) is queued and parsed after the current chunk.
 * - `stop()` drops everything and ignores all further input, reporting nothing.
 * - After `onError` the decoder is `failed`, holds no input and ignores everything.
 *
 * Subclasses implement {@link FramingDecoder.parse} and {@link FramingDecoder.partialBytes}.
 */
export abstract class FramingDecoder<F = Uint8Array> implements Decoder {
  protected readonly sink: DecoderSink<F>;
  /** True when `parse` must return after the frame it just delivered (paused, stopped or failed). */
  protected halted = false;
  /** Stream offset of the first byte of the chunk `parse` is working on. */
  protected base = 0;
  #failed = false;
  #stopped = false;
  #paused = false;
  #busy = false;
  #ended = false;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #processed = 0;

  constructor(sink: DecoderSink<F>) {
    this.sink = sink;
  }

  /**
   * Parses `chunk` from its start, delivering frames to `this.sink`; returns how many bytes it
   * consumed. It may stop early only when `this.halted` became true after a delivery or an error.
   * Bytes of a frame that is not complete are copied into the decoder's own buffer (consumed).
   */
  protected abstract parse(chunk: Uint8Array): number;

  /** Bytes of an incomplete frame held by the subclass. */
  protected abstract partialBytes(): number;

  /** Forget the subclass's partial frame (called on stop and after an error). */
  protected abstract resetPartial(): void;

  /** The error reported when input ends inside a frame, at stream offset `offset`. */
  protected abstract truncatedError(offset: number): WeftError;

  get failed(): boolean {
    return this.#failed;
  }

  /** True while paused with `pause()`. */
  get paused(): boolean {
    return this.#paused;
  }

  /** True after `stop()`. */
  get stopped(): boolean {
    return this.#stopped;
  }

  get bufferedBytes(): number {
    return this.#queued + this.partialBytes();
  }

  /** Total bytes parsed so far (the stream offset of the next byte to parse). */
  get offset(): number {
    return this.#processed;
  }

  feed(chunk: Uint8Array): void {
    if (this.#failed || this.#stopped || chunk.length === 0) return;
    if (this.#busy || this.#paused) {
      this.#queue.push(chunk.slice());
      this.#queued += chunk.length;
      return;
    }
    this.#busy = true;
    try {
      this.#process(chunk, false);
      this.#drain();
    } finally {
      this.#busy = false;
    }
    if (this.#ended) this.#finish();
  }

  end(): void {
    if (this.#failed || this.#stopped || this.#ended) return;
    this.#ended = true;
    if (!this.#busy && !this.#paused) this.#finish();
  }

  /** Stop delivering frames (after the current one) until `resume()`. */
  pause(): void {
    if (this.#failed || this.#stopped) return;
    this.#paused = true;
    this.halted = true;
  }

  /** Deliver what was held back by `pause()` and carry on. */
  resume(): void {
    if (this.#failed || this.#stopped || !this.#paused) return;
    this.#paused = false;
    this.halted = false;
    if (this.#busy) return; // the running loop carries on by itself
    this.#busy = true;
    try {
      this.#drain();
    } finally {
      this.#busy = false;
    }
    if (this.#ended && !this.#paused) this.#finish();
  }

  /** Drop all buffered input and ignore everything fed from now on; nothing more is reported. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.halted = true;
    this.#release();
  }

  /** Report `error` once, then hold nothing and ignore all further input. */
  protected fail(error: WeftError): void {
    if (this.#failed || this.#stopped) return;
    this.#failed = true;
    this.halted = true;
    this.#release();
    this.sink.onError(error);
  }

  #release(): void {
    this.#queue = [];
    this.#queued = 0;
    this.resetPartial();
  }

  #process(chunk: Uint8Array, owned: boolean): void {
    this.base = this.#processed;
    const used = this.parse(chunk);
    this.#processed += used;
    if (used < chunk.length && this.#paused && !this.#failed && !this.#stopped) {
      // Paused mid-chunk: keep the rest (copied unless it already is our own copy).
      const rest = owned ? chunk.subarray(used) : chunk.slice(used);
      this.#queue.unshift(rest);
      this.#queued += rest.length;
    }
  }

  #drain(): void {
    while (this.#queue.length > 0 && !this.halted) {
      const next = this.#queue.shift()!;
      this.#queued -= next.length;
      this.#process(next, true);
    }
  }

  #finish(): void {
    if (this.#failed || this.#stopped || this.#paused) return;
    if (this.#queue.length === 0 && this.partialBytes() === 0 && !this.inFrame()) return;
    this.fail(this.truncatedError(this.#processed));
  }

  /** True when the decoder is in the middle of a frame (even with no payload byte held yet). */
  protected abstract inFrame(): boolean;
}

// ------------------------------------------------------------------------------------------------

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
  readonly kind: LengthPrefixedErrorKind;
  readonly offset: number;
  readonly length: number;

  constructor(kind: LengthPrefixedErrorKind, offset: number, detail: string, length = -1) {
    super("ERR_LENGTH_PREFIXED", `Length-prefixed framing error at byte ${offset}: ${detail}`);
    this.kind = kind;
    this.offset = offset;
    this.length = length;
  }
}

/** `sendString` was given more bytes than the prefix can announce (code `ERR_STRING_TOO_LONG`). */
export class StringTooLongError extends WeftError {
  readonly length: number;
  readonly maximum: number;

  constructor(length: number, maximum: number) {
    super("ERR_STRING_TOO_LONG", `Try to send ${length} bytes whereas maximum is ${maximum}`);
    this.length = length;
    this.maximum = maximum;
  }
}

/** Decoder states. */
const HEADER = 0;
const PAYLOAD = 1;

const TWO_32 = 2 ** 32;

/**
 * Sans-I/O decoder of length-prefixed frames. Frames lying inside one fed chunk are zero-copy
 * views of it (valid until `feed` returns: `.slice()` one to keep it); a frame that spans chunks is
 * assembled once into a buffer of exactly its announced length. A length above `maxLength` is
 * reported (`kind: "length too long"`) as soon as the prefix is complete, before any payload is
 * buffered, so memory stays bounded by `maxLength` whatever a peer announces.
 */
export class LengthPrefixedDecoder extends FramingDecoder<Uint8Array> {
  readonly prefix: LengthPrefix;
  readonly littleEndian: boolean;
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

  constructor(sink: DecoderSink<Uint8Array>, options: LengthPrefixedOptions = {}) {
    super(sink);
    const prefix = options.prefix ?? 4;
    if (prefix !== 1 && prefix !== 2 && prefix !== 4 && prefix !== 8 && prefix !== "varint") {
      throw new InvalidArgumentError(
        `prefix must be 1, 2, 4, 8 or "varint", got ${String(prefix)}`,
      );
    }
    const endian = options.endian ?? "big";
    if (endian !== "big" && endian !== "little") {
      throw new InvalidArgumentError(`endian must be "big" or "little", got ${String(endian)}`);
    }
    this.prefix = prefix;
    this.littleEndian = endian === "little";
    this.maxLength = checkMaxLength(options.maxLength ?? 99999);
    this.#width = prefix === "varint" ? 0 : prefix;
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
   * The hot loop: whole frames with a 1-, 2- or 4-byte prefix (or a one-byte varint) lying inside
   * the chunk, delivered as views. Returns where it stopped; anything else (a partial frame, an
   * error, 8-byte prefixes, longer varints) is left to the general loop in `parse`.
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
    const fast = width !== 8;
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

/** A sink that ignores everything, for the shape-keeping instances below. */
const IDLE_SINK: DecoderSink<unknown> = { onFrame() {}, onError() {} };

/**
 * Instances kept alive for the life of the process so that V8 keeps the hidden classes
 * ("maps") decoders go through as their fields are set. V8 holds those maps only weakly: once every
 * instance has died (a server between connections, a benchmark between runs), a GC frees them,
 * every optimised function that checks them is discarded ("weak objects" in `--trace-deopt`) and
 * the next instance gets new maps and starts over in unoptimised code. Each variant of the options
 * is made here so that the fields' representations (small integer, number, string) are settled
 * once, at load, rather than by a later instance (which would also discard optimised code).
 * @internal
 */
const SHAPE_KEEPERS: unknown[] = [];

/**
 * @internal Keeps `value` alive for the life of the process, so that V8 keeps the maps of its
 * class (see above). A module-level `const` read by no function is not enough: V8 keeps such a
 * variable on the module body's stack, and it dies once the module has loaded.
 */
export function keepShape(value: object): void {
  SHAPE_KEEPERS.push(value);
}

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

/** Largest payload a fixed prefix of `width` bytes can announce. */
function prefixCapacity(prefix: LengthPrefix): number {
  if (prefix === "varint" || prefix === 8) return MAX_SAFE;
  return 2 ** (8 * prefix) - 1;
}

/** Encodes the length prefix alone for a payload of `length` bytes. */
export function encodeLengthPrefix(
  length: number,
  options: Omit<LengthPrefixedOptions, "maxLength"> = {},
): Uint8Array {
  const prefix = options.prefix ?? 4;
  const le = (options.endian ?? "big") === "little";
  const cap = prefixCapacity(prefix);
  if (length > cap) throw new StringTooLongError(length, cap);
  if (prefix === "varint") {
    const out: number[] = [];
    let v = length;
    while (v >= 0x80) {
      out.push((v % 128) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(v);
    return Uint8Array.from(out);
  }
  const out = new Uint8Array(prefix);
  let v = length;
  for (let k = 0; k < prefix; k++) {
    const byte = v % 256;
    v = Math.floor(v / 256);
    out[le ? k : prefix - 1 - k] = byte;
  }
  return out;
}

const textEncoder = new TextEncoder();

/** `data` as bytes (a string UTF-8 encoded). Shared with the netstring encoder. */
export function toBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === "string" ? textEncoder.encode(data) : data;
}

/**
 * The wire bytes of one frame: prefix + payload, in one new buffer. `maxLength` is not checked on
 * send (as Twisted); a payload too big for the prefix throws {@link StringTooLongError}.
 */
export function encodeLengthPrefixed(
  payload: Uint8Array | string,
  options: Omit<LengthPrefixedOptions, "maxLength"> = {},
): Uint8Array {
  const data = toBytes(payload);
  const head = encodeLengthPrefix(data.length, options);
  const out = new Uint8Array(head.length + data.length);
  out.set(head, 0);
  out.set(data, head.length);
  return out;
}

/**
 * Payloads up to this size are sent as one concatenated write; larger ones as pieces. Shared with
 * `NetstringReceiver`.
 */
export const SMALL_WRITE = 4096;

/**
 * A protocol receiving length-prefixed frames (the general form of Twisted's
 * `IntNStringReceiver`). Configure with the class fields `prefix` (default 4), `endian` (default
 * `"big"`) and `MAX_LENGTH` (default 99999 bytes), in a subclass or on the instance before data
 * arrives; they are read once, at the first `dataReceived`.
 *
 * - `stringReceived(data)` gets each frame: a view valid only during the call (`.slice()` to keep).
 * - A length above `MAX_LENGTH` calls `lengthLimitExceeded(length)` as soon as the prefix is in,
 *   before the payload (default: `loseConnection()`); a malformed varint calls
 *   `framingError(error)`. Either way nothing more is delivered on this connection.
 * - Unlike Twisted, once `transport.disconnecting` is true (e.g. `stringReceived` called
 *   `loseConnection()`), no further frame of the same chunk is delivered.
 * - Pausable: `pauseProducing()` holds buffered frames (and pauses the transport) until
 *   `resumeProducing()`.
 */
export class LengthPrefixedReceiver<F extends object = object>
  extends Protocol<F>
  implements Producer
{
  /** Prefix width in bytes or `"varint"`. Default 4. */
  prefix: LengthPrefix = 4;
  /** Byte order of the prefix. Default `"big"`. */
  endian: "big" | "little" = "big";
  /** Largest accepted payload, in bytes. Default 99999. */
  MAX_LENGTH = 99999;
  /** True while paused by `pauseProducing`. */
  paused = false;
  #decoder: LengthPrefixedDecoder | null = null;

  /**
   * The decoder's sink: one small object per connection whose `onFrame`/`onError` are prototype
   * methods, so the decoder's hot call site sees the same two functions for every connection
   * (per-connection arrow functions get inlined into the decoder's optimised code as constants,
   * and every connection closed then throws that code away: "weak objects" in `--trace-deopt`).
   */
  static readonly #Sink = class implements DecoderSink<Uint8Array> {
    readonly owner: LengthPrefixedReceiver;
    constructor(owner: LengthPrefixedReceiver) {
      this.owner = owner;
    }
    onFrame(frame: Uint8Array): void {
      const r = this.owner;
      r.stringReceived(frame);
      if (r.transport.disconnecting) r.#decoder?.stop();
    }
    onError(error: Error): void {
      const e = error as LengthPrefixedError;
      if (e.kind === "length too long") this.owner.lengthLimitExceeded(e.length);
      else this.owner.framingError(e);
    }
  };

  static {
    keepShape(new LengthPrefixedReceiver.#Sink(new LengthPrefixedReceiver()));
  }

  #getDecoder(): LengthPrefixedDecoder {
    if (this.#decoder === null) {
      this.#decoder = new LengthPrefixedDecoder(new LengthPrefixedReceiver.#Sink(this), {
        prefix: this.prefix,
        endian: this.endian,
        maxLength: this.MAX_LENGTH,
      });
      if (this.paused) this.#decoder.pause();
    }
    return this.#decoder;
  }

  /** Bytes received and not yet delivered (partial frame plus frames held while paused). */
  get bufferedBytes(): number {
    return this.#decoder?.bufferedBytes ?? 0;
  }

  override dataReceived(data: Uint8Array): void {
    this.#getDecoder().feed(data);
  }

  /** Called with each frame's payload. Override it. */
  stringReceived(_data: Uint8Array): void {}

  /**
   * Called when a prefix announces more than `MAX_LENGTH` bytes, before the payload arrives.
   * Default: `transport.loseConnection()`.
   */
  lengthLimitExceeded(_length: number): void {
    this.transport.loseConnection();
  }

  /** Called on a malformed prefix (an overlong varint). Default: `transport.loseConnection()`. */
  framingError(_error: LengthPrefixedError): void {
    this.transport.loseConnection();
  }

  /**
   * Sends `data` (a string is UTF-8 encoded) with its prefix, in one transport call. Throws
   * {@link StringTooLongError} when the prefix cannot announce that many bytes; `MAX_LENGTH` is not
   * checked on send.
   */
  sendString(data: Uint8Array | string): void {
    const bytes = toBytes(data);
    const opts = { prefix: this.prefix, endian: this.endian };
    if (bytes.length <= SMALL_WRITE) {
      this.transport.write(encodeLengthPrefixed(bytes, opts));
    } else {
      this.transport.writeSequence([encodeLengthPrefix(bytes.length, opts), bytes]);
    }
  }

  /** Stop delivering frames and pause the transport. */
  pauseProducing(): void {
    this.paused = true;
    this.#decoder?.pause();
    this.transport.pauseProducing();
  }

  /** Resume the transport and deliver the frames held back. */
  resumeProducing(): void {
    this.paused = false;
    this.transport.resumeProducing();
    this.#decoder?.resume();
  }

  /** Deliver nothing more and stop the transport. */
  stopProducing(): void {
    this.paused = true;
    this.#getDecoder().stop();
    this.transport.stopProducing();
  }
}

/**
 * Twisted's `Int8StringReceiver`: 1-byte unsigned prefix (frames up to 255 bytes), `MAX_LENGTH`
 * 99999.
 */
export class Int8StringReceiver<F extends object = object> extends LengthPrefixedReceiver<F> {
  override prefix: LengthPrefix = 1;
}

/** Twisted's `Int16StringReceiver`: 2-byte unsigned big-endian prefix, `MAX_LENGTH` 99999. */
export class Int16StringReceiver<F extends object = object> extends LengthPrefixedReceiver<F> {
  override prefix: LengthPrefix = 2;
}

/** Twisted's `Int32StringReceiver`: 4-byte unsigned big-endian prefix, `MAX_LENGTH` 99999. */
export class Int32StringReceiver<F extends object = object> extends LengthPrefixedReceiver<F> {
  override prefix: LengthPrefix = 4;
}

keepShapes();
