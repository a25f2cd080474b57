/** Twisted's `NetstringReceiver` protocol. */
import { SMALL_WRITE, toBytes } from "../../framing/bytes.js";
import type { DecoderSink } from "../../framing/decoder.js";
import { FramedReceiver } from "../../framing/receiver.js";
import { NetstringDecoder, type NetstringParseError } from "./decoder.js";
import { COMMA_PIECE, encodeNetstring, netstringHeader } from "./encoder.js";

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
export class NetstringReceiver<F extends object = object> extends FramedReceiver<F> {
  /** Largest accepted payload in bytes. Default 99999. */
  MAX_LENGTH = 99999;
  /** True once the peer sent a malformed netstring. */
  brokenPeer = false;

  protected makeDecoder(sink: DecoderSink<Uint8Array>): NetstringDecoder {
    return new NetstringDecoder(sink, { maxLength: this.MAX_LENGTH });
  }

  protected decodeFailed(error: Error): void {
    this.brokenPeer = true;
    this.framingError(error as NetstringParseError);
  }

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
}
