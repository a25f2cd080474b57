/**
 * AMP box codec: the sans-I/O {@link BoxDecoder} and the {@link encodeBox} encoder for Twisted's wire
 * format (twisted.protocols.amp, reference §4.1):
 *
 * ```
 * box  := pair* 0x00 0x00
 * pair := keylen(uint16 BE, 1..255) key  vallen(uint16 BE, 0..65535) value
 * ```
 */
import type { Decoder, DecoderFactory, DecoderSink } from "../framing/decoder.js";
import { keepShape } from "../framing/v8.js";
import { BoxTooLarge, MalformedAmpBox, TooLong } from "./errors.js";

/**
 * One AMP box. Keys are byte strings decoded as latin1 (one char per byte, U+0000..U+00FF), so any
 * key round-trips; values are raw bytes.
 */
export type AmpBox = Map<string, Uint8Array>;

/** Longest key (Twisted's `MAX_KEY_LENGTH`). */
export const MAX_KEY_LENGTH = 0xff;
/** Longest value (Twisted's `MAX_VALUE_LENGTH`). */
export const MAX_VALUE_LENGTH = 0xffff;

/** Options of {@link BoxDecoder}. */
export interface BoxDecoderOptions {
  /**
   * Largest box accepted, in wire bytes (keys, values, length prefixes and terminator). Checked as soon
   * as a value length is known, before its bytes are buffered. Twisted has no such limit.
   * Default 16777216 (16 MiB).
   */
  maxBoxBytes?: number;
  /**
   * Most key/value pairs in one box (duplicates counted). Bounds the per-pair overhead that tiny
   * pairs would otherwise cost. Default 4096.
   */
  maxKeys?: number;
}

const DEFAULT_MAX_BOX_BYTES = 16 * 1024 * 1024;
const DEFAULT_MAX_KEYS = 4096;
/** Partial-pair buffers up to this size are kept for reuse; bigger ones belong to one pair. */
const SMALL_PARTIAL = 4096;

const EMPTY = new Uint8Array(0);

// Keys repeat from box to box (`_ask`, `_command`, argument names): a small direct-mapped cache of
// key strings avoids building a new string per key, which dominates the cost of a small box.
const KEY_CACHE_SIZE = 512;
const KEY_CACHE_MAX_LEN = 32;

function latin1(buf: Uint8Array, start: number, len: number): string {
  if (len <= 16) {
    let s = "";
    for (let i = start, end = start + len; i < end; i++) s += String.fromCharCode(buf[i]!);
    return s;
  }
  return String.fromCharCode.apply(null, buf.subarray(start, start + len) as unknown as number[]);
}

/**
 * Incremental decoder of a stream of AMP boxes. Feed it chunks of any size; each complete box goes to
 * `sink.onFrame` in order, and malformed input ends in exactly one typed error on `sink.onError`, after
 * which the decoder is `failed` and ignores further input:
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
 * it, or if the chunk's memory will be reused. Values of a box that straddles chunks are copied,
 * so the decoder never keeps a reference to a chunk after `feed` returns.
 */
export class BoxDecoder implements Decoder {
  private readonly sink: DecoderSink<AmpBox>;
  private readonly maxBoxBytes: number;
  private readonly maxKeys: number;
  private _failed = false;
  /** Box being assembled across chunks (its values are copies), or null. */
  private pending: AmpBox | null = null;
  private pendingBytes = 0;
  private pendingKeys = 0;
  /** Bytes of an incomplete pair (or terminator) carried over from the previous chunk. */
  private partial: Uint8Array = EMPTY;
  private partialLen = 0;
  private readonly keyCache: (string | undefined)[] = new Array(KEY_CACHE_SIZE);

  constructor(sink: DecoderSink<AmpBox>, opts: BoxDecoderOptions = {}) {
    this.sink = sink;
    this.maxBoxBytes = opts.maxBoxBytes ?? DEFAULT_MAX_BOX_BYTES;
    this.maxKeys = opts.maxKeys ?? DEFAULT_MAX_KEYS;
  }

  get failed(): boolean {
    return this._failed;
  }

