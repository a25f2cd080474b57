/**
 * Fast paths of the AMP protocol's output (internal): per-command compiled schemas, and a slab
 * writer so that the boxes produced while one incoming chunk is handled leave in one write.
 *
 * Why: per call, the general path builds a Map, sorts its keys and allocates one buffer per box;
 * with many small calls per read those costs (and one transport write per answer) dominate. Here the
 * key order and key headers of a command's answer are computed once, and answers are encoded
 * straight into a shared slab that is handed to the transport as one segment per flush.
 */

/** Header bytes of one key: `00 klen key`. */
function keyHeader(key: string): Uint8Array {
  const out = new Uint8Array(2 + key.length);
  out[1] = key.length;
  for (let i = 0; i < key.length; i++) out[2 + i] = key.charCodeAt(i) & 0xff;
  return out;
}

/** One argument of a compiled schema. */
export interface CompiledEntry {
  readonly name: string;
  readonly arg: {
    readonly name: string;
    readonly optional: boolean;
    encode(value: never): Uint8Array;
    decode(b: Uint8Array): unknown;
  };
  readonly big: boolean;
  /** The name's latin1 bytes (to find the key in received bytes without making strings). */
  readonly key: Uint8Array;
}

/** A schema in iteration-friendly form. */
export interface CompiledSchema {
  readonly entries: readonly CompiledEntry[];
  /** True when some key is not 1..255 latin1 bytes: always use the general (checking) path. */
  readonly unusual: boolean;
  /** True when some entry is a big value (`bigValue(...)`): receive it through the general path. */
  readonly anyBig: boolean;
  /**
   * Box layouts by their extra keys (e.g. `_answer`; `_ask` + `_command`), built on first use and
   * keyed by the identity of the (constant) extras array.
   */
  readonly layouts: Map<readonly string[], Layout>;
}

/**
 * The key order of a box made of a schema's entries plus some extra keys: indexes into `entries`,
 * with `-1 - k` standing for extra key `k`, in bytewise key order (Twisted's serializer order).
 */
export interface Layout {
  readonly order: readonly number[];
  /** Key headers (`00 klen key`) in `order` order. */
  readonly headers: readonly Uint8Array[];
  /** Bytes of a box with this layout besides the values: headers, value lengths, terminator. */
  readonly fixed: number;
}

const cache = new WeakMap<object, CompiledSchema>();

/** The compiled form of `schema` (cached per schema object). */
export function compileSchema(schema: {
  readonly [name: string]: CompiledEntry["arg"];
}): CompiledSchema {
  let c = cache.get(schema);
  if (c !== undefined) return c;
  const entries: CompiledEntry[] = [];
  let unusual = false;
  let anyBig = false;
  for (const name in schema) {
    const arg = schema[name] as CompiledEntry["arg"];
    const big = (arg as { big?: unknown }).big === true;
    const key = new Uint8Array(name.length);
    for (let i = 0; i < name.length; i++) key[i] = name.charCodeAt(i) & 0xff;
    entries.push({ name, arg, big, key });
    if (big) anyBig = true;
    if (name.length === 0 || name.length > 255 || /[^\x00-\xff]/.test(name)) unusual = true;
  }
  c = { entries, unusual, anyBig, layouts: new Map() };
  cache.set(schema, c);
  return c;
}

/**
 * The layout of `c`'s entries plus `extras` (keys that are not entries), cached per extras array:
 * pass the same constant array every time.
 */
export function layoutOf(c: CompiledSchema, extras: readonly string[]): Layout {
  let l = c.layouts.get(extras);
  if (l !== undefined) return l;
  const order = c.entries.map((_, i) => i);
  for (let k = 0; k < extras.length; k++) order.push(-1 - k);
  const keyOf = (i: number) =>
    i < 0 ? (extras[-1 - i] as string) : (c.entries[i] as CompiledEntry).name;
  // Latin1 strings compare by code unit = bytewise, the order Twisted's serializer uses.
  order.sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
  const headers = order.map((i) => keyHeader(keyOf(i)));
  let fixed = 2;
  for (const h of headers) fixed += h.length + 2;
  l = { order, headers, fixed };
  c.layouts.set(extras, l);
  return l;
}

/** An encoded value: bytes, or ASCII text (one byte per char, e.g. an Integer's digits). */
export type OutValue = Uint8Array | string;

/** Slabs start small (an idle connection pins little) and double up to this size under load. */
const MAX_SLAB = 64 * 1024;
const MIN_SLAB = 512;

/**
 * Collects outgoing boxes into slabs; `take()` hands out what was written since the last take as
 * views that are never overwritten afterwards (a new slab starts when one is full).
 */
