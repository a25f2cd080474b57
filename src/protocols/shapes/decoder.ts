/**
 * The sans-I/O decoder of shaped frames: any {@link Shape}, any chunking. Frames whose bytes lie in
 * one fed chunk are delivered with zero-copy views (payload and `bytes` fields, valid until `feed`
 * returns); a frame spanning chunks is assembled once into a buffer of its announced size
 * ({@link FrameAssembly}: eager up to 16 MiB, doubling beyond). The limit is checked as soon as the
 * length field is complete, before any later byte is buffered. After one typed {@link ShapeError}
 * the decoder holds nothing and ignores everything (pause, re-entrancy and stop come from
 * {@link FramingDecoder}).
 */
import { InvalidArgumentError, type WeftError } from "../../core/errors.js";
import { FrameAssembly } from "../framing/assembly.js";
import type { DecoderFactory, DecoderSink } from "../framing/decoder.js";
import { FramingDecoder } from "../framing/framing-decoder.js";
import { type Builder, builderFor } from "./builder.js";
import { ShapeError } from "./errors.js";
import {
  LEN_CUSTOM,
  LEN_FIXED,
  LEN_NONE,
  LEN_VARINT,
  type PlacedField,
  readUint,
  type Shape,
} from "./shape.js";

/** A decoder sink that also hears about too-long frames skipped in `tooLong: "discard"` mode. */
export interface ShapeSink<Fr> extends DecoderSink<Fr> {
  /** Called for each frame skipped as too long (a ShapeError of kind `"length too long"`); the stream carries on. */
  onDiscard?(error: ShapeError): void;
}

const HEADER = 0;
const BODY = 1;
const SKIP = 2;

/** `#header` results besides a header length. */
const NEED_MORE = -3;
const FAILED = -1;
const DISCARD = -2;

const TWO_32 = 2 ** 32;
const EMPTY = new Uint8Array(0);

/**
 * Decoder of frames of a {@link Shape}. `setShape` switches to another shape between frames (even
 * within one chunk, from inside `onFrame`), as PostgreSQL needs after its startup message.
 */
export class ShapeDecoder<Fr extends object = object> extends FramingDecoder<Fr> {
  #shape: Shape<Fr>;
  #make: Builder;
  /** Set when `setShape` ran during a delivery: the parse loop re-reads the shape. */
  #switched = false;
  #state = HEADER;
  /** A header arriving across chunks. */
  #hdr: Uint8Array;
  #hdrLen = 0;
  /** Payload length of the header just parsed. */
  #plen = 0;
  /** Header length and assembly start of the frame being assembled, and its header's copy. */
  #h = 0;
  #from = 0;
  #saved: Uint8Array = EMPTY;
  /** Reused for `#saved` when the shape has no `bytes` field (whose views must outlive it). */
  #savedBuf: Uint8Array = EMPTY;
  #asm = new FrameAssembly();
  /** Bytes still to skip of a discarded frame. */
  #skip = 0;
  /** Stream offset of the first byte of the header held in `#hdr`. */
  #frameStart = 0;

  constructor(sink: ShapeSink<Fr>, shape: Shape<Fr>) {
    super(sink);
    this.#shape = shape;
    this.#make = builderFor(shape);
    this.#hdr = new Uint8Array(Math.max(16, shape.maxHeaderBytes));
  }

  /** The shape frames are currently decoded with. */
  get shape(): Shape<Fr> {
    return this.#shape;
  }