  /** Bytes received that are not yet part of a delivered box. */
  get bufferedBytes(): number {
    return this.pendingBytes + this.partialLen;
  }

  feed(chunk: Uint8Array): void {
    if (this._failed || chunk.length === 0) return;
    let pos = 0;
    if (this.partialLen > 0) {
      pos = this.completePartial(chunk);
      if (pos < 0) return;
    }
    this.parse(chunk, pos);
  }

  end(): void {
    if (this._failed) return;
    if (this.pending !== null || this.partialLen > 0) {
      const held = this.bufferedBytes;
      this.pending = null;
      this.partial = EMPTY;
      this.partialLen = 0;
      this.pendingBytes = 0;
      this.fail(new MalformedAmpBox(`Input ended inside an AMP box (${held} bytes held).`));
    }
  }

  private fail(error: Error): void {
    this._failed = true;
    this.pending = null;
    this.partial = EMPTY;
    this.partialLen = 0;
    this.pendingBytes = 0;
    this.sink.onError(error);
  }

  /**
   * The key `buf[start, start + len)` (len ≥ 1) as a string, from this decoder's cache when it was
   * seen before. Internal: also used by the AMP protocol's in-place reader.
   */
  key(buf: Uint8Array, start: number, len: number): string {
    if (len > KEY_CACHE_MAX_LEN) return latin1(buf, start, len);
    const last = buf[start + len - 1]!;
    const slot =
      (len * 31 + buf[start]! * 7 + last * 13 + buf[start + (len >> 1)]!) & (KEY_CACHE_SIZE - 1);
    const cached = this.keyCache[slot];
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
    this.keyCache[slot] = s;
    return s;
  }

  /**
   * Adds bytes from `chunk` to the carried-over partial pair until it is complete, then handles it.
   * Returns the position in `chunk` after the bytes used, or -1 when the chunk was used up (or the
   * decoder failed).
   */
  private completePartial(chunk: Uint8Array): number {
    let pos = 0;
    const n = chunk.length;
    for (;;) {
      const have = this.partialLen;
      const p = this.partial;
      let need: number;
      if (have < 2) need = 2;
      else {
        if (p[0] !== 0) {
          this.fail(new TooLong(true, false, null, null, (p[0]! << 8) | p[1]!));
          return -1;
        }
        const klen = p[1]!;
        if (klen === 0) need = 2;
        else if (have < 4 + klen) need = 4 + klen;
        else {
          const vlen = (p[2 + klen]! << 8) | p[3 + klen]!;
          need = 4 + klen + vlen;
          if (have === 4 + klen && !this.checkPair(klen, vlen)) return -1;
        }
      }
      if (have >= need) break;
      const take = Math.min(need - have, n - pos);
      if (take === 0) return -1;
      this.ensurePartial(need);
      // The whole chunk as it is, else a plain view: a Buffer's `subarray` goes through its species
      // constructor, which costs more than copying a 1 KiB chunk.
      this.partial.set(
        take === n ? chunk : new Uint8Array(chunk.buffer, chunk.byteOffset + pos, take),
        have,
      );
      this.partialLen = have + take;
      pos += take;
    }
    // The partial buffer now holds exactly one complete pair or a terminator.
    const p = this.partial;
    const klen = p[1]!;
    this.partialLen = 0;
    if (klen === 0) {
      const box = this.pending ?? new Map();
      this.pending = null;
      this.pendingBytes = 0;
      this.pendingKeys = 0;
      this.sink.onFrame(box);
      if (this._failed) return -1;
    } else {
      const vlen = (p[2 + klen]! << 8) | p[3 + klen]!;
      const key = this.key(p, 2, klen);
      // A big pair had a buffer of its own: its value is a view of it, and the buffer is let go
      // below. A small one is copied out of the reusable partial buffer.
      const value =
        p.length > SMALL_PARTIAL
          ? new Uint8Array(p.buffer, p.byteOffset + 4 + klen, vlen)
          : p.slice(4 + klen, 4 + klen + vlen);
      if (this.pending === null) this.pending = new Map();
      this.pending.set(key, value);
      this.pendingBytes += 4 + klen + vlen;
      this.pendingKeys++;
    }
    if (this.partial.length > SMALL_PARTIAL) this.partial = EMPTY;
    return pos;
  }