export class OutBatch {
  #slab: Buffer = Buffer.allocUnsafe(0);
  #start = 0;
  #pos = 0;
  #nextSize = MIN_SLAB;

  /** Bytes collected and not yet taken. */
  get size(): number {
    return this.#pos - this.#start;
  }

  #reserve(n: number): Buffer {
    if (this.#slab.length - this.#pos < n) {
      // The bytes not taken yet move to the new slab: one flush is one segment (one write).
      const pending = this.#pos - this.#start;
      const next = Buffer.allocUnsafe(Math.max(this.#nextSize, 2 * (pending + n)));
      if (pending > 0) this.#slab.copy(next, 0, this.#start, this.#pos);
      this.#slab = next;
      this.#nextSize = Math.min(MAX_SLAB, this.#nextSize * 2);
      this.#start = 0;
      this.#pos = pending;
    }
    return this.#slab;
  }

  /** Appends already encoded bytes. */
  append(bytes: Uint8Array): void {
    const slab = this.#reserve(bytes.length);
    slab.set(bytes, this.#pos);
    this.#pos += bytes.length;
  }

  /**
   * Appends one box laid out by `layout`: `values[i]` for entry `i` (encoded bytes, ASCII text such
   * as an Integer's digits, or undefined = omitted) and `extras[k]` for extra key `k`. `valueBytes`
   * is the total length of `values`. Values must already be checked to be ≤ 65,535 bytes.
   */
  appendBox(
    layout: Layout,
    extras: readonly Uint8Array[],
    values: ReadonlyArray<OutValue | undefined>,
    valueBytes: number,
  ): void {
    let size = valueBytes;
    for (let k = 0; k < extras.length; k++) size += (extras[k] as Uint8Array).length;
    this.#write(layout, extras, null, 0, 0, values, size);
  }

  /**
   * {@link OutBatch.appendBox} for a layout with one extra key (e.g. `_answer`), whose value is
   * `src[srcPos .. srcPos + srcLen]` (e.g. the `_ask` tag, straight from the received bytes).
   */
  appendBoxFrom(
    layout: Layout,
    src: Uint8Array,
    srcPos: number,
    srcLen: number,
    values: ReadonlyArray<OutValue | undefined>,
    valueBytes: number,
  ): void {
    this.#write(layout, null, src, srcPos, srcLen, values, valueBytes + srcLen);
  }

  #write(
    layout: Layout,
    extras: readonly Uint8Array[] | null,
    src: Uint8Array | null,
    srcPos: number,
    srcLen: number,
    values: ReadonlyArray<OutValue | undefined>,
    varBytes: number,
  ): void {
    // An upper bound (omitted optional keys are counted): one pass fewer over the pairs.
    const out = this.#reserve(layout.fixed + varBytes);
    const order = layout.order;
    const headers = layout.headers;
    let pos = this.#pos;
    for (let k = 0; k < order.length; k++) {
      const i = order[k] as number;
      const h = headers[k] as Uint8Array;
      if (i < 0 && extras === null) {
        // The one extra, copied from `src`.
        for (let j = 0; j < h.length; j++) out[pos + j] = h[j] as number;
        pos += h.length;
        out[pos] = srcLen >>> 8;
        out[pos + 1] = srcLen & 0xff;
        pos += 2;
        const s = src as Uint8Array;
        for (let j = 0; j < srcLen; j++) out[pos + j] = s[srcPos + j] as number;
        pos += srcLen;
        continue;
      }
      const v = i < 0 ? (extras as readonly Uint8Array[])[-1 - i] : values[i];
      if (v === undefined) continue;
      for (let j = 0; j < h.length; j++) out[pos + j] = h[j] as number;
      pos += h.length;
      const vlen = v.length;
      out[pos] = vlen >>> 8;
      out[pos + 1] = vlen & 0xff;
      pos += 2;
      if (typeof v === "string") for (let j = 0; j < vlen; j++) out[pos + j] = v.charCodeAt(j);
      else if (vlen < 24) for (let j = 0; j < vlen; j++) out[pos + j] = v[j] as number;
      else out.set(v, pos);
      pos += vlen;
    }
    out[pos] = 0;
    out[pos + 1] = 0;
    this.#pos = pos + 2;
  }

  /** What was collected since the last take (null if nothing), as one segment. */
  take(): Uint8Array[] | null {
    if (this.#pos === this.#start) return null;
    const out = [this.#slab.subarray(this.#start, this.#pos)];
    this.#start = this.#pos;
    return out;
  }
}
