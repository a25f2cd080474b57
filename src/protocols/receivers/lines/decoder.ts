/**
 * Lines: a sans-I/O {@link LineDecoder} and {@link encodeLine}, and Twisted's `LineReceiver` and
 * `LineOnlyReceiver` protocols on top of the same engine.
 *
 * Lines are bytes (`Uint8Array`). They are zero-copy views of the chunk they arrived in when they
 * lie inside one chunk, so they are valid only during the callback that receives them: `.slice()`
 * one to keep it. To get text, decode a whole line at a time with one `TextDecoder`
 * (`decoder.decode(line)`): a line is always whole, so a UTF-8 character split across socket chunks
 * is never cut (only the delimiter bytes are searched for, and UTF-8 never puts `\r` or `\n` inside
 * a multi-byte character).
 *
 * Length limits follow Twisted exactly (M = maximum length, L = delimiter length): a complete line
 * longer than M bytes exceeds it; an unterminated buffer exceeds it once it holds M + L bytes (so a
 * line of exactly M bytes whose delimiter arrives split across chunks is accepted). Limits are
 * checked before bytes are buffered: a peer can never make a decoder hold more than M + L bytes.
 * The cost is linear in the bytes received, whatever the chunking (unlike Twisted, which rescans its
 * buffer on every chunk: twisted/twisted#6357).
 *
 * ```ts
 * // A protocol: echo each line back, upper-cased.
 * class Shout extends LineReceiver {
 *   override lineReceived(line: Uint8Array): void {
 *     this.sendLine(new TextDecoder().decode(line).toUpperCase());
 *   }
 * }
 *
 * // Any socket or async iterable of chunks, without a protocol class:
 * for await (const text of decodeTextLines(socket, { delimiter: "\n" })) console.log(text);
 *
 * // Sans-I/O, for your own transport or parser:
 * const decoder = new LineDecoder({ onFrame: (line) => use(line), onError: (err) => fail(err) });
 * decoder.feed(chunk);
 * ```
 */
import { WeftError } from "../../../core/errors.js";
import type { Decoder, DecoderFactory, DecoderSink } from "../../framing/decoder.js";
import { checkMaxLength, MAX_SAFE_LENGTH } from "../../framing/limits.js";
import { keepShape, keepShapesOnce } from "../../framing/v8.js";
import { delimiterBytes, EXCEEDED, LineScanner } from "./scanner.js";

/** Twisted's default delimiter, `\r\n`. */
export const DEFAULT_LINE_DELIMITER = "\r\n";
/** Twisted's default `MAX_LENGTH`: 16384 bytes of line content (delimiter excluded). */
export const DEFAULT_MAX_LINE_LENGTH = 16384;

/**
 * A line is longer than allowed (code `ERR_LINE_LENGTH_EXCEEDED`). `terminated` tells whether a
 * delimiter was seen: then `length` is the line's length, otherwise the number of bytes buffered
 * without a delimiter (at least `maxLength` + the delimiter's length for a decoder or
 * `LineReceiver`, more than `maxLength` for `LineOnlyReceiver`).
 */
export class LineLengthExceededError extends WeftError {
  /** The limit that was exceeded, in bytes. */
  readonly maxLength: number;
  /** The line's length, or the bytes buffered without a delimiter (see `terminated`). */
  readonly length: number;
  /** Whether a delimiter was seen. */
  readonly terminated: boolean;

  constructor(maxLength: number, length: number, terminated: boolean) {
    super(
      "ERR_LINE_LENGTH_EXCEEDED",
      terminated
        ? `Line of ${length} bytes exceeds the maximum line length of ${maxLength} bytes.`
        : `${length} bytes received without a line delimiter exceed the maximum line length of ${maxLength} bytes.`,
    );
    this.maxLength = maxLength;
    this.length = length;
    this.terminated = terminated;
  }
}

/** The input ended in the middle of a line (code `ERR_LINE_UNTERMINATED`); `length` bytes were held. */
export class UnterminatedLineError extends WeftError {
  /** Bytes held without a delimiter. */
  readonly length: number;

  constructor(length: number) {
    super(
      "ERR_LINE_UNTERMINATED",
      `Input ended inside a line: ${length} bytes without a delimiter.`,
    );
    this.length = length;
  }
}

/** @internal Validates a maximum line length (see `checkMaxLength`). */
export function checkLineLength(value: number): number {
  return checkMaxLength(value, MAX_SAFE_LENGTH, "The maximum line length");
}

