/**
 * Banana, the token codec under Perspective Broker (Twisted's `twisted.spread.banana`).
 *
 * A token is a base-128 little-endian prefix (bytes < 0x80, at most `prefixLimit` of them) followed
 * by a type byte: LIST 0x80 (prefix = element count), INT 0x81, STRING 0x82 (prefix = length, then the
 * bytes), NEG 0x83, FLOAT 0x84 (then 8 bytes, IEEE 754 big-endian; the prefix is ignored), LONGINT
 * 0x85, LONGNEG 0x86, VOCAB 0x87 (prefix = index into the "pb" vocabulary; only after the `pb`
 * dialect is chosen). Twisted's limits: 64 prefix bytes, strings and lists up to 640 KiB / 640 Ki
 * elements; weft adds a nesting depth and a per-expression byte budget. Every limit is checked when
 * the prefix is known, before anything is buffered.
 *
 * The encoder is in `banana-encoder.ts`. The decoder is sans-I/O ({@link Decoder}): it hands out each top-level expression. STRING tokens
 * are zero-copy views into the chunk being fed when the expression completes within that chunk;
 * views into a chunk are copied before `feed` returns if the expression is still open, so an
 * expression's strings are valid until the next `feed`.
 */
import type { Decoder, DecoderSink } from "../framing/decoder.js";
import { BananaError } from "./errors.js";
import { PbFloat } from "./values.js";

export const LIST = 0x80;
export const INT = 0x81;
export const STRING = 0x82;
export const NEG = 0x83;
export const FLOAT = 0x84;
export const LONGINT = 0x85;
export const LONGNEG = 0x86;
export const VOCAB = 0x87;

/** Twisted's `SIZE_LIMIT`: the longest string (bytes) and list (elements). */
export const SIZE_LIMIT = 640 * 1024;
/** Twisted's default prefix length limit (bytes of base-128 prefix before the type byte). */
export const PREFIX_LIMIT = 64;

/** The "pb" dialect's vocabulary, in Twisted's numbering (index = token value). */
export const PB_VOCABULARY: readonly string[] = [
  "",
  "None",
  "class",
  "dereference",
  "reference",
  "dictionary",
  "function",
  "instance",
  "list",
  "module",
  "persistent",
  "tuple",
  "unpersistable",
  "copy",
  "cache",
  "cached",
  "remote",
  "local",
  "lcache",
  "version",
  "login",
  "password",
  "challenge",
  "logged_in",
  "not_logged_in",
  "cachemessage",
  "message",
  "answer",
  "error",
  "decref",
  "decache",
  "uncache",
];

/** Vocabulary word → token value. */
export const VOCAB_OUT: ReadonlyMap<string, number> = new Map<string, number>(
  PB_VOCABULARY.flatMap((w, i) => (i === 0 ? [] : [[w, i] as const])),
);

/**
 * A decoded item: integers as `number` (safe) or `bigint`, floats as {@link PbFloat}, strings as
 * bytes, vocabulary words as JS strings, lists as arrays.
 */
export type BananaItem = number | bigint | Uint8Array | string | PbFloat | BananaItem[];

/** What the encoder accepts: a JS `string` is sent as its UTF-8 bytes. */
export type BananaOut = number | bigint | string | Uint8Array | PbFloat | readonly BananaOut[];

/** Limits of a {@link BananaDecoder}. */
export interface BananaLimits {
  /** Most base-128 prefix bytes before a type byte. Default 64 (Twisted's). */
  prefixLimit?: number;
  /** Longest string in bytes and longest list in elements. Default 655360 (Twisted's SIZE_LIMIT). */
  sizeLimit?: number;
  /** Deepest list nesting. Default 512 (weft's; Twisted's jelly recursion fails near there). */
  maxDepth?: number;
  /** Most bytes one top-level expression may take. Default 16 MiB (weft's). */
  maxExpressionBytes?: number;
}

interface OpenList {
  readonly items: BananaItem[];
  readonly count: number;
}

const EMPTY = new Uint8Array(0);

/**
 * The sans-I/O banana decoder. `vocabulary` is off until the `pb` dialect is selected
 * ({@link BananaDecoder.useVocabulary}); a VOCAB token before that is an error, as in Twisted.
 */
export class BananaDecoder implements Decoder {
  readonly #sink: DecoderSink<BananaItem>;
  readonly #prefixLimit: number;
  readonly #sizeLimit: number;
  readonly #maxDepth: number;
  readonly #maxExpr: number;
  #vocabulary = false;
  #failed = false;
  /** Bytes consumed before the current chunk. */
  #streamOffset = 0;
  /** Stream offset where the open expression began. */
  #exprStart = 0;
  readonly #stack: OpenList[] = [];
  /** Strings in open lists that are views into the chunk being fed (copied if it ends first). */
  readonly #viewLists: BananaItem[][] = [];
  readonly #viewIndexes: number[] = [];
  /** A prefix cut by the end of a chunk. */
  readonly #hdr: Uint8Array;
  #hdrLen = 0;
  /** A string or float body cut by the end of a chunk. */
  #body: Uint8Array = EMPTY;
  #bodyFilled = 0;
  #bodyIsFloat = false;

