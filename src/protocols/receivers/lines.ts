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
import { Buffer } from "node:buffer";
import type { Transform } from "node:stream";
import type { TransformStream } from "node:stream/web";
import { InvalidArgumentError, NotImplementedError, WeftError } from "../../core/errors.js";
import type { Producer, Transport } from "../../core/interfaces.js";
import { Protocol } from "../../core/protocol.js";
import type { Decoder, DecoderFactory, DecoderSink } from "./decoder.js";
import { keepShape } from "./length-prefixed.js";
import { delimiterBytes, EXCEEDED, LineScanner, type LineTarget, MORE } from "./lines-scanner.js";
import {
  type ChunkSource,
  decodeIterable,
  type StreamAdapterOptions,
  toNodeTransform,
  toWebTransformStream,
} from "./streams.js";

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
  readonly maxLength: number;
  readonly length: number;
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
  readonly length: number;

  constructor(length: number) {
    super(
      "ERR_LINE_UNTERMINATED",
      `Input ended inside a line: ${length} bytes without a delimiter.`,
    );
    this.length = length;
  }
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

/** Throws InvalidArgumentError unless `value` is a usable maximum line length. */
function checkMaxLength(value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(
      `The maximum line length must be a non-negative safe integer, got ${value}.`,
    );
  }
  return value;
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
export class LineDecoder implements Decoder, LineTarget {
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
    this.maxLength = checkMaxLength(options.maxLength ?? DEFAULT_MAX_LINE_LENGTH);
    this.#sink = sink;
    this.#emitUnterminated = options.emitUnterminated === true;
    this.#scanner = new LineScanner(delim, this.maxLength, "delimiter");
  }

  get failed(): boolean {
    return this.#failed;
  }

  /**
   * @internal The scanner's line target (see LineTarget): hands one line to the sink; true stops
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

const encodedDelimiters = new Map<string, Buffer>();

function delimiterOf(delimiter: Uint8Array | string): Uint8Array {
  if (typeof delimiter !== "string") return delimiter;
  let b = encodedDelimiters.get(delimiter);
  if (b === undefined) {
    b = delimiterBytes(delimiter);
    if (encodedDelimiters.size < 64) encodedDelimiters.set(delimiter, b);
  }
  return b;
}

/**
 * The wire bytes of one line: `line` (a string is UTF-8 encoded) followed by `delimiter` (default
 * `"\r\n"`), in one new buffer. Like Twisted, no check is made that `line` holds no delimiter or
 * fits a receiver's maximum length.
 */
export function encodeLine(
  line: Uint8Array | string,
  delimiter: Uint8Array | string = DEFAULT_LINE_DELIMITER,
): Uint8Array {
  const d = delimiterOf(delimiter);
  if (typeof line === "string") {
    const n = Buffer.byteLength(line, "utf8");
    const out = Buffer.allocUnsafe(n + d.length);
    out.write(line, 0, "utf8");
    out.set(d, n);
    return out;
  }
  const out = Buffer.allocUnsafe(line.length + d.length);
  out.set(line, 0);
  out.set(d, line.length);
  return out;
}

// Stream helpers --------------------------------------------------------------------------------

function pickLines(o: LineDecoderOptions): LineDecoderOptions {
  const out: LineDecoderOptions = {};
  if (o.delimiter !== undefined) out.delimiter = o.delimiter;
  if (o.maxLength !== undefined) out.maxLength = o.maxLength;
  if (o.emitUnterminated !== undefined) out.emitUnterminated = o.emitUnterminated;
  return out;
}

/** A Node `Transform` from bytes to lines (`Uint8Array`, object mode); errors destroy it. */
export function lineTransform(options: LineDecoderOptions & StreamAdapterOptions = {}): Transform {
  return toNodeTransform(lineDecoder(pickLines(options)), options);
}

/** A Web `TransformStream` from bytes to lines. */
export function lineTransformStream(
  options: LineDecoderOptions & StreamAdapterOptions = {},
): TransformStream<Uint8Array, Uint8Array> {
  return toWebTransformStream(lineDecoder(pickLines(options)), options);
}

/**
 * Lines from a socket or any async iterable of chunks:
 * `for await (const line of decodeLines(socket)) text.decode(line)`.
 * A line too long, or input ending inside a line (unless `emitUnterminated`), is thrown from the
 * loop after the lines before it.
 */
export function decodeLines(
  source: ChunkSource,
  options: LineDecoderOptions & StreamAdapterOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  return decodeIterable(lineDecoder(pickLines(options)), source, options);
}