  private ensurePartial(need: number): void {
    if (this.partial.length >= need) return;
    // Exact size for a big pair (its final size is known by then: key and value lengths).
    const size = need <= 256 ? 256 : need <= SMALL_PARTIAL ? SMALL_PARTIAL : need;
    // A big pair's buffer skips the zero-fill: it is handed out (as the value's view) only once
    // every byte of the pair has been copied in.
    let next: Uint8Array;
    if (size > SMALL_PARTIAL) {
      const raw = Buffer.allocUnsafeSlow(size);
      next = new Uint8Array(raw.buffer, raw.byteOffset, size);
    } else next = new Uint8Array(size);
    next.set(this.partial.subarray(0, this.partialLen));
    this.partial = next;
  }

  /** Checks the limits for one more pair on the pending box; fails and returns false when exceeded. */
  private checkPair(klen: number, vlen: number): boolean {
    if (this.pendingKeys + 1 > this.maxKeys) {
      this.fail(new BoxTooLarge("maxKeys", this.maxKeys));
      return false;
    }
    if (this.pendingBytes + 6 + klen + vlen > this.maxBoxBytes) {
      this.fail(new BoxTooLarge("maxBoxBytes", this.maxBoxBytes));
      return false;
    }
    return true;
  }

  private parse(chunk: Uint8Array, start: number): void {
    const n = chunk.length;
    const ab = chunk.buffer;
    const base = chunk.byteOffset;
    const maxKeys = this.maxKeys;
    const maxBoxBytes = this.maxBoxBytes;
    let pos = start;
    let box = this.pending;
    let boxBytes = this.pendingBytes;
    let keys = this.pendingKeys;
    // Position of the first pair of `box` taken from this chunk (its values are views into it).
    const firstViewPos = pos;
    // Wire size of the pair cut by the end of the chunk, when its lengths are known.
    let carry = 0;
    while (pos + 2 <= n) {
      const k0 = chunk[pos]!;
      const klen = chunk[pos + 1]!;
      if (k0 !== 0) {
        this.fail(new TooLong(true, false, null, null, (k0 << 8) | klen));
        return;
      }
      if (klen === 0) {
        pos += 2;
        const done = box ?? new Map<string, Uint8Array>();
        box = null;
        boxBytes = 0;
        keys = 0;
        this.pending = null;
        this.pendingBytes = 0;
        this.pendingKeys = 0;
        this.sink.onFrame(done);
        if (this._failed) return;
        continue;
      }
      const vpos = pos + 2 + klen;
      if (vpos + 2 > n) break;
      const vlen = (chunk[vpos]! << 8) | chunk[vpos + 1]!;
      if (++keys > maxKeys) {
        this.fail(new BoxTooLarge("maxKeys", maxKeys));
        return;
      }
      boxBytes += 4 + klen + vlen;
      if (boxBytes + 2 > maxBoxBytes) {
        this.fail(new BoxTooLarge("maxBoxBytes", maxBoxBytes));
        return;
      }
      const end = vpos + 2 + vlen;
      if (end > n) {
        keys--;
        boxBytes -= 4 + klen + vlen;
        carry = end - pos;
        break;
      }
      if (box === null) box = new Map();
      box.set(this.key(chunk, pos + 2, klen), new Uint8Array(ab, base + vpos + 2, vlen));
      pos = end;
    }
    // Whatever is left is an incomplete pair or terminator: carry it over, and detach the pending
    // box's values from this chunk.
    if (box !== null) {
      if (pos > firstViewPos) {
        for (const [k, v] of box) {
          if (v.buffer === ab) box.set(k, v.slice());
        }
      }
      this.pending = box;
      this.pendingBytes = boxBytes;
      this.pendingKeys = keys;
    }
    const rest = n - pos;
    if (rest > 0) {
      this.ensurePartial(Math.max(rest, carry));
      this.partial.set(rest === n ? chunk : new Uint8Array(ab, base + pos, rest), 0);
      this.partialLen = rest;
    }
  }
}

