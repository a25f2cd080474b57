/**
 * The transform service over CRLF lines (default port 10002), persistent and pipelined:
 *
 * - request: `NAME SP TEXT` CRLF;
 * - reply: `OK SP RESULT` CRLF, or `ERROR SP CODE SP MESSAGE` CRLF where CODE is the WeftError code
 *   (`ERR_UNKNOWN_TRANSFORM`, `ERR_TRANSFORM_FAILED`, `ERR_BAD_REQUEST`).
 *
 * TEXT, RESULT and MESSAGE are escaped with {@link escapeLine} (`\\`, `\r`, `\n`), so any result,
 * even one containing CRLF, keeps the framing. Many requests per connection; replies come in request
 * order even when a transform is asynchronous (later replies wait for earlier ones). A line longer
 * than `maxLineLength` bytes gets `ERROR ERR_BAD_REQUEST …` and the connection closes.
 *
 * Framing is `LineReceiver`'s (through {@link LineFrontEnd}), with one stricter limit: an
 * unterminated buffer is refused as soon as it can no longer become a line of at most
 * `maxLineLength` bytes (`maxLineLength` bytes and a CR still can), so at most `maxLineLength` + 1
 * bytes are ever kept between chunks.
 */

import { utf8Slice } from "../../protocols/framing/v8.js";
import { BadRequestError } from "../errors.js";
import { ServiceServerFactory } from "../front-end.js";
import { errorLine, LineFrontEnd } from "../line-front-end.js";
import { debugEnabled, type FrontEndOptions, logConnection } from "../log.js";
import { isUtf8 } from "../text.js";
import { escapeLine, unescapeLine } from "./line-codec.js";
import type { TransformService } from "./service.js";

const CR = 0x0d;

/** Server protocol: one reply line per request line, in order. */
export class TransformLineProtocol extends LineFrontEnd<TransformLineFactory> {
  /** Whether request records are wanted (read once per connection). */
  #debug = false;
  /** The last byte received (an unterminated line may end with the CR of its CRLF). */
  #last = 0;

  override connectionMade(): void {
    super.connectionMade();
    const f = this.factory;
    this.MAX_LENGTH = f.maxLineLength;
    this.#debug = debugEnabled(f.logger);
    logConnection(f.logger, "connection made", "transform", "line", this);
  }

  /** Handles the lines in `data`; answers a line over the limit with an error and closes. */
  override dataReceived(data: Uint8Array): void {
    super.dataReceived(data);
    if (data.length > 0) this.#last = data[data.length - 1] as number;
    // LineReceiver refuses an unterminated buffer at MAX_LENGTH + 2 bytes; at MAX_LENGTH + 1 it
    // can only still become a line if its last byte is the CR of a CRLF.
    if (this.bufferedBytes === this.MAX_LENGTH + 1 && this.#last !== CR && this.connected) {
      if (!this.transport.disconnecting) this.#tooLong();
    }
  }

  override lineReceived(line: Uint8Array): void {
    const f = this.factory;
    const end = line.length;
    // One native slice of the whole line, then the split on the string: cheaper than finding the
    // space in the bytes and slicing twice.
    const request = utf8Slice(line, 0, end);
    const sp = request.indexOf(" ");
    if (sp < 0) {
      this.reply(errorLine(new BadRequestError("Expected NAME SP TEXT.")));
      return;
    }
    // The slicer turns invalid UTF-8 into U+FFFD, so only a line showing one needs validating
    // (cheaper than validating every line: most requests are plain text).
    if (request.indexOf("\uFFFD") >= 0 && !isUtf8(line)) {
      this.reply(errorLine(new BadRequestError("The request is not valid UTF-8.")));
      return;
    }
    const name = request.slice(0, sp);
    const raw = request.slice(sp + 1);
    const text = unescapeLine(raw);
    if (this.#debug) {
      f.logger.debug({ service: "transform", protocol: "line", name, bytes: end }, "request");
    }
    let result: string | Promise<string>;
    try {
      result = f.service.apply(name, text);
    } catch (err) {
      this.reply(this.#errorReply(err));
      return;
    }
    if (typeof result === "string") this.reply(`OK ${escapeLine(result)}`);
    else
      this.replyLater(
        result.then(
          (value) => `OK ${escapeLine(value)}`,
          (err: unknown) => this.#errorReply(err),
        ),
      );
  }

  override lineLengthExceeded(): void {
    this.#tooLong();
  }

  #tooLong(): void {
    this.reply(errorLine(new BadRequestError(`Line longer than ${this.MAX_LENGTH} bytes.`)));
    this.flushReplies();
    this.transport.loseConnection();
  }

  /** Drops the replies still waiting and logs the loss. */
  override connectionLost(reason: Error): void {
    super.connectionLost(reason);
    logConnection(this.factory.logger, "connection lost", "transform", "line", this, reason);
  }

  #errorReply(err: unknown): string {
    if (this.#debug)
      this.factory.logger.debug(
        { service: "transform", protocol: "line", err },
        "transform refused",
      );
    return errorLine(err);
  }
}

/** Options of {@link TransformLineFactory}. */
export interface TransformLineOptions extends FrontEndOptions {
  /** Longest request line accepted, in bytes (without CRLF). Default 65536. */
  maxLineLength?: number;
}

/** Serves a {@link TransformService} over CRLF lines. */
export class TransformLineFactory extends ServiceServerFactory<
  TransformService,
  TransformLineProtocol
> {
  /** Longest request line accepted, in bytes (the `maxLineLength` option; default 65536). */
  readonly maxLineLength: number;

  constructor(service: TransformService, options: TransformLineOptions = {}) {
    super(TransformLineProtocol, service, options);
    this.maxLineLength = options.maxLineLength ?? 65536;
  }
}
