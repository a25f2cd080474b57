/**
 * The AMP protocol's output batch (internal): the boxes produced while one incoming chunk is handled
 * are written into a shared slab and leave in one transport write.
 *
 * Why: per call, encoding through a Map sorts its keys and allocates one buffer per box; with many
 * small calls per read those costs (and one transport write per answer) dominate. Here boxes are laid
 * out from a command's compiled {@link Layout} (key order and headers computed once) and written by
 * the one pair writer of `box.ts`.
 */
import { type OutValue, writeEnd, writePair } from "./box.js";
import type { Layout } from "./schema.js";

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
      let v: OutValue | undefined;
      if (i >= 0) v = values[i];
      else if (extras !== null) v = extras[-1 - i];
      // The one extra, a plain view of `src` (a Buffer's `subarray` costs more).
      else if (src !== null) v = new Uint8Array(src.buffer, src.byteOffset + srcPos, srcLen);
      if (v === undefined) continue;
      pos = writePair(out, pos, headers[k] as Uint8Array, v);
    }
    this.#pos = writeEnd(out, pos);
  }

  /** What was collected since the last take (null if nothing), as one segment. */
  take(): Uint8Array[] | null {
    if (this.#pos === this.#start) return null;
    const out = [this.#slab.subarray(this.#start, this.#pos)];
    this.#start = this.#pos;
    return out;
  }
}