/**
 * Lines as strings (UTF-8, invalid sequences replaced by U+FFFD) from a socket or any async
 * iterable of chunks. Each line is decoded whole, so characters split across chunks are intact.
 */
export async function* decodeTextLines(
  source: ChunkSource,
  options: LineDecoderOptions = {},
): AsyncGenerator<string, void, undefined> {
  const text = new TextDecoder();
  for await (const line of decodeLines(source, pickLines(options))) yield text.decode(line);
}

// Protocols -------------------------------------------------------------------------------------

function isDisconnecting(p: Protocol): boolean {
  const t = p.transport as Transport | undefined;
  return t?.disconnecting === true;
}

/** {@link LineReceiver}'s line target: prototype methods, the same for every connection. */
class LineReceiverTarget implements LineTarget {
  readonly owner: LineReceiver;
  constructor(owner: LineReceiver) {
    this.owner = owner;
  }
  lineFound(line: Uint8Array): boolean {
    const r = this.owner;
    r.lineReceived(line);
    return r.paused || !r.lineMode || isDisconnecting(r);
  }
}

/** {@link LineOnlyReceiver}'s line target. */
class LineOnlyReceiverTarget implements LineTarget {
  readonly owner: LineOnlyReceiver;
  constructor(owner: LineOnlyReceiver) {
    this.owner = owner;
  }
  lineFound(line: Uint8Array): boolean {
    this.owner.lineReceived(line);
    return isDisconnecting(this.owner);
  }
}

/**
 * Twisted's `LineReceiver`: a protocol receiving lines and, after `setRawMode()`, raw data.
 *
 * Override `lineReceived(line)` (and `rawDataReceived(data)` if you use raw mode). Both receive
 * views valid only during the call (`.slice()` to keep one). `delimiter` (default `"\r\n"`) and
 * `MAX_LENGTH` (default 16384 bytes, delimiter excluded) are per-instance fields, read at each
 * `dataReceived`.
 *
 * Behaves as Twisted 22.4 does: the first delimiter in the buffered bytes ends a line; a line
 * longer than `MAX_LENGTH`, or `MAX_LENGTH` + delimiter-length bytes without a delimiter, calls
 * `lineLengthExceeded` with everything buffered (the buffer is emptied; the default closes the
 * connection) and ends processing of this `dataReceived`; mode switches take effect at once, in
 * the middle of a chunk; a `dataReceived` from inside a handler (e.g. `setLineMode(extra)`) only
 * queues its bytes after those still unparsed, so flipping modes never recurses; delivery stops
 * while paused and once `transport.disconnecting` is true, the rest staying buffered.
 *
 * Divergences: return values of the handlers are ignored (Twisted stops on a truthy one; in
 * TypeScript an `async` handler's Promise would be truthy); `dataReceived` ignores new bytes once
 * the transport is disconnecting; `lineLengthExceeded` also receives the typed error.
 */
export class LineReceiver<F extends object = object> extends Protocol<F> implements Producer {
  /** Line terminator, bytes or a string (UTF-8). Default `"\r\n"`. */
  delimiter: Uint8Array | string = DEFAULT_LINE_DELIMITER;
  /** Longest accepted line in bytes, delimiter excluded. Default 16384. */
  MAX_LENGTH = DEFAULT_MAX_LINE_LENGTH;
  /** True in line mode (the default), false in raw mode (Twisted's `line_mode`). */
  lineMode = true;
  /** True while paused by `pauseProducing`/`stopProducing`. */
  paused = false;
  #scanner: LineScanner | null = null;
  #delimiterSource: Uint8Array | string | null = null;
  #busy = false;

