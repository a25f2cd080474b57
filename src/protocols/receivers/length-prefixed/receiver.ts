/**
 * The length-prefixed protocol: the general `LengthPrefixedReceiver` (Twisted's
 * `IntNStringReceiver`), and Twisted's `Int8StringReceiver`, `Int16StringReceiver` and
 * `Int32StringReceiver` as presets of it.
 */

import type { Transport } from "../../../core/interfaces.js";
import { SMALL_WRITE, toBytes } from "../../framing/bytes.js";
import type { DecoderSink } from "../../framing/decoder.js";
import { checkMaxLength } from "../../framing/limits.js";
import { FramedReceiver } from "../../framing/receiver.js";
import {
  checkEndian,
  checkPrefix,
  LengthPrefixedDecoder,
  type LengthPrefixedError,
  type LengthPrefixedOptions,
} from "./decoder.js";
import { encodeLengthPrefix, encodeLengthPrefixed } from "./encoder.js";

/**
 * A protocol receiving length-prefixed frames (the general form of Twisted's
 * `IntNStringReceiver`). Configure with the class fields `prefix` (default 4), `endian` (default
 * `"big"`) and `MAX_LENGTH` (default 99999 bytes), in a subclass or on the instance before data
 * arrives; they are read once, at the first `dataReceived`.
 *
 * - `stringReceived(data)` gets each frame: a view valid only during the call (`.slice()` to keep).
 * - A length above `MAX_LENGTH` calls `lengthLimitExceeded(length)` as soon as the prefix is in,
 *   before the payload (default: `loseConnection()`); a malformed varint calls
 *   `framingError(error)`. Either way nothing more is delivered on this connection.
 * - Unlike Twisted, once `transport.disconnecting` is true (e.g. `stringReceived` called
 *   `loseConnection()`), no further frame of the same chunk is delivered.
 * - Pausable: `pauseProducing()` holds buffered frames (and pauses the transport) until
 *   `resumeProducing()`.
 */
export class LengthPrefixedReceiver<F extends object = object> extends FramedReceiver<F> {
  /**
   * Prefix width in bytes (1, 2, 4 or 8) or `"varint"`. Default 4. Typed wide so that a subclass
   * writes `override prefix = 2` without `as const`; checked when the connection is made.
   */
  prefix: number | "varint" = 4;
  /** Byte order of the prefix, `"big"` or `"little"`. Default `"big"`; checked like `prefix`. */
  endian: string = "big";
  /** Largest accepted payload, in bytes. Default 99999. */
  MAX_LENGTH = 99999;
  #options: LengthPrefixedOptions | null = null;

  /** Checks `prefix`, `endian` and `MAX_LENGTH` (InvalidArgumentError), then connects. */
  override makeConnection(transport: Transport): void {
    this.#options = this.#checkedOptions();
    super.makeConnection(transport);
  }

  #checkedOptions(): LengthPrefixedOptions {
    return {
      prefix: checkPrefix(this.prefix),
      endian: checkEndian(this.endian),
      maxLength: checkMaxLength(this.MAX_LENGTH),
    };
  }

  protected makeDecoder(sink: DecoderSink<Uint8Array>): LengthPrefixedDecoder {
    return new LengthPrefixedDecoder(sink, (this.#options ??= this.#checkedOptions()));
  }

  protected decodeFailed(error: Error): void {
    const e = error as LengthPrefixedError;
    if (e.kind === "length too long") this.lengthLimitExceeded(e.length);
    else this.framingError(e);
  }

  /**
   * Called when a prefix announces more than `MAX_LENGTH` bytes, before the payload arrives.
   * Default: `transport.loseConnection()`.
   */
  lengthLimitExceeded(_length: number): void {
    this.transport.loseConnection();
  }

  /** Called on a malformed prefix (an overlong varint). Default: `transport.loseConnection()`. */
  framingError(_error: LengthPrefixedError): void {
    this.transport.loseConnection();
  }

  /**
   * Sends `data` (a string is UTF-8 encoded) with its prefix, in one transport call. Throws
   * {@link StringTooLongError} when the prefix cannot announce that many bytes; `MAX_LENGTH` is not
   * checked on send.
   */
  sendString(data: Uint8Array | string): void {
    const bytes = toBytes(data);
    const opts = this.#options ?? this.#checkedOptions();
    if (bytes.length <= SMALL_WRITE) {
      this.transport.write(encodeLengthPrefixed(bytes, opts));
    } else {
      this.transport.writeSequence([encodeLengthPrefix(bytes.length, opts), bytes]);
    }
  }
}

/**
 * Twisted's `Int8StringReceiver`: 1-byte unsigned prefix (frames up to 255 bytes), `MAX_LENGTH`
 * 99999.
 */
export class Int8StringReceiver<F extends object = object> extends LengthPrefixedReceiver<F> {
  override prefix = 1;
}

/** Twisted's `Int16StringReceiver`: 2-byte unsigned big-endian prefix, `MAX_LENGTH` 99999. */
export class Int16StringReceiver<F extends object = object> extends LengthPrefixedReceiver<F> {
  override prefix = 2;
}

/** Twisted's `Int32StringReceiver`: 4-byte unsigned big-endian prefix, `MAX_LENGTH` 99999. */
export class Int32StringReceiver<F extends object = object> extends LengthPrefixedReceiver<F> {
  override prefix = 4;
}