/**
 * A {@link DecoderFactory} of {@link BoxDecoder}s with `options`, for the stream adapters
 * (`toNodeTransform(boxDecoder())`, `decodeIterable(boxDecoder(), socket)`). The adapters pass boxes
 * on as they are: their values are views of the socket chunks (see {@link copyBox}).
 */
export function boxDecoder(options: BoxDecoderOptions = {}): DecoderFactory<AmpBox> {
  return (sink) => new BoxDecoder(sink, options);
}

/** A copy of `box` whose values are detached from the chunks they were decoded from. */
export function copyBox(box: AmpBox): AmpBox {
  const out: AmpBox = new Map();
  for (const [k, v] of box) out.set(k, new Uint8Array(v));
  return out;
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
 * Collects the boxes of {@link decodeBoxes}. A class with prototype methods rather than a literal
 * of closures made per call: V8 inlines the sink's `onFrame` into the decoder's optimised code as a
 * constant, and a closure that dies then makes every GC discard that code ("weak objects").
 */
class CollectingSink implements DecoderSink<AmpBox> {
  readonly boxes: AmpBox[] = [];
  error: Error | null = null;
  onFrame(box: AmpBox): void {
    this.boxes.push(box);
  }
  onError(e: Error): void {
    this.error = e;
  }
}

type Entry = readonly [string, Uint8Array];

// Keys repeat from box to box: their validated latin1 bytes are cached (bounded; cleared when full),
// so encoding a key is one lookup and a short copy.
const KEY_BYTES_CACHE_MAX = 2048;
const keyBytesCache = new Map<string, Uint8Array>();

function keyBytes(k: string): Uint8Array {
  const cached = keyBytesCache.get(k);
  if (cached !== undefined) return cached;
  if (typeof k !== "string" || k.length === 0) {
    throw new MalformedAmpBox("AMP box keys must be non-empty strings.");
  }
  const bytes = new Uint8Array(k.length);
  for (let i = 0; i < k.length; i++) {
    const c = k.charCodeAt(i);
    if (c > 0xff) {
      throw new MalformedAmpBox(
        `AMP box key ${JSON.stringify(k)} is not a byte string (character above U+00FF).`,
      );
    }
    bytes[i] = c;
  }
  if (k.length > MAX_KEY_LENGTH) throw new TooLong(true, true, bytes, null);
  if (keyBytesCache.size >= KEY_BYTES_CACHE_MAX) keyBytesCache.clear();
  keyBytesCache.set(k, bytes);
  return bytes;
}

/** A box's pairs, validated, in bytewise key order, and its wire size. */
interface Prepared {
  keys: string[];
  kbs: Uint8Array[];
  values: Uint8Array[];
  size: number;
}

function prepare(box: AmpBox | Iterable<Entry>): Prepared {
  // Duplicate keys from an iterable: last wins, as in a Python dict.
  const map: ReadonlyMap<string, Uint8Array> =
    box instanceof Map ? box : new Map<string, Uint8Array>(box as Iterable<Entry>);
  const keys: string[] = [];
  const kbs: Uint8Array[] = [];
  const values: Uint8Array[] = [];
  let size = 2;
  let sorted = true;
  for (const [k, v] of map) {
    const kb = keyBytes(k);
    if (!(v instanceof Uint8Array)) {
      throw new MalformedAmpBox(`AMP box value for key ${JSON.stringify(k)} is not a Uint8Array.`);
    }
    if (v.length > MAX_VALUE_LENGTH) throw new TooLong(false, true, v, k);
    const n = keys.length;
    if (n > 0 && keys[n - 1]! > k) sorted = false;
    keys.push(k);
    kbs.push(kb);
    values.push(v);
    size += 4 + kb.length + v.length;
  }
  // Latin1 keys: UTF-16 code unit order is byte order. Insertion sort on the few keys a box has.
  if (!sorted) {
    for (let i = 1; i < keys.length; i++) {
      const k = keys[i]!;
      const kb = kbs[i]!;
      const v = values[i]!;
      let j = i - 1;
      while (j >= 0 && keys[j]! > k) {
        keys[j + 1] = keys[j]!;
        kbs[j + 1] = kbs[j]!;
        values[j + 1] = values[j]!;
        j--;
      }
      keys[j + 1] = k;
      kbs[j + 1] = kb;
      values[j + 1] = v;
    }
  }
  return { keys, kbs, values, size };
}

function write(out: Uint8Array, at: number, p: Prepared): number {
  let pos = at;
  const { kbs, values } = p;
  for (let i = 0; i < kbs.length; i++) {
    const kb = kbs[i]!;
    const v = values[i]!;
    const klen = kb.length;
    out[pos] = 0;
    out[pos + 1] = klen;
    pos += 2;
    if (klen < 16) for (let j = 0; j < klen; j++) out[pos + j] = kb[j]!;
    else out.set(kb, pos);
    pos += klen;
    const vlen = v.length;
    out[pos] = vlen >>> 8;
    out[pos + 1] = vlen & 0xff;
    pos += 2;
    if (vlen < 16) for (let j = 0; j < vlen; j++) out[pos + j] = v[j]!;
    else out.set(v, pos);
    pos += vlen;
  }
  out[pos] = 0;
  out[pos + 1] = 0;
  return pos + 2;
}

// Small outputs are carved out of a shared 8 KiB slab, as Node's Buffer.allocUnsafe does, but as
// plain Uint8Arrays (a Buffer's `slice()` is a view, a Uint8Array's is a copy: users expect the latter).
const SLAB_SIZE = 8192;
let slab = new ArrayBuffer(SLAB_SIZE);
let slabUsed = 0;

function allocate(size: number): Uint8Array {
  if (size > SLAB_SIZE >>> 2) return new Uint8Array(size);
  if (slabUsed + size > SLAB_SIZE) {
    slab = new ArrayBuffer(SLAB_SIZE);
    slabUsed = 0;
  }
  const out = new Uint8Array(slab, slabUsed, size);
  // Keep the next allocation 8-byte aligned.
  slabUsed = (slabUsed + size + 7) & ~7;
  return out;
}

/**
 * Encodes one box: keys sorted bytewise (as Twisted's serializer does), each pair as
 * `uint16 klen, key, uint16 vlen, value`, then `00 00`. Every key and value is checked before anything
 * is produced: a key over 255 bytes throws {@link TooLong} (`isKey`, `isLocal`, `value` = the key's
 * bytes), a value over 65535 bytes throws {@link TooLong} (`isLocal`, `keyName` = the key), an empty
 * or non-latin1 key or a non-Uint8Array value throws {@link MalformedAmpBox}. From an iterable of
 * pairs, a duplicate key's last value wins. Returns one new `Uint8Array` (a small one is a view of a
 * shared 8 KiB slab, as Node's `Buffer.allocUnsafe` does; `.slice()` copies it).
 */
export function encodeBox(box: AmpBox | Iterable<Entry>): Uint8Array {
  const p = prepare(box);
  const out = allocate(p.size);
  write(out, 0, p);
  return out;
}

/**
 * Encodes several boxes into one buffer (e.g. the replies to one read, sent in one write). All boxes
 * are validated first, as {@link encodeBox} does, so nothing is produced when one is invalid.
 */
export function encodeBoxes(boxes: Iterable<AmpBox | Iterable<Entry>>): Uint8Array {
  const all: Prepared[] = [];
  let total = 0;
  for (const box of boxes) {
    const p = prepare(box);
    total += p.size;
    all.push(p);
  }
  const out = allocate(total);
  let pos = 0;
  for (const p of all) pos = write(out, pos, p);
  return out;
}

/**
 * A decoder (and a collecting sink) kept alive for the life of the process, so that V8 keeps the
 * hidden classes ("maps") they go through as their fields are set: V8 holds them only weakly, and
 * once every instance has died a GC frees them and discards all optimised code that checks them
 * ("weak objects" in `--trace-deopt`). Fed a partial box: its carry-over fields get set and nothing
 * is delivered.
 */
const shapeKeeper = new BoxDecoder(new CollectingSink());
shapeKeeper.feed(new Uint8Array([0, 1, 0x61, 0, 2, 0x62]));
keepShape(shapeKeeper);
