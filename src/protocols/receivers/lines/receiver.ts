/**
 * Twisted's `LineReceiver` and `LineOnlyReceiver` protocols, on the line scanner shared with
 * `LineDecoder`.
 */
import { Buffer } from "node:buffer";
import { NotImplementedError } from "../../../core/errors.js";
import type { Transport } from "../../../core/interfaces.js";
import { Protocol } from "../../../core/protocol.js";
import { PausableReceiver } from "../../framing/receiver.js";
import { keepShape, keepShapesOnce } from "../../framing/v8.js";
import {
  checkLineLength,
  DEFAULT_LINE_DELIMITER,
  DEFAULT_MAX_LINE_LENGTH,
  LineLengthExceededError,
} from "./decoder.js";
import { delimiterOf, encodeLine } from "./encoder.js";
import { delimiterBytes, EXCEEDED, LineScanner, type LineTarget, MORE } from "./scanner.js";

function isDisconnecting(p: Protocol): boolean {
  const t = p.transport as Transport | undefined;
  return t?.disconnecting === true;
}

/**
 * The input side of a line protocol: its scanner, made at the first chunk and re-configured
 * whenever the protocol's `delimiter` or `MAX_LENGTH` changed since the previous one, and the guard
 * that makes a `dataReceived` from inside a handler only queue its bytes.
 */
class LineInput {
  scanner: LineScanner | null = null;
  /** True while a `dataReceived` is delivering lines. */
  busy = false;
  /** The `delimiter` value the scanner was configured with. */
  #source: Uint8Array | string | null = null;
  readonly #extra: "delimiter" | 1;
  readonly #keepShapes: () => void;

  /**
   * `extra`: the scanner's unterminated-line rule (see {@link LineScanner}); `keepShapes`: run
   * before the first scanner is made (the protocol's line target, see `v8.ts`).
   */
  constructor(extra: "delimiter" | 1, keepShapes: () => void) {
    this.#extra = extra;
    this.#keepShapes = keepShapes;
  }

  /** The scanner for `delimiter` and `max`, made or re-configured as needed. */
  scan(delimiter: Uint8Array | string, max: number): LineScanner {
    let sc = this.scanner;
    if (sc === null) {
      this.#keepShapes();
      sc = this.scanner = new LineScanner(
        delimiterBytes(delimiter),
        checkLineLength(max),
        this.#extra,
      );
      this.#source = delimiter;
    } else if (delimiter !== this.#source || max !== sc.max) {
      sc.configure(
        delimiter === this.#source ? sc.delimiter : delimiterBytes(delimiter),
        checkLineLength(max),
      );
      this.#source = delimiter;
    }
    return sc;
  }

  /** `delimiter` as bytes, without encoding it again when the scanner already has it. */
  delimiterOf(delimiter: Uint8Array | string): Uint8Array {
    const sc = this.scanner;
    return sc !== null && delimiter === this.#source ? sc.delimiter : delimiterOf(delimiter);
  }

  get bufferedBytes(): number {
    return this.scanner?.bufferedBytes ?? 0;
  }

  /** The error for the line the scanner found too long (after `EXCEEDED`). */
  exceededError(max: number): LineLengthExceededError {
    const sc = this.scanner as LineScanner;
    return new LineLengthExceededError(max, sc.exceededLength, sc.exceededTerminated);
  }
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
 * views valid only during the call (`.slice()` to keep one). Pausable ({@link PausableReceiver}). `delimiter` (default `"\r\n"`) and
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
export class LineReceiver<F extends object = object> extends PausableReceiver<F> {
  /** Line terminator, bytes or a string (UTF-8). Default `"\r\n"`. */
  delimiter: Uint8Array | string = DEFAULT_LINE_DELIMITER;
  /** Longest accepted line in bytes, delimiter excluded. Default 16384. */
  MAX_LENGTH = DEFAULT_MAX_LINE_LENGTH;
  /** True in line mode (the default), false in raw mode (Twisted's `line_mode`). */
  lineMode = true;
  readonly #input = new LineInput("delimiter", keepLineReceiverShapes);
  /** One line to `lineReceived`; true stops the scan (paused, raw mode or disconnecting). */
  readonly #target: LineTarget = new LineReceiverTarget(this);