  constructor(sink: DecoderSink<BananaItem>, limits: BananaLimits = {}) {
    this.#sink = sink;
    this.#prefixLimit = limits.prefixLimit ?? PREFIX_LIMIT;
    this.#sizeLimit = limits.sizeLimit ?? SIZE_LIMIT;
    this.#maxDepth = limits.maxDepth ?? 512;
    this.#maxExpr = limits.maxExpressionBytes ?? 16 * 1024 * 1024;
    this.#hdr = new Uint8Array(this.#prefixLimit + 1);
  }

  /** Accept VOCAB tokens (after the `pb` dialect is selected). */
  useVocabulary(on = true): void {
    this.#vocabulary = on;
  }

  get failed(): boolean {
    return this.#failed;
  }

  get bufferedBytes(): number {
    if (this.#failed) return 0;
    return this.#stack.length > 0 || this.#hdrLen > 0 || this.#body !== EMPTY
      ? this.#streamOffset - this.#exprStart + this.#hdrLen + this.#bodyFilled
      : 0;
  }

  end(): void {
    if (this.#failed) return;
    if (this.#stack.length > 0 || this.#hdrLen > 0 || this.#body !== EMPTY) {
      this.#fail("truncated", "Connection ended inside a banana expression.", this.#streamOffset);
    }
  }

  feed(chunk: Uint8Array): void {
    if (this.#failed) return;
    const n = chunk.length;
    let p = 0;
    while (p < n && !this.#failed) {
      if (this.#body !== EMPTY) {
        p = this.#fillBody(chunk, p);
        continue;
      }
      if (this.#hdrLen > 0) {
        p = this.#continueHeader(chunk, p);
        continue;
      }
      // Fast path: the whole header lies in this chunk.
      let q = p;
      const limit = Math.min(n, p + this.#prefixLimit + 1);
      while (q < limit && (chunk[q] as number) < 0x80) q++;
      if (q === limit) {
        if (q - p > this.#prefixLimit) {
          this.#fail(
            "prefix-too-long",
            `Security precaution: more than ${this.#prefixLimit} bytes of prefix`,
            this.#streamOffset + p,
          );
          return;
        }
        if (this.#stack.length === 0) this.#exprStart = this.#streamOffset + p;
        this.#hdr.set(chunk.subarray(p, q), 0);
        this.#hdrLen = q - p;
        p = q;
        break;
      }
      if (this.#stack.length === 0) this.#exprStart = this.#streamOffset + p;
      p = this.#token(chunk, p, q - p, chunk, q + 1);
    }
    this.#streamOffset += n;
    if (this.#viewLists.length > 0) {
      if (this.#stack.length > 0) {
        for (let k = 0; k < this.#viewLists.length; k++) {
          const arr = this.#viewLists[k] as BananaItem[];
          const i = this.#viewIndexes[k] as number;
          arr[i] = (arr[i] as Uint8Array).slice();
        }
      }
      this.#viewLists.length = 0;
      this.#viewIndexes.length = 0;
    }
  }

  /** Continue a prefix that started in an earlier chunk. */
  #continueHeader(chunk: Uint8Array, p: number): number {
    const n = chunk.length;
    while (p < n) {
      const b = chunk[p] as number;
      if (b >= 0x80) {
        const len = this.#hdrLen;
        this.#hdrLen = 0;
        return this.#token(this.#hdr, 0, len, chunk, p + 1, b);
      }
      if (this.#hdrLen >= this.#prefixLimit) {
        this.#fail(
          "prefix-too-long",
          `Security precaution: more than ${this.#prefixLimit} bytes of prefix`,
          this.#streamOffset + p,
        );
        return n;
      }
      this.#hdr[this.#hdrLen++] = b;
      p++;
    }
    return p;
  }

  /**
   * Handle one token whose prefix is `prefix[start, start+len)` and whose type byte is at
   * `chunk[after-1]` (or `typeByte`); returns where the next token starts in `chunk`.
   */
  #token(
    prefix: Uint8Array,
    start: number,
    len: number,
    chunk: Uint8Array,
    after: number,
    typeByte: number = chunk[after - 1] as number,
  ): number {
    const at = this.#streamOffset + after - 1;
    if (this.#streamOffset + after - this.#exprStart > this.#maxExpr) {
      this.#fail("expression-too-large", `Expression longer than ${this.#maxExpr} bytes`, at);
      return chunk.length;
    }
    switch (typeByte) {
      case LIST: {
        const count = b128(prefix, start, len);
        if (typeof count !== "number" || count > this.#sizeLimit) {
          this.#fail("list-too-long", "Security precaution: List too long.", at);
          return chunk.length;
        }
        if (this.#stack.length >= this.#maxDepth) {
          this.#fail("too-deep", `Lists nested deeper than ${this.#maxDepth}`, at);
          return chunk.length;
        }
        if (count === 0) this.#gotItem([]);
        else this.#stack.push({ items: [], count });
        return after;
      }
      case STRING: {
        const size = b128(prefix, start, len);
        if (typeof size !== "number" || size > this.#sizeLimit) {
          this.#fail("string-too-long", "Security precaution: String too long.", at);
          return chunk.length;
        }
        if (this.#streamOffset + after + size - this.#exprStart > this.#maxExpr) {
          this.#fail("expression-too-large", `Expression longer than ${this.#maxExpr} bytes`, at);
          return chunk.length;
        }
        if (after + size <= chunk.length) {
          const view = new Uint8Array(chunk.buffer, chunk.byteOffset + after, size);
          this.#gotItem(view, true);
          return after + size;
        }
        this.#body = new Uint8Array(size);
        this.#bodyIsFloat = false;
        this.#bodyFilled = 0;
        return this.#fillBody(chunk, after);
      }
      case INT:
      case LONGINT:
        this.#gotItem(b128(prefix, start, len));
        return after;
      case NEG:
      case LONGNEG: {
        const v = b128(prefix, start, len);
        this.#gotItem(typeof v === "number" ? 0 - v : narrow(-v));
        return after;
      }
      case FLOAT: {
        if (after + 8 <= chunk.length) {
          const dv = new DataView(chunk.buffer, chunk.byteOffset + after, 8);
          this.#gotItem(new PbFloat(dv.getFloat64(0, false)));
          return after + 8;
        }
        this.#body = new Uint8Array(8);
        this.#bodyIsFloat = true;
        this.#bodyFilled = 0;
        return this.#fillBody(chunk, after);
      }
      case VOCAB: {
        const idx = b128(prefix, start, len);
        const word = typeof idx === "number" && idx > 0 ? PB_VOCABULARY[idx] : undefined;
        if (!this.#vocabulary || word === undefined) {
          this.#fail(
            "bad-vocabulary",
            this.#vocabulary
              ? `Unknown vocabulary token ${String(idx)}`
              : "Vocabulary token before the pb dialect was selected",
            at,
          );
          return chunk.length;
        }
        this.#gotItem(word);
        return after;
      }
      default:
        this.#fail(
          "bad-type-byte",
          `Invalid Type Byte 0x${typeByte.toString(16).padStart(2, "0")}`,
          at,
        );
        return chunk.length;
    }
  }

