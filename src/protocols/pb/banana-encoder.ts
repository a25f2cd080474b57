/**
 * The banana encoder (see `banana.ts` for the token format): one expression to bytes, into a slab
 * so that consecutive messages are adjacent views of one buffer (the broker writes a read's
 * answers in one write) and no returned bytes are ever overwritten.
 */

import {
  type BananaOut,
  FLOAT,
  INT,
  LIST,
  LONGINT,
  LONGNEG,
  NEG,
  PREFIX_LIMIT,
  SIZE_LIMIT,
  STRING,
  VOCAB,
  VOCAB_OUT,
} from "./banana.js";
import { BananaEncodeError } from "./errors.js";
import { PbFloat } from "./values.js";

/** Options of a {@link BananaEncoder}. */
export interface BananaEncoderOptions {
  /** Most prefix bytes the peer accepts: bounds the integers that can be sent. Default 64. */
  prefixLimit?: number;
}

const SLAB = 64 * 1024;
const INT_MAX = 2147483647;
const INT_MIN = -2147483648;

/**
 * The banana encoder. `encode` returns the bytes of one expression as a `Buffer` that stays valid
 * (slab-allocated: later calls never overwrite returned bytes).
 */
export class BananaEncoder {
  #buf: Buffer = Buffer.allocUnsafe(SLAB);
  #pos = 0;
  #start = 0;
  #vocabulary = false;
  readonly #largest: bigint;

  constructor(options: BananaEncoderOptions = {}) {
    this.#largest = 2n ** BigInt((options.prefixLimit ?? PREFIX_LIMIT) * 7) - 1n;
  }

  /** Send vocabulary words as VOCAB tokens (after the `pb` dialect is selected). */
  useVocabulary(on = true): void {
    this.#vocabulary = on;
  }

  /** The bytes of `item`. Throws {@link BananaEncodeError} for what banana cannot carry. */
  encode(item: BananaOut): Uint8Array {
    this.#start = this.#pos;
    try {
      this.#item(item);
    } catch (err) {
      this.#pos = this.#start;
      throw err;
    }
    // A plain Uint8Array view: Buffer#subarray goes through the species constructor (slow).
    const out = new Uint8Array(
      this.#buf.buffer,
      this.#buf.byteOffset + this.#start,
      this.#pos - this.#start,
    );
    this.#start = this.#pos;
    return out;
  }

  #ensure(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    const used = this.#pos - this.#start;
    const next = Buffer.allocUnsafe(Math.max(SLAB, (used + n) * 2));
    this.#buf.copy(next, 0, this.#start, this.#pos);
    this.#buf = next;
    this.#start = 0;
    this.#pos = used;
  }

  #prefix(v: number, type: number): void {
    this.#ensure(9);
    const buf = this.#buf;
    if (v === 0) buf[this.#pos++] = 0;
    while (v > 0) {
      buf[this.#pos++] = v % 128;
      v = Math.floor(v / 128);
    }
    buf[this.#pos++] = type;
  }

  #bigPrefix(v: bigint, type: number): void {
    this.#ensure(66);
    const buf = this.#buf;
    while (v > 0n) {
      buf[this.#pos++] = Number(v & 0x7fn);
      v >>= 7n;
    }
    buf[this.#pos++] = type;
  }

  #item(item: BananaOut): void {
    switch (typeof item) {
      case "number":
        this.#number(item);
        return;
      case "string":
        this.#string(item);
        return;
      case "bigint":
        this.#bigint(item);
        return;
      default:
        break;
    }
    if (item instanceof Uint8Array) {
      this.#bytes(item);
    } else if (item instanceof PbFloat) {
      this.#float(item.value);
    } else if (Array.isArray(item)) {
      const list = item as readonly BananaOut[];
      if (list.length > SIZE_LIMIT) {
        throw new BananaEncodeError(`list/tuple is too long to send (${list.length})`);
      }
      this.#prefix(list.length, LIST);
      for (const x of list) this.#item(x);
    } else {
      throw new BananaEncodeError(`Banana cannot send ${typeof item} values`);
    }
  }

  #number(v: number): void {
    if (!Number.isSafeInteger(v) || Object.is(v, -0)) {
      this.#float(v);
    } else if (v >= 0) {
      this.#prefix(v, v <= INT_MAX ? INT : LONGINT);
    } else {
      this.#prefix(-v, v < INT_MIN ? LONGNEG : NEG);
    }
  }

  #bigint(v: bigint): void {
    if (v >= -9007199254740991n && v <= 9007199254740991n) {
      this.#number(Number(v));
      return;
    }
    if (v > this.#largest || -v > this.#largest) {
      throw new BananaEncodeError(`int is too large to send (${v})`);
    }
    if (v > 0n) this.#bigPrefix(v, LONGINT);
    else this.#bigPrefix(-v, LONGNEG);
  }

  #float(v: number): void {
    this.#ensure(9);
    this.#buf[this.#pos++] = FLOAT;
    this.#buf.writeDoubleBE(v, this.#pos);
    this.#pos += 8;
  }

  #string(s: string): void {
    if (this.#vocabulary) {
      const id = VOCAB_OUT.get(s);
      if (id !== undefined) {
        this.#prefix(id, VOCAB);
        return;
      }
    }
    let size = s.length;
    for (let i = 0; i < s.length; i++) {
      if (s.charCodeAt(i) >= 0x80) {
        size = Buffer.byteLength(s, "utf8");
        break;
      }
    }
    if (size > SIZE_LIMIT) throw new BananaEncodeError(`byte string is too long to send (${size})`);
    this.#prefix(size, STRING);
    this.#ensure(size);
    if (size === s.length) this.#buf.write(s, this.#pos, size, "latin1");
    else this.#buf.write(s, this.#pos, size, "utf8");
    this.#pos += size;
  }

  #bytes(b: Uint8Array): void {
    if (this.#vocabulary && b.length >= 4 && b.length <= 13) {
      const id = VOCAB_OUT.get(Buffer.from(b.buffer, b.byteOffset, b.length).toString("latin1"));
      if (id !== undefined) {
        this.#prefix(id, VOCAB);
        return;
      }
    }
    if (b.length > SIZE_LIMIT) {
      throw new BananaEncodeError(`byte string is too long to send (${b.length})`);
    }
    this.#prefix(b.length, STRING);
    this.#ensure(b.length);
    this.#buf.set(b, this.#pos);
    this.#pos += b.length;
  }
}
