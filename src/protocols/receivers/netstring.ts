/**
 * Netstrings (D. J. Bernstein's `<length>:<payload>,`, as Twisted's `NetstringReceiver` speaks
 * them): a sans-I/O decoder and encoder, and the `NetstringReceiver` protocol.
 *
 * Grammar accepted, exactly: `length ":" payload ","` where `length` is `0` or `[1-9][0-9]*`
 * (ASCII digits, no sign, no spaces, no leading zero) and `payload` is exactly `length` bytes.
 */
import { WeftError } from "../../core/errors.js";
import type { Producer } from "../../core/interfaces.js";
import { Protocol } from "../../core/protocol.js";
import type { DecoderFactory, DecoderSink } from "./decoder.js";
import {
  checkMaxLength,
  FrameAssembly,
  FramingDecoder,
  keepShape,
  SMALL_WRITE,
  toBytes,
} from "./length-prefixed.js";

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
  readonly kind: NetstringErrorKind;
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
const COMMA_BYTE = 0x2c;
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
  readonly maxLength: number;
  #state = LEN_START;
  #len = 0;
  #asm = new FrameAssembly();
  #digits = 0;

  constructor(sink: DecoderSink<Uint8Array>, options: NetstringOptions = {}) {
    super(sink);
    this.maxLength = checkMaxLength(
      options.maxLength ?? 99999,
      Math.floor(Number.MAX_SAFE_INTEGER / 10),
    );
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
   * The hot loop: whole, well-formed netstrings lying inside the chunk, delivered as views.
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
      if (this.#state === LEN_START) {
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
 * A decoder kept alive for the life of the process, so that V8 keeps the hidden classes ("maps")
 * netstring decoders go through as their fields are set: V8 holds them only weakly, and once every
 * decoder has died a GC frees them and discards all optimised code that checks them ("weak
 * objects" in `--trace-deopt`); the next decoder would start over in unoptimised code. It is fed a
 * partial netstring (its assembly fields get set) and delivers nothing.
 */
const shapeKeeper = new NetstringDecoder({ onFrame() {}, onError() {} });
shapeKeeper.feed(new Uint8Array([0x35, 0x3a, 0x61, 0x62])); // "5:ab"
keepShape(shapeKeeper);

const textEncoder = new TextEncoder();

/** The header `<length>:` of a netstring carrying `length` bytes. */
export function netstringHeader(length: number): Uint8Array {
  return textEncoder.encode(`${length}:`);
}

/** The wire bytes of one netstring (`<len>:<data>,`), in one new buffer. */
export function encodeNetstring(data: Uint8Array | string): Uint8Array {
  const bytes = toBytes(data);
  const head = netstringHeader(bytes.length);
  const out = new Uint8Array(head.length + bytes.length + 1);
  out.set(head, 0);
  out.set(bytes, head.length);
  out[out.length - 1] = COMMA_BYTE;
  return out;
}

const COMMA_PIECE = Uint8Array.of(COMMA_BYTE);

/**
 * Twisted's `NetstringReceiver`. Override `stringReceived(data)`; send with `sendString(data)`.
 * `MAX_LENGTH` (default 99999 bytes) is read at the first `dataReceived`.
 *
 * - Each payload is a view valid only during `stringReceived` (`.slice()` to keep it).
 * - On malformed input `framingError(error)` is called with the {@link NetstringParseError}
 *   (default: `transport.loseConnection()`), `brokenPeer` becomes true and nothing more is
 *   delivered on this connection.
 * - Divergence from Twisted: once `transport.disconnecting` is true (e.g. `stringReceived` called
 *   `loseConnection()`), further netstrings already received in the same chunk are NOT delivered
 *   (Twisted delivers them).
 * - Pausable (an addition): `pauseProducing()`/`resumeProducing()` hold and release frames.
 */
export class NetstringReceiver<F extends object = object> extends Protocol<F> implements Producer {
  /** Largest accepted payload in bytes. Default 99999. */
  MAX_LENGTH = 99999;
  /** True once the peer sent a malformed netstring. */
  brokenPeer = false;
  /** True while paused by `pauseProducing`. */
  paused = false;
  #decoder: NetstringDecoder | null = null;

  /**
   * The decoder's sink: one small object per connection whose `onFrame`/`onError` are prototype
   * methods, so the decoder's hot call site sees the same functions for every connection
   * (per-connection arrow functions get inlined into the decoder's optimised code as constants,
   * and every connection closed then throws that code away: "weak objects" in `--trace-deopt`).
   */
  static readonly #Sink = class implements DecoderSink<Uint8Array> {
    readonly owner: NetstringReceiver;
    constructor(owner: NetstringReceiver) {
      this.owner = owner;
    }
    onFrame(frame: Uint8Array): void {
      const r = this.owner;
      r.stringReceived(frame);
      if (r.transport.disconnecting) r.#decoder?.stop();
    }
    onError(error: Error): void {
      this.owner.brokenPeer = true;
      this.owner.framingError(error as NetstringParseError);
    }
  };

  static {
    keepShape(new NetstringReceiver.#Sink(new NetstringReceiver()));
  }

  #getDecoder(): NetstringDecoder {
    if (this.#decoder === null) {
      this.#decoder = new NetstringDecoder(new NetstringReceiver.#Sink(this), {
        maxLength: this.MAX_LENGTH,
      });
      if (this.paused) this.#decoder.pause();
    }
    return this.#decoder;
  }

  /** Bytes received and not yet delivered. */
  get bufferedBytes(): number {
    return this.#decoder?.bufferedBytes ?? 0;
  }

  override dataReceived(data: Uint8Array): void {
    this.#getDecoder().feed(data);
  }

  /** Called with each netstring's payload. Override it. */
  stringReceived(_data: Uint8Array): void {}

  /** Called once on malformed input. Default: `transport.loseConnection()`. */
  framingError(_error: NetstringParseError): void {
    this.transport.loseConnection();
  }

  /**
   * Sends `data` (a string is UTF-8 encoded) as one netstring in one transport call (a small one
   * concatenated, a large one as pieces through `writeSequence`). No `MAX_LENGTH` check on send.
   */
  sendString(data: Uint8Array | string): void {
    const bytes = toBytes(data);
    if (bytes.length <= SMALL_WRITE) this.transport.write(encodeNetstring(bytes));
    else this.transport.writeSequence([netstringHeader(bytes.length), bytes, COMMA_PIECE]);
  }

  /** Stop delivering netstrings and pause the transport. */
  pauseProducing(): void {
    this.paused = true;
    this.#decoder?.pause();
    this.transport.pauseProducing();
  }

  /** Resume the transport and deliver what was held back. */
  resumeProducing(): void {
    this.paused = false;
    this.transport.resumeProducing();
    this.#decoder?.resume();
  }

  /** Deliver nothing more and stop the transport. */
  stopProducing(): void {
    this.paused = true;
    this.#getDecoder().stop();
    this.transport.stopProducing();
  }
}