  #fillBody(chunk: Uint8Array, p: number): number {
    const need = this.#body.length - this.#bodyFilled;
    const take = Math.min(need, chunk.length - p);
    this.#body.set(chunk.subarray(p, p + take), this.#bodyFilled);
    this.#bodyFilled += take;
    if (this.#bodyFilled === this.#body.length) {
      const body = this.#body;
      this.#body = EMPTY;
      this.#bodyFilled = 0;
      if (this.#bodyIsFloat) {
        this.#gotItem(new PbFloat(new DataView(body.buffer).getFloat64(0, false)));
      } else {
        this.#gotItem(body);
      }
    }
    return p + take;
  }

  #gotItem(item: BananaItem, isView = false): void {
    const stack = this.#stack;
    let top = stack[stack.length - 1];
    if (top === undefined) {
      this.#sink.onFrame(item);
      return;
    }
    if (isView) {
      this.#viewLists.push(top.items);
      this.#viewIndexes.push(top.items.length);
    }
    top.items.push(item);
    while (top !== undefined && top.items.length === top.count) {
      stack.pop();
      const done = top.items;
      top = stack[stack.length - 1];
      if (top === undefined) {
        this.#viewLists.length = 0;
        this.#viewIndexes.length = 0;
        this.#sink.onFrame(done);
        return;
      }
      top.items.push(done);
    }
  }

  #fail(reason: string, message: string, offset: number): void {
    this.#failed = true;
    this.#stack.length = 0;
    this.#viewLists.length = 0;
    this.#viewIndexes.length = 0;
    this.#body = EMPTY;
    this.#hdrLen = 0;
    this.#sink.onError(new BananaError(reason, message, offset));
  }
}

/** Base-128 little-endian `bytes[start, start+len)`: a number when safe, else a bigint. */
function b128(bytes: Uint8Array, start: number, len: number): number | bigint {
  if (len <= 7) {
    let v = 0;
    let m = 1;
    for (let i = 0; i < len; i++) {
      v += (bytes[start + i] as number) * m;
      m *= 128;
    }
    return v;
  }
  let v = 0n;
  for (let i = len - 1; i >= 0; i--) v = (v << 7n) | BigInt(bytes[start + i] as number);
  return narrow(v);
}

function narrow(v: bigint): number | bigint {
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}

/** Decode every expression in `bytes` (a whole stream), for tests and tools. Throws BananaError. */
export function decodeAll(bytes: Uint8Array, vocabulary = true): BananaItem[] {
  const out: BananaItem[] = [];
  let error: Error | null = null;
  const d = new BananaDecoder({
    onFrame: (f) => out.push(f),
    onError: (e) => {
      error = e;
    },
  });
  d.useVocabulary(vocabulary);
  d.feed(bytes);
  d.end();
  if (error !== null) throw error;
  return out;
}
