/**
 * Fast paths of the AMP protocol's output (internal): per-command compiled schemas, and a slab
 * writer so that the boxes produced while one incoming chunk is handled leave in one write.
 *
 * Why: per call, the general path builds a Map, sorts its keys and allocates one buffer per box;
 * with many small calls per read those costs (and one transport write per answer) dominate. Here the
 * key order and key headers of a command's answer are computed once, and answers are encoded
 * straight into a shared slab that is handed to the transport as one segment per flush.
 */
import { TooLong } from "./errors.js";

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
}

/** A schema in iteration-friendly form, plus the answer layout (keys sorted with `_answer`). */
export interface CompiledSchema {
  readonly entries: readonly CompiledEntry[];
  /** True when some key is not 1..255 latin1 bytes: always use the general (checking) path. */
  readonly unusual: boolean;
  /** Indexes into `entries` in bytewise key order, with -1 standing for the `_answer` key. */
  readonly answerOrder: readonly number[];
  /** Key headers in `answerOrder` order. */
  readonly answerHeaders: readonly Uint8Array[];
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
  for (const name in schema) {
    const arg = schema[name] as CompiledEntry["arg"];
    entries.push({ name, arg, big: (arg as { big?: unknown }).big === true });
    if (name.length === 0 || name.length > 255 || /[^\x00-\xff]/.test(name)) unusual = true;
  }
  const order = entries.map((_, i) => i);
  order.push(-1);
  const keyOf = (i: number) => (i === -1 ? "_answer" : (entries[i] as CompiledEntry).name);
  // Latin1 strings compare by code unit = bytewise, the order Twisted's serializer uses.
  order.sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
  c = {
    entries,
    unusual,
    answerOrder: order,
    answerHeaders: order.map((i) => keyHeader(keyOf(i))),
  };
  cache.set(schema, c);
  return c;
}

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
  #done: Uint8Array[] = [];
  #nextSize = MIN_SLAB;

  /** Bytes collected and not yet taken. */
  get size(): number {
    let n = this.#pos - this.#start;
    for (const d of this.#done) n += d.length;
    return n;
  }

  #reserve(n: number): Buffer {
    if (this.#slab.length - this.#pos < n) {
      if (this.#pos > this.#start) this.#done.push(this.#slab.subarray(this.#start, this.#pos));
      this.#slab = Buffer.allocUnsafe(Math.max(this.#nextSize, n));
      this.#nextSize = Math.min(MAX_SLAB, this.#nextSize * 2);
      this.#start = 0;
      this.#pos = 0;
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
   * Appends an answer box: `_answer` = `tag` plus `values[i]` (encoded, or undefined = omitted) in
   * the compiled key order. Values must already be checked to be ≤ 65,535 bytes.
   */
  appendAnswer(
    c: CompiledSchema,
    tag: Uint8Array,
    values: ReadonlyArray<Uint8Array | undefined>,
  ): void {
    let size = 2;
    const order = c.answerOrder;
    const headers = c.answerHeaders;
    for (let k = 0; k < order.length; k++) {
      const i = order[k] as number;
      const v = i === -1 ? tag : values[i];
      if (v !== undefined) size += (headers[k] as Uint8Array).length + 2 + v.length;
    }
    const out = this.#reserve(size);
    let pos = this.#pos;
    for (let k = 0; k < order.length; k++) {
      const i = order[k] as number;
      const v = i === -1 ? tag : values[i];
      if (v === undefined) continue;
      const h = headers[k] as Uint8Array;
      for (let j = 0; j < h.length; j++) out[pos + j] = h[j] as number;
      pos += h.length;
      const vlen = v.length;
      out[pos] = vlen >>> 8;
      out[pos + 1] = vlen & 0xff;
      pos += 2;
      if (vlen < 24) for (let j = 0; j < vlen; j++) out[pos + j] = v[j] as number;
      else out.set(v, pos);
      pos += vlen;
    }
    out[pos] = 0;
    out[pos + 1] = 0;
    this.#pos = pos + 2;
  }

  /** What was collected since the last take (null if nothing), as one or more segments. */
  take(): Uint8Array[] | null {
    if (this.#pos === this.#start && this.#done.length === 0) return null;
    const out = this.#done;
    this.#done = [];
    if (this.#pos > this.#start) out.push(this.#slab.subarray(this.#start, this.#pos));
    this.#start = this.#pos;
    return out;
  }
}

/** Throws the TooLong Twisted raises for a value over 65,535 bytes under `key`. */
export function valueTooLong(key: string, value: Uint8Array): TooLong {
  return new TooLong(false, true, value, key);
}
