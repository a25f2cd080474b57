/**
 * The AMP box decoder: the one reader of the box grammar (see `box.ts`). Every consumer goes
 * through it: the AMP protocol reads boxes as {@link BoxView}s (pair positions, no Map), and
 * {@link BoxDecoder} with a plain `DecoderSink` delivers each box as a Map (the stream adapters,
 * {@link decodeBoxes}, AmpList values).
 */
import type { Decoder, DecoderFactory, DecoderSink } from "../framing/decoder.js";
import { keepShape } from "../framing/v8.js";
import type { AmpBox } from "./box.js";
import { BoxTooLarge, MalformedAmpBox, TooLong } from "./errors.js";

/** Options of {@link BoxDecoder}. */
export interface BoxDecoderOptions {
  /**
   * Largest box accepted, in wire bytes (keys, values, length prefixes and terminator). Checked as soon
   * as a value length is known, before its bytes are buffered. Twisted has no such limit.
   * Default 1048576 (1 MiB; see `DEFAULT_MAX_BOX_BYTES`).
   */
  maxBoxBytes?: number;
  /**
   * Most key/value pairs in one box (duplicates counted). Bounds the per-pair overhead that tiny
   * pairs would otherwise cost. Default 4096.
   */
  maxKeys?: number;
}

/**
 * 1 MiB. A Twisted peer never sends a value over 65,535 bytes (its `MAX_VALUE_LENGTH`) nor a key over
 * 255, and its commands carry a handful of arguments: 1 MiB holds sixteen maximal values, more than
 * any box a Twisted peer sends in practice. It was 16 MiB: then 60 connections each holding an
 * unfinished box took 1 GB, and each connection can still hold a full box while it arrives (the
 * memory budget of the port bounds their sum, see `core/memory-budget.ts`). Peers that opt in to
 * values over 64 KiB (`bigValue`) and send more than 1 MiB in one box raise it on both sides with
 * `decoder: { maxBoxBytes }`.
 */
const DEFAULT_MAX_BOX_BYTES = 1024 * 1024;
const DEFAULT_MAX_KEYS = 4096;
/** Carry buffers up to this size are kept for reuse; bigger ones belong to one box. */
const SMALL_CARRY = 4096;
const EMPTY = new Uint8Array(0);

// Keys repeat from box to box (`_ask`, `_command`, argument names): a small direct-mapped cache of
// key strings avoids building a new string per key, which dominates the cost of a small box.
const KEY_CACHE_SIZE = 512;
const KEY_CACHE_MAX_LEN = 32;

/** The latin1 text of `buf[start, start + len)` (one char per byte). */
function latin1(buf: Uint8Array, start: number, len: number): string {
  if (len <= 16) {
    let s = "";
    for (let i = start, end = start + len; i < end; i++) s += String.fromCharCode(buf[i]!);
    return s;
  }
  const text: string = Reflect.apply(String.fromCharCode, null, buf.subarray(start, start + len));
  return text;
}

/**
 * One decoded box, as the positions of its pairs in the bytes it lies in: pair `i` has its key at
 * `buf[pairs[4i], +pairs[4i+1])` and its value at `buf[pairs[4i+2], +pairs[4i+3])`, in wire order
 * (a later duplicate key wins). The decoder reuses one view for every box: it is valid only while
 * `onBox` runs.
 */
export class BoxView {
  /** The bytes the box lies in: the chunk being fed, or the decoder's own copy of a cut box. */
  buf: Uint8Array = EMPTY;
  // `buf`'s memory, read once per chunk: `.buffer` of a Node Buffer is a slow getter.
  #ab: ArrayBufferLike = EMPTY.buffer;
  #base = 0;
  /** Number of pairs. */
  count = 0;
  /** `[keyPos, keyLen, valuePos, valueLen]` per pair. */
  pairs: Int32Array = new Int32Array(64);
  /**
   * True when `buf` is the decoder's own buffer, reused after `onBox` returns (copy values to keep
   * them); false when `buf` is the chunk being fed.
   */
  transient = false;
  readonly #keyCache: (string | undefined)[] = new Array(KEY_CACHE_SIZE);