  /**
   * Decode the next frames with `shape`. Call it between frames: from `onFrame` (the rest of the
   * chunk is decoded with the new shape) or before the bytes of the next frame arrive.
   */
  setShape(shape: Shape<Fr>): void {
    if (this.#state !== HEADER || this.#hdrLen > 0) {
      throw new InvalidArgumentError(
        "setShape: part of a frame is held; switch shapes between frames (from onFrame) or before its bytes arrive",
      );
    }
    this.#shape = shape;
    this.#make = builderFor(shape);
    if (this.#hdr.length < shape.maxHeaderBytes) this.#hdr = new Uint8Array(shape.maxHeaderBytes);
    this.#switched = true;
  }

  protected partialBytes(): number {
    return this.#hdrLen + (this.#state === BODY ? this.#asm.filled : 0);
  }

  protected inFrame(): boolean {
    return this.#state !== HEADER || this.#hdrLen > 0;
  }

  protected resetPartial(): void {
    this.#state = HEADER;
    this.#hdrLen = 0;
    this.#skip = 0;
    this.#saved = EMPTY;
    this.#asm.reset();
  }

  protected truncatedError(offset: number): WeftError {
    const what =
      this.#state === BODY
        ? `stream ended after ${this.#asm.filled} of ${this.#asm.length} bytes of a frame`
        : this.#state === SKIP
          ? `stream ended inside a discarded frame (${this.#skip} bytes missing)`
          : `stream ended inside a header (${this.#hdrLen} bytes)`;
    return new ShapeError("truncated", this.#shape.name, offset, what);
  }

  #error(kind: ShapeError["kind"], offset: number, detail: string, length = -1): number {
    this.fail(new ShapeError(kind, this.#shape.name, offset, detail, length));
    return FAILED;
  }

  #checkMagic(c: Uint8Array, s: number, fields: readonly PlacedField[], off: number): boolean {
    for (const f of fields) {
      const m = f.magic;
      if (m === null) continue;
      for (let k = 0; k < m.length; k++) {
        if (c[s + f.at + k] !== m[k]) {
          this.#error(
            "bad magic",
            off + f.at + k,
            `header byte ${f.at + k} is not the expected constant`,
          );
          return false;
        }
      }
    }
    return true;
  }

  /**
   * Parses a header from `c[s..e)` (`off` = stream offset of `c[s]`). Returns its length (and sets
   * `#plen`), {@link NEED_MORE}, {@link FAILED} (error reported) or {@link DISCARD} (`#skip` set to
   * the whole frame's size).
   */
  #header(c: Uint8Array, s: number, e: number, off: number): number {
    const sh = this.#shape;
    const avail = e - s;
    const b = sh.beforeBytes;
    if (avail < b) return NEED_MORE;
    if (b > 0 && !this.#checkMagic(c, s, sh.beforeFields, off)) return FAILED;
    const p = s + b;
    let value: number;
    let w: number;
    switch (sh.lengthKind) {
      case LEN_FIXED: {
        w = sh.lengthBytes;
        if (avail < b + w) return NEED_MORE;
        if (w !== 8) {
          value = readUint(c, p, w, sh.lengthLittleEndian);
        } else {
          const x = readUint(c, p, 4, false);
          const y = readUint(c, p + 4, 4, false);
          const le = sh.lengthLittleEndian;
          const hi = le ? readUint(c, p + 4, 4, true) : x;
          const lo = le ? readUint(c, p, 4, true) : y;
          if (hi >= 0x200000) {
            // ≥ 2^53: beyond any maxLength; reported exactly.
            const exact = ((BigInt(hi) << 32n) | BigInt(lo)).toString();
            return this.#tooLong(Number(exact), off + b + 7, b + 8, exact);
          }
          value = hi * TWO_32 + lo;
        }
        break;
      }
      case LEN_VARINT: {
        value = 0;
        let mul = 1;
        let k = 0;
        for (;;) {
          if (p + k >= e) return NEED_MORE;
          const byte = c[p + k]!;
          value += (byte & 0x7f) * mul;
          k++;
          // Fail fast: what has arrived is already a lower bound of the length (not in discard
          // mode, which needs the whole length to know how much to skip).
          const least = value + sh.delta - sh.lengthWidthFactor * sh.lengthMaxBytes;
          if (least > sh.maxLength && !sh.discard) return this.#tooLong(least, off + b + k - 1, 0);
          if (byte < 0x80) {
            if (byte === 0 && k > 1 && sh.varintMinimal) {
              return this.#error("overlong varint", off + b + k - 1, "varint length is padded");
            }
            break;
          }
          if (k >= sh.lengthMaxBytes) {
            return this.#error(
              "overlong varint",
              off + b + k - 1,
              `varint length longer than ${sh.lengthMaxBytes} bytes`,
            );
          }
          mul *= 128;
        }
        w = k;
        break;
      }
      case LEN_CUSTOM: {
        const codec = sh.custom!;
        const end = Math.min(e, p + codec.maxBytes);
        let r: readonly [number, number] | undefined;
        try {
          r = codec.read(c, p, end);
        } catch (err) {
          return this.#error("bad length", off + b, `custom length reader: ${String(err)}`);
        }
        if (r === undefined) {
          if (end - p >= codec.maxBytes) {
            return this.#error("bad length", off + b, `no length in ${codec.maxBytes} bytes`);
          }
          return NEED_MORE;
        }
        [value, w] = r;
        if (
          !Number.isSafeInteger(value) ||
          value < 0 ||
          !Number.isInteger(w) ||
          w < 1 ||
          w > end - p
        ) {
          return this.#error(
            "bad length",
            off + b,
            `custom length reader returned [${value}, ${w}]`,
          );
        }
        break;
      }
      default:
        // LEN_NONE: fixed-size frames (checked against maxLength by the shape).
        w = 0;
        value = 0;
    }
    const plen =
      sh.lengthKind === LEN_NONE ? sh.fixedLength : value + sh.delta - sh.lengthWidthFactor * w;
    if (plen < 0) {
      return this.#error(
        "length too short",
        off + b + w - 1,
        `length ${value} is too short for the header and trailer it counts`,
        plen,
      );
    }
    if (plen > sh.maxLength) return this.#tooLong(plen, off + b + w - 1, b + w);
    const h = b + w + sh.afterBytes;
    if (avail < h) return NEED_MORE;
    if (sh.afterBytes > 0 && !this.#checkMagic(c, p + w, sh.afterFields, off + b + w))
      return FAILED;
    this.#plen = plen;
    return h;
  }

  #tooLong(plen: number, offset: number, headSoFar: number, exact?: string): number {
    const sh = this.#shape;
    const shown = exact ?? String(plen);
    const error = new ShapeError(
      "length too long",
      sh.name,
      offset,
      `announced length ${shown} exceeds maxLength ${sh.maxLength}`,
      plen,
    );
    if (!sh.discard) {
      this.fail(error);
      return FAILED;
    }
    // The whole frame's size, counted from its first byte.
    this.#skip = headSoFar + sh.afterBytes + plen + sh.trailerBytes;
    const sink: ShapeSink<Fr> = this.sink;
    sink.onDiscard?.(error);
    return DISCARD;
  }

  /** Delivers the frame whose header is `c[s..s+h)` and whose payload and trailer follow in `c`. */
  #deliver(c: Uint8Array, s: number, h: number, off: number): void {
    const sh = this.#shape;
    const plen = this.#plen;
    const ps = sh.strip < 0 ? h : sh.strip;
    let tv = 0;
    if (sh.trailer !== null) {
      const t = sh.trailer;
      tv = readUint(c, s + h + plen, t.bytes, t.endian === "little");
      if (t.compute !== undefined) {
        const from = t.covers === "frame" ? s : s + h;
        const covered = new Uint8Array(c.buffer, c.byteOffset + from, s + h + plen - from);
        if (!this.#checksum(t.compute, covered, tv, off + h + plen)) return;
      }
    }
    const payload = new Uint8Array(c.buffer, c.byteOffset + s + ps, h + plen - ps);
    this.sink.onFrame(this.#make(c, s, h, payload, tv) as Fr);
  }

  /** Checks trailer value `tv` (at stream offset `at`) against `compute(covered)`. */
  #checksum(
    compute: (b: Uint8Array) => number,
    covered: Uint8Array,
    tv: number,
    at: number,
  ): boolean {
    const bytes = this.#shape.trailerBytes;
    const want = bytes === 4 ? compute(covered) >>> 0 : compute(covered) & ((1 << (8 * bytes)) - 1);
    if (want === tv) return true;
    this.#error("bad checksum", at, `trailer ${tv} does not match ${want}`);
    return false;
  }

  /** Starts assembling a frame with header `hc[hs..hs+h)` whose remaining bytes start at `c[i]`. */
  #startBody(hc: Uint8Array, hs: number, h: number, c: Uint8Array, i: number): number {
    const sh = this.#shape;
    const total = h + this.#plen + sh.trailerBytes;
    const from =
      sh.trailer?.covers === "frame" && sh.trailer.compute ? 0 : sh.strip < 0 ? h : sh.strip;
    this.#h = h;
    this.#from = from;
    if (sh.bare) {
      this.#saved = EMPTY;
    } else if (sh.hasBytesFields) {
      this.#saved = hc.slice(hs, hs + h);
    } else {
      if (this.#savedBuf.length < h) this.#savedBuf = new Uint8Array(sh.maxHeaderBytes);
      const saved = this.#savedBuf;
      for (let k = 0; k < h; k++) saved[k] = hc[hs + k]!;
      this.#saved = saved;
    }
    const asm = this.#asm;
    asm.start(total - from, c, i);
    if (from < h) asm.take(hc.subarray(hs, hs + h), from);
    const took = asm.take(c, i);
    this.#state = BODY;
    return took;
  }

  /** Delivers the assembled frame. */
  #finishBody(endOffset: number): void {
    const sh = this.#shape;
    const h = this.#h;
    const from = this.#from;
    const plen = this.#plen;
    const buf = this.#asm.finish();
    const saved = this.#saved;
    this.#saved = EMPTY;
    this.#state = HEADER;
    let tv = 0;
    if (sh.trailer !== null) {
      const t = sh.trailer;
      tv = readUint(buf, h + plen - from, t.bytes, t.endian === "little");
      if (t.compute !== undefined) {
        const covered = buf.subarray(t.covers === "frame" ? 0 : h - from, h + plen - from);
        if (!this.#checksum(t.compute, covered, tv, endOffset - t.bytes)) return;
      }
    }
    const ps = sh.strip < 0 ? h : sh.strip;
    const payload =
      ps === from && sh.trailerBytes === 0 ? buf : buf.subarray(ps - from, h + plen - from);
    this.sink.onFrame(this.#make(saved, 0, h, payload, tv) as Fr);
  }

  /**
   * The hot loop for fixed-width lengths of 1 to 4 bytes and no trailer or magic: whole frames
   * inside the chunk, delivered as views. Returns where it stopped; anything else (a partial
   * frame, an error, a switch of shape) goes back to the general loop.
   */
  #fast(c: Uint8Array, start: number): number {
    const sh = this.#shape;
    const n = c.length;
    const b = sh.beforeBytes;
    const w = sh.lengthBytes;
    const h = b + w + sh.afterBytes;
    const le = sh.lengthLittleEndian;
    const delta = sh.delta - sh.lengthWidthFactor * w;
    const max = sh.maxLength;
    const ps = sh.strip < 0 ? h : sh.strip;
    const make = this.#make;
    const sink = this.sink;
    // Read at the first whole frame, once: on a Buffer these are slow getters.
    let ab: ArrayBufferLike | null = null;
    let bo = 0;
    let i = start;
    while (n - i >= h) {
      const p = i + b;
      let value: number;
      if (w === 4) {
        value = le
          ? (c[p]! | (c[p + 1]! << 8) | (c[p + 2]! << 16) | (c[p + 3]! << 24)) >>> 0
          : ((c[p]! << 24) | (c[p + 1]! << 16) | (c[p + 2]! << 8) | c[p + 3]!) >>> 0;
      } else if (w === 2) {
        value = le ? c[p]! | (c[p + 1]! << 8) : (c[p]! << 8) | c[p + 1]!;
      } else if (w === 1) {
        value = c[p]!;
      } else {
        value = readUint(c, p, 3, le);
      }
      const plen = value + delta;
      if (plen < 0 || plen > max || n - i - h < plen) break;
      if (ab === null) {
        ab = c.buffer;
        bo = c.byteOffset;
      }
      const payload = new Uint8Array(ab, bo + i + ps, h + plen - ps);
      const frame = make(c, i, h, payload, 0) as Fr;
      i += h + plen;
      sink.onFrame(frame);
      if (this.halted || this.#switched) return i;
    }
    return i;
  }

  protected parse(c: Uint8Array): number {
    const n = c.length;
    let i = 0;
    while (i < n) {
      this.#switched = false;
      const state = this.#state;
      if (state === BODY) {
        const asm = this.#asm;
        i += asm.take(c, i);
        if (!asm.complete) return i;
        this.#finishBody(this.base + i);
        if (this.halted) return i;
        continue;
      }
      if (state === SKIP) {
        const drop = Math.min(this.#skip, n - i);
        i += drop;
        this.#skip -= drop;
        if (this.#skip > 0) return i;
        this.#state = HEADER;
        continue;
      }
      const sh = this.#shape;
      if (this.#hdrLen === 0) {
        if (sh.fastPath) {
          i = this.#fast(c, i);
          if (this.halted || i === n) return i;
          if (this.#switched) continue;
        }
        const r = this.#header(c, i, n, this.base + i);
        if (r === FAILED) return n;
        if (r === DISCARD) {
          this.#state = SKIP;
          continue;
        }
        if (r === NEED_MORE) {
          this.#hdr.set(c.subarray(i, n), 0);
          this.#hdrLen = n - i;
          this.#frameStart = this.base + i;
          return n;
        }
        const total = r + this.#plen + sh.trailerBytes;
        if (n - i >= total) {
          this.#deliver(c, i, r, this.base + i);
          i += total;
          if (this.halted) return i;
          continue;
        }
        const took = this.#startBody(c, i, r, c, i + r);
        return i + r + took;
      }
      // A header arriving across chunks: append what may belong to it, then try again.
      const held = this.#hdrLen;
      const take = Math.min(this.#hdr.length - held, n - i);
      for (let k = 0; k < take; k++) this.#hdr[held + k] = c[i + k]!;
      this.#hdrLen = held + take;
      const r = this.#header(this.#hdr, 0, this.#hdrLen, this.#frameStart);
      if (r === FAILED) return n;
      if (r === NEED_MORE) {
        // Cannot stall: `#hdr` holds the longest header, which always gives an answer.
        if (take === 0) return n;
        i += take;
        continue;
      }
      this.#hdrLen = 0;
      if (r === DISCARD) {
        this.#skip -= held; // those bytes were consumed with the earlier chunks
        this.#state = SKIP;
        continue;
      }
      i += r - held;
      const total = r + this.#plen + sh.trailerBytes;
      if (total === r) {
        this.#deliver(this.#hdr.slice(0, r), 0, r, this.#frameStart);
        if (this.halted) return i;
        continue;
      }
      i += this.#startBody(this.#hdr, 0, r, c, i);
      if (!this.#asm.complete) return i;
      this.#finishBody(this.base + i);
      if (this.halted) return i;
    }
    return i;
  }
}

/** A {@link DecoderFactory} of {@link ShapeDecoder}s for `shape`. */
export function shapeDecoder<Fr extends object>(shape: Shape<Fr>): DecoderFactory<Fr> {
  return (sink) => new ShapeDecoder<Fr>(sink, shape);
}
