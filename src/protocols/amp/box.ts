/**
 * AMP boxes: the wire format of Twisted's `twisted.protocols.amp` (reference §4.1) and its one
 * encoder. The decoder is in `box-decoder.ts` (re-exported here).
 *
 * ```
 * box  := pair* 0x00 0x00
 * pair := keylen(uint16 BE, 1..255) key  vallen(uint16 BE, 0..65535) value
 * ```
 *
 * Every box weft sends goes through {@link writePair}: {@link encodeBox} for a box given as a Map,
 * and the AMP protocol's output batch for boxes laid out from a command's compiled schema.
 */
import { MalformedAmpBox, TooLong } from "./errors.js";

export {
  BoxDecoder,
  type BoxDecoderOptions,
  BoxView,
  type BoxViewSink,
  boxDecoder,
  decodeBoxes,
} from "./box-decoder.js";

/**
 * One AMP box. Keys are byte strings decoded as latin1 (one char per byte, U+0000..U+00FF), so any
 * key round-trips; values are raw bytes.
 */
export type AmpBox = Map<string, Uint8Array>;

/** Longest key (Twisted's `MAX_KEY_LENGTH`). */
export const MAX_KEY_LENGTH = 0xff;
/** Longest value (Twisted's `MAX_VALUE_LENGTH`). */
export const MAX_VALUE_LENGTH = 0xffff;

/** A copy of `box` whose values are detached from the chunks they were decoded from. */
export function copyBox(box: AmpBox): AmpBox {
  const out: AmpBox = new Map();
  for (const [k, v] of box) out.set(k, new Uint8Array(v));
  return out;
}

// ---------------------------------------------------------------------------------------------
// The encoder

/** An encoded value: bytes, or ASCII text (one byte per char, e.g. an Integer's digits). */
export type OutValue = Uint8Array | string;

/** The header of one key, `00 klen key`, for a key already known to be 1..255 latin1 chars. */
export function keyHeader(key: string): Uint8Array {
  const out = new Uint8Array(2 + key.length);
  out[1] = key.length;
  for (let i = 0; i < key.length; i++) out[2 + i] = key.charCodeAt(i) & 0xff;
  return out;
}

/**
 * Writes one pair at `pos` of `out` (room already reserved): the key header (`00 klen key`), the
 * value's uint16 length, the value. The value must be ≤ 65,535 bytes (checked by the caller).
 * Returns the position after it.
 */
export function writePair(out: Uint8Array, pos: number, header: Uint8Array, v: OutValue): number {
  const hlen = header.length;
  for (let j = 0; j < hlen; j++) out[pos + j] = header[j] as number;
  pos += hlen;
  const vlen = v.length;
  out[pos] = vlen >>> 8;
  out[pos + 1] = vlen & 0xff;
  pos += 2;
  // Short values byte by byte: cheaper than a `set` call.
  if (typeof v === "string") for (let j = 0; j < vlen; j++) out[pos + j] = v.charCodeAt(j);
  else if (vlen < 24) for (let j = 0; j < vlen; j++) out[pos + j] = v[j] as number;
  else out.set(v, pos);
  return pos + vlen;
}

/** Writes the `00 00` terminator at `pos`; returns the position after it. */
export function writeEnd(out: Uint8Array, pos: number): number {
  out[pos] = 0;
  out[pos + 1] = 0;
  return pos + 2;
}

type Entry = readonly [string, Uint8Array];

// Keys repeat from box to box: their validated headers are cached (bounded; cleared when full), so
// encoding a key is one lookup and a short copy.
const KEY_HEADER_CACHE_MAX = 2048;
const keyHeaderCache = new Map<string, Uint8Array>();

function checkedKeyHeader(k: string): Uint8Array {
  const cached = keyHeaderCache.get(k);
  if (cached !== undefined) return cached;
  if (typeof k !== "string" || k.length === 0) {
    throw new MalformedAmpBox("AMP box keys must be non-empty strings.");
  }
  for (let i = 0; i < k.length; i++) {
    if (k.charCodeAt(i) > 0xff) {
      throw new MalformedAmpBox(
        `AMP box key ${JSON.stringify(k)} is not a byte string (character above U+00FF).`,
      );
    }
  }
  if (k.length > MAX_KEY_LENGTH) {
    throw new TooLong(
      true,
      true,
      Uint8Array.from(k, (c) => c.charCodeAt(0)),
      null,
    );
  }
  const header = keyHeader(k);
  if (keyHeaderCache.size >= KEY_HEADER_CACHE_MAX) keyHeaderCache.clear();
  keyHeaderCache.set(k, header);
  return header;
}

/** A box's pairs, validated, in bytewise key order, and its wire size. */
interface Prepared {
  keys: string[];
  headers: Uint8Array[];
  values: Uint8Array[];
  size: number;
}

function prepare(box: AmpBox | Iterable<Entry>): Prepared {
  // Duplicate keys from an iterable: last wins, as in a Python dict.
  const map: ReadonlyMap<string, Uint8Array> = box instanceof Map ? box : new Map(box);
  const keys: string[] = [];
  const headers: Uint8Array[] = [];
  const values: Uint8Array[] = [];
  let size = 2;
  let sorted = true;
  for (const [k, v] of map) {
    const header = checkedKeyHeader(k);
    if (!(v instanceof Uint8Array)) {
      throw new MalformedAmpBox(`AMP box value for key ${JSON.stringify(k)} is not a Uint8Array.`);
    }
    if (v.length > MAX_VALUE_LENGTH) throw new TooLong(false, true, v, k);
    const n = keys.length;
    if (n > 0 && keys[n - 1]! > k) sorted = false;
    keys.push(k);
    headers.push(header);
    values.push(v);
    size += 2 + header.length + v.length;
  }
  // Latin1 keys: UTF-16 code unit order is byte order. Insertion sort on the few keys a box has.
  if (!sorted) {
    for (let i = 1; i < keys.length; i++) {
      const k = keys[i]!;
      const h = headers[i]!;
      const v = values[i]!;
      let j = i - 1;
      while (j >= 0 && keys[j]! > k) {
        keys[j + 1] = keys[j]!;
        headers[j + 1] = headers[j]!;
        values[j + 1] = values[j]!;
        j--;
      }
      keys[j + 1] = k;
      headers[j + 1] = h;
      values[j + 1] = v;
    }
  }
  return { keys, headers, values, size };
}

function write(out: Uint8Array, at: number, p: Prepared): number {
  let pos = at;
  const { headers, values } = p;
  for (let i = 0; i < headers.length; i++) pos = writePair(out, pos, headers[i]!, values[i]!);
  return writeEnd(out, pos);
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
export function encodeBox(box: AmpBox | Iterable<readonly [string, Uint8Array]>): Uint8Array {
  const p = prepare(box);
  const out = allocate(p.size);
  write(out, 0, p);
  return out;
}

/**
 * Encodes several boxes into one buffer (e.g. the replies to one read, sent in one write). All boxes
 * are validated first, as {@link encodeBox} does, so nothing is produced when one is invalid.
 */
export function encodeBoxes(
  boxes: Iterable<AmpBox | Iterable<readonly [string, Uint8Array]>>,
): Uint8Array {
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