/** Options of {@link LineDecoder} (and of the line stream helpers). */
export interface LineDecoderOptions {
  /** Line terminator, bytes or a string (UTF-8). Default `"\r\n"`; a bare `\n` is then line content. */
  delimiter?: Uint8Array | string;
  /** Longest accepted line in bytes, delimiter excluded. Default 16384. */
  maxLength?: number;
  /**
   * What `end()` does with a last line that has no delimiter: `false` (default) reports an
   * {@link UnterminatedLineError}; `true` delivers it as a final line (if within `maxLength`).
   */
  emitUnterminated?: boolean;
}

/**
 * Sans-I/O line splitter. `feed` chunks; each complete line goes to `sink.onFrame` without its
 * delimiter, in order. A line too long gives one {@link LineLengthExceededError} to `sink.onError`,
 * after which the decoder is `failed`, holds nothing and ignores further input.
 *
 * Frames are views: of the fed chunk for a line inside it, or of a buffer the decoder then never
 * writes again for a line that spanned chunks. A view of a chunk is valid as long as the caller
 * leaves the chunk unchanged (sockets and streams never reuse their chunks). The decoder keeps no
 * reference to a chunk after `feed` returns. A `feed` from inside `onFrame` is queued after the
 * bytes still unparsed and handled before the outer `feed` returns.
 */
export class LineDecoder implements Decoder {
  /** The delimiter in bytes. */
  readonly delimiter: Uint8Array;
  /** Longest accepted line in bytes (delimiter excluded). */
  readonly maxLength: number;
  readonly #sink: DecoderSink<Uint8Array>;
  readonly #scanner: LineScanner;
  readonly #emitUnterminated: boolean;
  #failed = false;
  #ended = false;
  #busy = false;

  constructor(sink: DecoderSink<Uint8Array>, options: LineDecoderOptions = {}) {
    const delim = delimiterBytes(options.delimiter ?? DEFAULT_LINE_DELIMITER);
    this.delimiter = delim;
    this.maxLength = checkLineLength(options.maxLength ?? DEFAULT_MAX_LINE_LENGTH);
    this.#sink = sink;
    this.#emitUnterminated = options.emitUnterminated === true;
    this.#scanner = new LineScanner(delim, this.maxLength, "delimiter");
    keepShapesOnce(LineDecoder, keepShapes);
  }

  get failed(): boolean {
    return this.#failed;
  }

  /**
   * @internal The scanner's line target (`run(this)` checks it against LineTarget): hands one line to the sink; true stops
   * the scan. A prototype method, so the scanner's hot call is the same for every decoder.
   */
  lineFound(line: Uint8Array): boolean {
    this.#sink.onFrame(line);
    return this.#failed;
  }

  get bufferedBytes(): number {
    return this.#scanner.bufferedBytes;
  }

  feed(chunk: Uint8Array): void {
    if (this.#failed || this.#ended) return;
    const sc = this.#scanner;
    sc.push(chunk);
    if (this.#busy) return;
    this.#busy = true;
    try {
      if (sc.run(this) === EXCEEDED) {
        this.#fail(
          new LineLengthExceededError(this.maxLength, sc.exceededLength, sc.exceededTerminated),
        );
      }
    } finally {
      this.#busy = false;
      // Only reached with a chunk still referenced if onFrame threw: never keep it.
      if (sc.holdsForeign) sc.settle();
    }
    if (this.#ended && !this.#failed) this.#finish();
  }

  /** End of input; called from inside `onFrame`, it takes effect once the lines buffered are out. */
  end(): void {
    if (this.#failed || this.#ended) return;
    this.#ended = true;
    if (!this.#busy) this.#finish();
  }

  #finish(): void {
    const sc = this.#scanner;
    const left = sc.bufferedBytes;
    if (left === 0) return;
    if (!this.#emitUnterminated) this.#fail(new UnterminatedLineError(left));
    else if (left > this.maxLength)
      this.#fail(new LineLengthExceededError(this.maxLength, left, false));
    else this.#sink.onFrame(sc.takeAll());
  }

  #fail(error: WeftError): void {
    this.#failed = true;
    this.#scanner.clear();
    this.#sink.onError(error);
  }
}

/** A {@link DecoderFactory} of line decoders with `options`. */
export function lineDecoder(options: LineDecoderOptions = {}): DecoderFactory<Uint8Array> {
  return (sink) => new LineDecoder(sink, options);
}

/**
 * The shape keeper of {@link LineDecoder} and its scanner (see `framing/v8.ts`): fed a partial line
 * (the scanner's buffer fields get set), it delivers nothing.
 */
function keepShapes(): void {
  const keeper = new LineDecoder({ onFrame() {}, onError() {} });
  keeper.feed(new Uint8Array([0x61, 0x62]));
  keepShape(keeper);
}