  #scan(): LineScanner {
    let sc = this.#scanner;
    const d = this.delimiter;
    if (sc === null) {
      sc = this.#scanner = new LineScanner(
        delimiterBytes(d),
        checkMaxLength(this.MAX_LENGTH),
        "delimiter",
      );
      this.#delimiterSource = d;
    } else if (d !== this.#delimiterSource || this.MAX_LENGTH !== sc.max) {
      sc.configure(
        d === this.#delimiterSource ? sc.delimiter : delimiterBytes(d),
        checkMaxLength(this.MAX_LENGTH),
      );
      this.#delimiterSource = d;
    }
    return sc;
  }

  /** Bytes received and not yet delivered. */
  get bufferedBytes(): number {
    return this.#scanner?.bufferedBytes ?? 0;
  }

  /** One line to `lineReceived`; true stops the scan (paused, raw mode or disconnecting). */
  readonly #target: LineTarget = new LineReceiverTarget(this);

  override dataReceived(data: Uint8Array): void {
    const sc = this.#scan();
    if (isDisconnecting(this)) return;
    sc.push(data);
    if (this.#busy) return;
    this.#busy = true;
    try {
      while (!this.paused) {
        if (this.lineMode) {
          const r = sc.run(this.#target);
          if (r === MORE) return;
          if (r === EXCEEDED) {
            const error = new LineLengthExceededError(
              this.MAX_LENGTH,
              sc.exceededLength,
              sc.exceededTerminated,
            );
            this.lineLengthExceeded(sc.takeAll(), error);
            return;
          }
        } else {
          if (sc.bufferedBytes === 0) return;
          this.rawDataReceived(sc.takeAll());
        }
        if (isDisconnecting(this)) return;
      }
    } finally {
      this.#busy = false;
      sc.settle();
    }
  }

  /** Called with each line, without its delimiter (a view valid during the call). Override it. */
  lineReceived(_line: Uint8Array): void {
    throw new NotImplementedError("LineReceiver.lineReceived");
  }

  /**
   * Called in raw mode with everything buffered (a view valid during the call). Bytes not consumed
   * can be handed back with `setLineMode(extra)`. Override it if you use raw mode.
   */
  rawDataReceived(_data: Uint8Array): void {
    throw new NotImplementedError("LineReceiver.rawDataReceived");
  }

  /**
   * Called when a line is too long, with everything that was buffered (starting with at least part
   * of the offending line; may hold more lines) and the typed error. The buffer is empty by then,
   * so an override may resume with `setLineMode(rest)`. Default: `transport.loseConnection()`.
   */
  lineLengthExceeded(_line: Uint8Array, _error: LineLengthExceededError): void {
    this.transport.loseConnection();
  }

  /** Switch to raw mode: from now on (even the rest of the current chunk) bytes go to `rawDataReceived`. */
  setRawMode(): void {
    this.lineMode = false;
  }

  /**
   * Switch to line mode. `extra` (bytes a `rawDataReceived` did not consume) is parsed for lines,
   * after anything still buffered. Don't pass `extra` from `lineReceived`.
   */
  setLineMode(extra?: Uint8Array): void {
    this.lineMode = true;
    if (extra !== undefined && extra.length > 0) this.dataReceived(extra);
  }

  /** Empties the buffer and returns what it held (a copy). From `lineReceived`: the rest of the input. */
  clearLineBuffer(): Uint8Array {
    const sc = this.#scanner;
    if (sc === null) return new Uint8Array(0);
    return sc.takeAll().slice();
  }

  /** Sends `line` (a string is UTF-8 encoded) followed by the delimiter, in one write. */
  sendLine(line: Uint8Array | string): void {
    this.transport.write(encodeLine(line, this.delimiter));
  }

  /** Stop delivering lines (already-buffered ones stay buffered) and pause the transport. */
  pauseProducing(): void {
    this.paused = true;
    this.transport.pauseProducing();
  }

  /** Resume the transport and deliver what is buffered. */
  resumeProducing(): void {
    this.paused = false;
    this.transport.resumeProducing();
    this.dataReceived(new Uint8Array(0));
  }

  /** Deliver nothing more and stop the transport. */
  stopProducing(): void {
    this.paused = true;
    this.transport.stopProducing();
  }
}

/**
 * Twisted's `LineOnlyReceiver`: lines only (no raw mode, no pausing, no `clearLineBuffer`).
 * Override `lineReceived(line)` (a view valid during the call).
 *
 * Differences from {@link LineReceiver}, as in Twisted: an unterminated buffer exceeds the limit
 * as soon as it holds more than `MAX_LENGTH` bytes (so `MAX_LENGTH` bytes + `\r` already does);
 * `lineLengthExceeded` receives only the offending line when it was terminated (the complete lines
 * after it in the same chunk are dropped, the trailing partial line kept), or everything buffered
 * otherwise; when a handler closes the connection the remaining lines of the chunk are dropped;
 * `sendLine` writes the line and the delimiter with one `writeSequence`.
 * Unlike Twisted, the cost is linear in the bytes received and the buffer is emptied after an
 * unterminated line exceeded the limit.
 */
export class LineOnlyReceiver<F extends object = object> extends Protocol<F> {
  /** Line terminator, bytes or a string (UTF-8). Default `"\r\n"`. */
  delimiter: Uint8Array | string = DEFAULT_LINE_DELIMITER;
  /** Longest accepted line in bytes, delimiter excluded. Default 16384. */
  MAX_LENGTH = DEFAULT_MAX_LINE_LENGTH;
  #scanner: LineScanner | null = null;
  #delimiterSource: Uint8Array | string | null = null;
  #busy = false;

  #scan(): LineScanner {
    let sc = this.#scanner;
    const d = this.delimiter;
    if (sc === null) {
      sc = this.#scanner = new LineScanner(delimiterBytes(d), checkMaxLength(this.MAX_LENGTH), 1);
      this.#delimiterSource = d;
    } else if (d !== this.#delimiterSource || this.MAX_LENGTH !== sc.max) {
      sc.configure(
        d === this.#delimiterSource ? sc.delimiter : delimiterBytes(d),
        checkMaxLength(this.MAX_LENGTH),
      );
      this.#delimiterSource = d;
    }
    return sc;
  }

  /** Bytes received and not yet delivered. */
  get bufferedBytes(): number {
    return this.#scanner?.bufferedBytes ?? 0;
  }

  /** One line to `lineReceived`; true stops the scan (disconnecting). */
  readonly #target: LineTarget = new LineOnlyReceiverTarget(this);

  override dataReceived(data: Uint8Array): void {
    const sc = this.#scan();
    if (isDisconnecting(this)) return;
    sc.push(data);
    if (this.#busy) return;
    this.#busy = true;
    try {
      for (;;) {
        const r = sc.run(this.#target);
        if (r === MORE) return;
        if (r === EXCEEDED) {
          const error = new LineLengthExceededError(
            this.MAX_LENGTH,
            sc.exceededLength,
            sc.exceededTerminated,
          );
          if (sc.exceededTerminated) {
            const line = sc.take(sc.exceededLength);
            sc.skip(sc.delimiter.length);
            this.#dropCompleteLines(sc);
            this.lineLengthExceeded(line, error);
          } else {
            this.lineLengthExceeded(sc.takeAll(), error);
          }
          return;
        }
        // STOP: a handler closed the connection.
        this.#dropCompleteLines(sc);
        return;
      }
    } finally {
      this.#busy = false;
      sc.settle();
    }
  }

  /** Drops the complete lines buffered, keeping a trailing partial line (emptied if too long). */
  #dropCompleteLines(sc: LineScanner): void {
    for (;;) {
      const r = sc.next();
      if (r === MORE) return;
      if (r === EXCEEDED) {
        if (sc.exceededTerminated) sc.skip(sc.exceededLength + sc.delimiter.length);
        else {
          sc.clear();
          return;
        }
      }
    }
  }

  /** Called with each line, without its delimiter (a view valid during the call). Override it. */
  lineReceived(_line: Uint8Array): void {
    throw new NotImplementedError("LineOnlyReceiver.lineReceived");
  }

  /**
   * Called when a line is too long: with that line (terminated) or everything buffered
   * (unterminated), and the typed error. Default: `transport.loseConnection()`.
   */
  lineLengthExceeded(_line: Uint8Array, _error: LineLengthExceededError): void {
    this.transport.loseConnection();
  }

  /** Sends `line` (a string is UTF-8 encoded) and the delimiter with one `writeSequence`. */
  sendLine(line: Uint8Array | string): void {
    const sc = this.#scanner;
    const d =
      sc !== null && this.delimiter === this.#delimiterSource
        ? sc.delimiter
        : delimiterOf(this.delimiter);
    this.transport.writeSequence([typeof line === "string" ? Buffer.from(line, "utf8") : line, d]);
  }
}

/**
 * A decoder kept alive for the life of the process, so that V8 keeps the hidden classes ("maps")
 * line decoders and scanners go through as their fields are set: V8 holds them only weakly, and
 * once every instance has died a GC frees them and discards all optimised code that checks them
 * ("weak objects" in `--trace-deopt`); the next connection would start over in unoptimised code.
 * It is fed a partial line (the scanner's buffer fields get set) and delivers nothing.
 */
const shapeKeeper = new LineDecoder({ onFrame() {}, onError() {} });
shapeKeeper.feed(new Uint8Array([0x61, 0x62]));
keepShape(shapeKeeper);
keepShape(new LineReceiverTarget(new LineReceiver()));
keepShape(new LineOnlyReceiverTarget(new LineOnlyReceiver()));
