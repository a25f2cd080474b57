/**
 * Netstrings (D. J. Bernstein's `<length>:<payload>,`, as Twisted's `NetstringReceiver` speaks
 * them): the sans-I/O decoder.
 *
 * Grammar accepted, exactly: `length ":" payload ","` where `length` is `0` or `[1-9][0-9]*`
 * (ASCII digits, no sign, no spaces, no leading zero) and `payload` is exactly `length` bytes.
 */
import { WeftError } from "../../../core/errors.js";
import { FrameAssembly } from "../../framing/assembly.js";
import type { DecoderFactory, DecoderSink } from "../../framing/decoder.js";
import { FramingDecoder } from "../../framing/framing-decoder.js";
import { checkMaxLength } from "../../framing/limits.js";
import { keepShape, keepShapesOnce } from "../../framing/v8.js";

/** What was wrong with a netstring stream. */
export type NetstringErrorKind =
  /** A length must start with a digit (also: an empty length, `:` first). */
  | "non-digit length"
  /** A length of more than one digit starting with `0`. */
  | "leading zero"
  /** A length was followed by something other than a digit or `:`. */
  | "missing colon"
  /** The announced length exceeds `maxLength` (detected digit by digit, before any payload). */
  | "length too long"
  /** The byte after the payload is not `,` (payload longer than announced, or garbage). */
  | "missing comma"
  /** The input ended inside a netstring. */
  | "truncated";

/**
 * A malformed netstring stream (code `ERR_NETSTRING_PARSE`, Twisted's `NetstringParseError`):
 * `kind` says what was wrong and `offset` is the stream offset (0-based, counting every byte fed)
 * of the byte at which it was detected; both are in the message too.
 */
export class NetstringParseError extends WeftError {
  /** What was wrong. */
  readonly kind: NetstringErrorKind;
  /** Stream offset (0-based, counting every byte fed) of the byte where it was detected. */
  readonly offset: number;

  constructor(kind: NetstringErrorKind, offset: number, detail: string) {
    super("ERR_NETSTRING_PARSE", `Netstring parse error (${kind}) at byte ${offset}: ${detail}`);
    this.kind = kind;
    this.offset = offset;
  }
}

/** Options of the netstring decoder. */
export interface NetstringOptions {
  /**
   * Largest accepted payload in bytes. Default `99999` (Twisted's `MAX_LENGTH`). The length is
   * rejected digit by digit, before any payload is buffered; `0` accepts only `0:,`. At most
   * 2^53 / 10.
   */
  maxLength?: number;
}

/** Decoder states. */
const LEN_START = 0; // expecting the first digit of a length
const LEN = 1; // inside the digits of a length
const PAYLOAD = 2; // assembling a payload that spans chunks
const COMMA = 3; // payload complete, expecting ","

const COLON = 0x3a;
export const COMMA_BYTE = 0x2c;
const ZERO = 0x30;

function describe(byte: number): string {
  return byte >= 0x20 && byte < 0x7f
    ? `"${String.fromCharCode(byte)}"`
    : `0x${byte.toString(16).padStart(2, "0")}`;
}

/**
 * Sans-I/O netstring decoder. Payloads lying inside one fed chunk are zero-copy views of it (valid
 * until `feed` returns: `.slice()` one to keep it); a payload spanning chunks is assembled once
 * into a buffer of exactly the announced length. Memory is bounded by `maxLength` + 1 whatever a
 * peer announces. After a {@link NetstringParseError} nothing more is delivered.
 */
export class NetstringDecoder extends FramingDecoder<Uint8Array> {
  /** Largest accepted payload in bytes (the `maxLength` option; default 99999). */
  readonly maxLength: number;
  #state = LEN_START;
  #len = 0;
  #asm = new FrameAssembly();
  #digits = 0;
  /** Whether `parse` takes the `#fastFrames` path (see `usesFastPath`). */
  readonly #fast: boolean;

  constructor(sink: DecoderSink<Uint8Array>, options: NetstringOptions = {}) {
    super(sink);
    this.maxLength = checkMaxLength(
      options.maxLength ?? 99999,
      Math.floor(Number.MAX_SAFE_INTEGER / 10),
    );
    this.#fast = this.usesFastPath();
    keepShapesOnce(NetstringDecoder, keepShapes);
  }

  protected partialBytes(): number {
    return this.#digits + this.#asm.filled;
  }

  protected inFrame(): boolean {
    return this.#state !== LEN_START;
  }

  protected resetPartial(): void {
    this.#state = LEN_START;
    this.#len = 0;
    this.#asm.reset();
    this.#digits = 0;
  }