  /** Bytes received and not yet delivered. */
  get bufferedBytes(): number {
    return this.#input.bufferedBytes;
  }

  /** An unfinished line (or lines held while paused) is pending work. */
  override pendingWork(): string | null {
    const n = this.bufferedBytes;
    return n > 0 ? `${n} bytes of unfinished lines` : null;
  }

  override dataReceived(data: Uint8Array): void {
    const input = this.#input;
    const sc = input.scan(this.delimiter, this.MAX_LENGTH);
    if (isDisconnecting(this)) return;
    sc.push(data);
    if (input.busy) return;
    input.busy = true;
    try {
      while (!this.paused) {
        if (this.lineMode) {
          const r = sc.run(this.#target);
          if (r === MORE) return;
          if (r === EXCEEDED) {
            const error = input.exceededError(this.MAX_LENGTH);
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
      input.busy = false;
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
    const sc = this.#input.scanner;
    if (sc === null) return new Uint8Array(0);
    return sc.takeAll().slice();
  }

  /** Sends `line` (a string is UTF-8 encoded) followed by the delimiter, in one write. */
  sendLine(line: Uint8Array | string): void {
    this.transport.write(encodeLine(line, this.delimiter));
  }

  /** Lines wait in the buffer while `paused` (checked after every line). */
  protected holdFrames(): void {}

  /** Deliver what is buffered. */
  protected releaseFrames(): void {
    this.dataReceived(new Uint8Array(0));
  }

  /** `paused` stays true: nothing more is delivered. */
  protected dropFrames(): void {}
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
  readonly #input = new LineInput(1, keepLineOnlyReceiverShapes);
  /** One line to `lineReceived`; true stops the scan (disconnecting). */
  readonly #target: LineTarget = new LineOnlyReceiverTarget(this);

  /** Bytes received and not yet delivered. */
  get bufferedBytes(): number {
    return this.#input.bufferedBytes;
  }

  /** An unfinished line (or lines held while paused) is pending work. */
  override pendingWork(): string | null {
    const n = this.bufferedBytes;
    return n > 0 ? `${n} bytes of unfinished lines` : null;
  }

  override dataReceived(data: Uint8Array): void {
    const input = this.#input;
    const sc = input.scan(this.delimiter, this.MAX_LENGTH);
    if (isDisconnecting(this)) return;
    sc.push(data);
    if (input.busy) return;
    input.busy = true;
    try {
      const r = sc.run(this.#target);
      if (r === MORE) return;
      if (r === EXCEEDED) {
        const error = input.exceededError(this.MAX_LENGTH);
        if (sc.exceededTerminated) {
          const line = sc.take(sc.exceededLength);
          sc.skip(sc.delimiter.length);
          dropCompleteLines(sc);
          this.lineLengthExceeded(line, error);
        } else {
          this.lineLengthExceeded(sc.takeAll(), error);
        }
        return;
      }
      // STOP: a handler closed the connection.
      dropCompleteLines(sc);
    } finally {
      input.busy = false;
      sc.settle();
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
    const d = this.#input.delimiterOf(this.delimiter);
    this.transport.writeSequence([typeof line === "string" ? Buffer.from(line, "utf8") : line, d]);
  }
}

/** Keeps {@link LineReceiverTarget}'s shape (see `v8.ts`); runs once, at the first scanner. */
function keepLineReceiverShapes(): void {
  keepShapesOnce(LineReceiverTarget, () => keepShape(new LineReceiverTarget(new LineReceiver())));
}

/** Keeps {@link LineOnlyReceiverTarget}'s shape (see `v8.ts`); runs once, at the first scanner. */
function keepLineOnlyReceiverShapes(): void {
  keepShapesOnce(LineOnlyReceiverTarget, () =>
    keepShape(new LineOnlyReceiverTarget(new LineOnlyReceiver())),
  );
}

/** Drops the complete lines buffered, keeping a trailing partial line (emptied if too long). */
function dropCompleteLines(sc: LineScanner): void {
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