  /** Points the view at `buf` (see {@link BoxView.transient}). */
  reset(buf: Uint8Array, transient: boolean): void {
    this.buf = buf;
    this.#ab = buf.buffer;
    this.#base = buf.byteOffset;
    this.transient = transient;
  }

  /** The index of the last pair whose key bytes are `key`, or -1. */
  find(key: Uint8Array): number {
    const pairs = this.pairs;
    const buf = this.buf;
    const klen = key.length;
    search: for (let i = this.count - 1; i >= 0; i--) {
      const at = i << 2;
      if (pairs[at + 1] !== klen) continue;
      const kpos = pairs[at]!;
      for (let j = 0; j < klen; j++) if (buf[kpos + j] !== key[j]) continue search;
      return i;
    }
    return -1;
  }

  /** The value of pair `i`, as a view of `buf`. */
  value(i: number): Uint8Array {
    const at = i << 2;
    return new Uint8Array(this.#ab, this.#base + this.pairs[at + 2]!, this.pairs[at + 3]!);
  }

  /** The key of pair `i` as latin1 text (cached: keys repeat from box to box). */
  key(i: number): string {
    const at = i << 2;
    return this.#key(this.buf, this.pairs[at]!, this.pairs[at + 1]!);
  }

  #key(buf: Uint8Array, start: number, len: number): string {
    if (len > KEY_CACHE_MAX_LEN) return latin1(buf, start, len);
    const last = buf[start + len - 1]!;
    const slot =
      (len * 31 + buf[start]! * 7 + last * 13 + buf[start + (len >> 1)]!) & (KEY_CACHE_SIZE - 1);
    const cached = this.#keyCache[slot];
    if (cached !== undefined && cached.length === len) {
      let same = true;
      for (let i = 0; i < len; i++) {
        if (cached.charCodeAt(i) !== buf[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return cached;
    }
    const s = latin1(buf, start, len);
    this.#keyCache[slot] = s;
    return s;
  }

  /**
   * The box as a Map (a later duplicate key wins). Values are views of `buf`, or copies when the
   * view is `transient`.
   */
  toMap(): AmpBox {
    const box: AmpBox = new Map();
    const copy = this.transient;
    const pairs = this.pairs;
    const ab = this.#ab;
    const base = this.#base;
    const buf = this.buf;
    for (let at = 0, end = this.count << 2; at < end; at += 4) {
      const v = new Uint8Array(ab, base + pairs[at + 2]!, pairs[at + 3]!);
      box.set(this.#key(buf, pairs[at]!, pairs[at + 1]!), copy ? v.slice() : v);
    }
    return box;
  }
}

/** The sink of a {@link BoxDecoder} that reads boxes in place: `onBox` gets the decoder's view. */
export interface BoxViewSink {
  /** Called with each complete box; the view is valid during the call only. */
  onBox(box: BoxView): void;
  /** Called once with the error that ends the stream (an AmpDecodeError); nothing follows. */
  onError(error: Error): void;
}

/**
 * Hands each box on as a Map. A class with prototype methods rather than closures made per decoder:
 * V8 inlines `onBox` into the decoder's optimised code as a constant, and a closure that dies then
 * makes every GC discard that code ("weak objects").
 */
class MapSink implements BoxViewSink {
  readonly #sink: DecoderSink<AmpBox>;
  constructor(sink: DecoderSink<AmpBox>) {
    this.#sink = sink;
  }
  onBox(box: BoxView): void {
    this.#sink.onFrame(box.toMap());
  }
  onError(error: Error): void {
    this.#sink.onError(error);
  }
}

function isViewSink(sink: DecoderSink<AmpBox> | BoxViewSink): sink is BoxViewSink {
  return typeof (sink as Partial<BoxViewSink>).onBox === "function";
}

/** #scan's results besides a box's end: more bytes are needed, or the decoder failed. */
const INCOMPLETE = -1;
const FAILED = -2;

/**
 * Incremental decoder of a stream of AMP boxes. Feed it chunks of any size; each complete box goes to
 * the sink in order — as a Map to a `DecoderSink`'s `onFrame`, or as the decoder's {@link BoxView}
 * to a {@link BoxViewSink}'s `onBox` — and malformed input ends in exactly one typed error on
 * `sink.onError`, after which the decoder is `failed` and ignores further input:
 * - a key length prefix above 255 (any non-zero first byte): {@link TooLong} (`isKey`, not `isLocal`,
 *   `value` and `keyName` null), as Twisted reports it;
 * - a box over `maxBoxBytes` or `maxKeys`: {@link BoxTooLarge};
 * - `end()` inside a box: {@link MalformedAmpBox}.
 *
 * Keys may come in any order; for a duplicate key the last value wins. The empty box (`00 00`) is
 * delivered as an empty Map (the AMP layer rejects it with `NoEmptyBoxes`).
 *
 * **Values are views.** A value that lies inside the chunk being fed is a zero-copy `Uint8Array` view
 * into that chunk, valid while `onFrame` runs (until `feed` returns): copy it with `.slice()` to keep
 * it, or if the chunk's memory will be reused. A box that straddles chunks is copied into a buffer
 * of the decoder's, so the decoder never keeps a reference to a chunk after `feed` returns.
 */
export class BoxDecoder implements Decoder {
  readonly #sink: BoxViewSink;
  readonly #maxBoxBytes: number;
  readonly #maxKeys: number;
  readonly #view = new BoxView();
  #failed = false;
  /** Pairs and wire bytes of the box being read (its complete pairs). */
  #count = 0;
  #boxBytes = 0;
  /** Where #scan stopped: the start of the incomplete pair (or terminator). */
  #stop = 0;
  /** The bytes (in #scan's buffer) needed from #stop on before it can go further. */
  #need = 0;
  /** The start of a box cut by the end of a chunk (its first #carryLen bytes), or EMPTY. */
  #carry: Uint8Array = EMPTY;
  #carryLen = 0;

  /**
   * `sink`: a `DecoderSink` gets each box as a Map (values as described above); a
   * {@link BoxViewSink} gets the decoder's {@link BoxView} and makes no Map.
   */
  constructor(sink: DecoderSink<AmpBox> | BoxViewSink, opts: BoxDecoderOptions = {}) {
    this.#sink = isViewSink(sink) ? sink : new MapSink(sink);
    this.#maxBoxBytes = opts.maxBoxBytes ?? DEFAULT_MAX_BOX_BYTES;
    this.#maxKeys = opts.maxKeys ?? DEFAULT_MAX_KEYS;
  }

  get failed(): boolean {
    return this.#failed;
  }

  /** Bytes received that are not yet part of a delivered box. */
  get bufferedBytes(): number {
    return this.#carryLen;
  }

  feed(chunk: Uint8Array): void {
    if (this.#failed || chunk.length === 0) return;
    let pos = 0;
    if (this.#carryLen > 0) {
      pos = this.#feedCarry(chunk);
      if (pos < 0) return;
    }
    this.#parse(chunk, pos);
    // A big carry buffer serves the boxes that follow one another across chunks, and is let go of
    // as soon as a chunk ends between boxes: an idle connection holds no more than a small one.
    if (this.#carryLen === 0 && this.#carry.length > SMALL_CARRY) this.#carry = EMPTY;
  }

  end(): void {
    if (this.#failed || this.#carryLen === 0) return;
    this.#fail(
      new MalformedAmpBox(`Input ended inside an AMP box (${this.#carryLen} bytes held).`),
    );
  }

  #fail(error: Error): void {
    this.#failed = true;
    this.#carry = EMPTY;
    this.#carryLen = 0;
    this.#sink.onError(error);
  }

  /**
   * The scanning loop: reads the pairs of the current box in `buf` from `pos` up to `end`, recording
   * them in the view, and checks every limit as soon as a length is known. Returns the position after
   * the box's terminator; INCOMPLETE (#stop and #need say where and how far) or FAILED.
   */
  #scan(buf: Uint8Array, pos: number, end: number): number {
    const view = this.#view;
    let pairs = view.pairs;
    let count = this.#count;
    let bytes = this.#boxBytes;
    for (;;) {
      if (pos + 2 > end) {
        this.#need = pos + 2;
        break;
      }
      const k0 = buf[pos]!;
      const klen = buf[pos + 1]!;
      if (k0 !== 0) {
        this.#fail(new TooLong(true, false, null, null, (k0 << 8) | klen));
        return FAILED;
      }
      if (klen === 0) {
        this.#count = 0;
        this.#boxBytes = 0;
        view.count = count;
        return pos + 2;
      }
      const vpos = pos + 2 + klen;
      if (vpos + 2 > end) {
        this.#need = vpos + 2;
        break;
      }
      const vlen = (buf[vpos]! << 8) | buf[vpos + 1]!;
      if (count + 1 > this.#maxKeys) {
        this.#fail(new BoxTooLarge("maxKeys", this.#maxKeys));
        return FAILED;
      }
      const pairEnd = vpos + 2 + vlen;
      if (bytes + (pairEnd - pos) + 2 > this.#maxBoxBytes) {
        this.#fail(new BoxTooLarge("maxBoxBytes", this.#maxBoxBytes));
        return FAILED;
      }
      if (pairEnd > end) {
        this.#need = pairEnd;
        break;
      }
      const at = count << 2;
      if (at === pairs.length) pairs = this.#growPairs();
      pairs[at] = pos + 2;
      pairs[at + 1] = klen;
      pairs[at + 2] = vpos + 2;
      pairs[at + 3] = vlen;
      count++;
      bytes += pairEnd - pos;
      pos = pairEnd;
    }
    this.#count = count;
    this.#boxBytes = bytes;
    this.#stop = pos;
    return INCOMPLETE;
  }

  #growPairs(): Int32Array {
    const view = this.#view;
    const next = new Int32Array(view.pairs.length * 2);
    next.set(view.pairs);
    view.pairs = next;
    return next;
  }

  /** Delivers the boxes of `chunk` from `pos` on, and carries the start of a cut one over. */
  #parse(chunk: Uint8Array, pos: number): void {
    const n = chunk.length;
    const view = this.#view;
    view.reset(chunk, false);
    while (pos < n) {
      const end = this.#scan(chunk, pos, n);
      if (end < 0) {
        if (end === INCOMPLETE) this.#startCarry(chunk, pos);
        return;
      }
      this.#sink.onBox(view);
      if (this.#failed) return;
      pos = end;
    }
  }

  /** Copies the cut box `chunk[start..]` into the carry buffer; its pair positions move with it. */
  #startCarry(chunk: Uint8Array, start: number): void {
    const rest = chunk.length - start;
    this.#ensureCarry(Math.max(rest, this.#need - start), 0);
    this.#carry.set(
      rest === chunk.length ? chunk : new Uint8Array(chunk.buffer, chunk.byteOffset + start, rest),
      0,
    );
    this.#carryLen = rest;
    this.#stop -= start;
    const pairs = this.#view.pairs;
    for (let i = 0, at = 0; i < this.#count; i++, at += 4) {
      pairs[at] = pairs[at]! - start;
      pairs[at + 2] = pairs[at + 2]! - start;
    }
  }

  /**
   * Adds to the carried box the bytes of `chunk` it needs, a pair at a time (so no more than the
   * box is ever copied), scanning as it goes; delivers the box once complete. Returns the position
   * in `chunk` after the bytes used, or -1 when the chunk was used up (or the decoder failed).
   */
  #feedCarry(chunk: Uint8Array): number {
    const n = chunk.length;
    let pos = 0;
    for (;;) {
      const end = this.#scan(this.#carry, this.#stop, this.#carryLen);
      if (end === FAILED) return -1;
      if (end >= 0) break;
      const have = this.#carryLen;
      const take = Math.min(this.#need - have, n - pos);
      if (take === 0) return -1;
      this.#ensureCarry(this.#need, have);
      // The whole chunk as it is, else a plain view: a Buffer's `subarray` goes through its species
      // constructor, which costs more than copying a 1 KiB chunk.
      this.#carry.set(
        take === n ? chunk : new Uint8Array(chunk.buffer, chunk.byteOffset + pos, take),
        have,
      );
      this.#carryLen = have + take;
      pos += take;
    }
    const view = this.#view;
    view.reset(this.#carry, true);
    this.#carryLen = 0;
    this.#sink.onBox(view);
    return this.#failed ? -1 : pos;
  }

  /** Makes the carry buffer hold at least `need` bytes, keeping its first `keep`. */
  #ensureCarry(need: number, keep: number): void {
    const old = this.#carry;
    if (old.length >= need) return;
    let next: Uint8Array;
    if (need <= SMALL_CARRY) next = new Uint8Array(need <= 256 ? 256 : SMALL_CARRY);
    else {
      // A big box grows by doubling (linear in its size) and skips the zero-fill: its bytes are read
      // only up to #carryLen, which counts copied bytes.
      const size = Math.max(need, Math.min(2 * old.length, this.#maxBoxBytes));
      const raw = Buffer.allocUnsafeSlow(size);
      next = new Uint8Array(raw.buffer, raw.byteOffset, size);
    }
    if (keep > 0) next.set(new Uint8Array(old.buffer, old.byteOffset, keep));
    this.#carry = next;
  }
}

/**
 * A {@link DecoderFactory} of {@link BoxDecoder}s with `options`, for the stream adapters
 * (`toNodeTransform(boxDecoder())`, `decodeIterable(boxDecoder(), socket)`). The adapters pass boxes
 * on as they are: their values are views of the socket chunks (see `copyBox`).
 */
export function boxDecoder(options: BoxDecoderOptions = {}): DecoderFactory<AmpBox> {
  return (sink) => new BoxDecoder(sink, options);
}

/**
 * Collects the boxes of {@link decodeBoxes} (a class, for the reason given at {@link MapSink}).
 */
class CollectingSink implements BoxViewSink {
  readonly boxes: AmpBox[] = [];
  error: Error | null = null;
  onBox(box: BoxView): void {
    this.boxes.push(box.toMap());
  }
  onError(e: Error): void {
    this.error = e;
  }
}

/**
 * Decodes a byte string holding zero or more complete boxes (e.g. an AmpList value). Throws the
 * decoder's typed error, or {@link MalformedAmpBox} when the bytes end inside a box. Values are views
 * into `bytes`.
 */
export function decodeBoxes(bytes: Uint8Array, opts?: BoxDecoderOptions): AmpBox[] {
  const sink = new CollectingSink();
  const decoder = new BoxDecoder(sink, opts);
  decoder.feed(bytes);
  decoder.end();
  if (sink.error !== null) throw sink.error;
  return sink.boxes;
}

/**
 * A decoder (and its sinks) kept alive for the life of the process, so that V8 keeps the hidden
 * classes ("maps") they go through as their fields are set: V8 holds them only weakly, and once
 * every instance has died a GC frees them and discards all optimised code that checks them ("weak
 * objects" in `--trace-deopt`). Fed a partial box: its carry-over fields get set and nothing is
 * delivered.
 */
for (const sink of [new CollectingSink(), { onFrame(): void {}, onError(): void {} }]) {
  const shapeKeeper = new BoxDecoder(sink);
  shapeKeeper.feed(new Uint8Array([0, 1, 0x61, 0, 2, 0x62]));
  keepShape(shapeKeeper);
}