  protected truncatedError(offset: number): WeftError {
    let what: string;
    if (this.#state === LEN) what = "stream ended inside a length";
    else if (this.#state === PAYLOAD)
      what = `stream ended after ${this.#asm.filled} of ${this.#len} payload bytes`;
    else what = 'stream ended before the closing ","';
    return new NetstringParseError("truncated", offset, what);
  }

  #error(kind: NetstringErrorKind, at: number, detail: string): void {
    this.fail(new NetstringParseError(kind, this.base + at, detail));
  }

  #tooLong(at: number, len: number): void {
    this.#error(
      "length too long",
      at,
      `length ${len}${this.#state === LEN ? "…" : ""} exceeds maxLength ${this.maxLength}`,
    );
  }

  /**
   * The fast path of `parse`'s loop: whole, well-formed netstrings lying inside the chunk,
   * delivered as views, with the loop state in locals (see `usesFastPath`).
   * Returns where it stopped; anything else (a partial netstring, any malformation, reported with
   * its exact kind and offset) is left to the state machine in `parse`, which starts over from that
   * netstring's first byte.
   */
  #fastFrames(c: Uint8Array, start: number): number {
    const n = c.length;
    // Read at the first whole frame, once: on a Buffer these are slow getters (as slow as parsing
    // a 7-byte chunk), and a chunk holding no whole frame needs neither.
    let ab: ArrayBufferLike | null = null;
    let bo = 0;
    const max = this.maxLength;
    const sink = this.sink;
    let i = start;
    while (i < n) {
      let k = i;
      let len = c[k]! - ZERO;
      // `(d >>> 0) > 9`: not a digit (a byte below "0" wraps to a huge unsigned value).
      if (len >>> 0 > 9) break;
      k++;
      if (len !== 0) {
        // More digits. The value is checked against max once, after them: at worst the digits
        // of this chunk are scanned once more by the state machine, which reports it exactly.
        while (k < n) {
          const d = c[k]! - ZERO;
          if (d >>> 0 > 9) break;
          len = len * 10 + d;
          k++;
        }
      }
      if (len > max || k >= n || c[k] !== COLON) break;
      k++;
      if (n - k <= len || c[k + len] !== COMMA_BYTE) break;
      if (ab === null) {
        ab = c.buffer;
        bo = c.byteOffset;
      }
      const frame = new Uint8Array(ab, bo + k, len);
      i = k + len + 1;
      sink.onFrame(frame);
      if (this.halted) return i;
    }
    return i;
  }

  protected parse(c: Uint8Array): number {
    const n = c.length;
    const max = this.maxLength;
    let i = 0;
    while (i < n) {
      if (this.#fast && this.#state === LEN_START) {
        i = this.#fastFrames(c, i);
        if (this.halted || i === n) return i;
      }
      switch (this.#state) {
        case LEN_START: {
          const b = c[i]!;
          const d = b - ZERO;
          if (d < 0 || d > 9) {
            this.#error(
              "non-digit length",
              i,
              `expected a digit, got ${describe(b)}${b === COLON ? " (empty length)" : ""}`,
            );
            return i + 1;
          }
          if (d > max) {
            this.#tooLong(i, d);
            return i + 1;
          }
          this.#len = d;
          this.#digits = 1;
          this.#state = LEN;
          i++;
          break;
        }
        case LEN: {
          let len = this.#len;
          let b = 0;
          // Digits of the length; each one is checked before the next is read.
          while (i < n) {
            b = c[i]!;
            const d = b - ZERO;
            if (d < 0 || d > 9) break;
            if (this.#digits === 1 && len === 0) {
              this.#error("leading zero", i, "a length must not start with 0");
              return i + 1;
            }
            len = len * 10 + d;
            this.#digits++;
            if (len > max) {
              this.#tooLong(i, len);
              return i + 1;
            }
            i++;
          }
          this.#len = len;
          if (i === n) return i;
          if (b !== COLON) {
            this.#error("missing colon", i, `expected a digit or ":", got ${describe(b)}`);
            return i + 1;
          }
          i++;
          this.#digits = 0;
          if (n - i > len) {
            // Payload and comma inside this chunk: a zero-copy view.
            if (c[i + len] !== COMMA_BYTE) {
              this.#state = COMMA;
              this.#error("missing comma", i + len, `expected ",", got ${describe(c[i + len]!)}`);
              return i + len + 1;
            }
            const frame = new Uint8Array(c.buffer, c.byteOffset + i, len);
            i += len + 1;
            this.#state = LEN_START;
            this.sink.onFrame(frame);
            if (this.halted) return i;
          } else {
            const asm = this.#asm;
            asm.start(len, c, i);
            i += asm.take(c, i);
            this.#state = asm.complete ? COMMA : PAYLOAD;
          }
          break;
        }
        case PAYLOAD: {
          i += this.#asm.take(c, i);
          if (this.#asm.complete) this.#state = COMMA;
          break;
        }
        default: {
          // COMMA
          const b = c[i]!;
          if (b !== COMMA_BYTE) {
            this.#error("missing comma", i, `expected ",", got ${describe(b)}`);
            return i + 1;
          }
          i++;
          const frame = this.#asm.finish();
          this.#state = LEN_START;
          this.sink.onFrame(frame);
          if (this.halted) return i;
        }
      }
    }
    return i;
  }
}

/** A {@link DecoderFactory} of {@link NetstringDecoder}s with `options`. */
export function netstringDecoder(options: NetstringOptions = {}): DecoderFactory<Uint8Array> {
  new NetstringDecoder({ onFrame() {}, onError() {} }, options);
  return (sink) => new NetstringDecoder(sink, options);
}

/**
 * The shape keeper of {@link NetstringDecoder} (see `framing/v8.ts`): fed a partial netstring (its
 * assembly fields get set), it delivers nothing.
 */
function keepShapes(): void {
  const keeper = new NetstringDecoder({ onFrame() {}, onError() {} });
  keeper.feed(new Uint8Array([0x35, 0x3a, 0x61, 0x62])); // "5:ab"
  keepShape(keeper);
}
