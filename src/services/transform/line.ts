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
 */
import { WeftError } from "../../core/errors.js";
import { ServerFactory } from "../../core/factory.js";
import { LineReceiver } from "../../protocols/receivers/lines.js";
import { BadRequestError } from "../errors.js";
import {
  debugEnabled,
  type FrontEndOptions,
  logConnection,
  type ServiceLogger,
  silentLogger,
} from "../log.js";
import { decodeUtf8 } from "../text.js";
import { escapeLine, unescapeLine } from "./line-codec.js";
import type { TransformService } from "./service.js";

const SP = 0x20;

/** A reply slot waiting for an asynchronous transform, so replies leave in request order. */
interface Slot {
  line: string | null;
}

/** Server protocol: one reply line per request line, in order. */
export class TransformLineProtocol extends LineReceiver {
  /** Replies not yet sent because an earlier asynchronous one is still running; null when none. */
  #queue: Slot[] | null = null;
  /** Replies produced while handling the current chunk (sent as one write at its end); null outside. */
  #batch: string | null = null;
  /** Whether request records are wanted (read once per connection). */
  #debug = false;

  override connectionMade(): void {
    super.connectionMade();
    const f = this.#factory();
    this.MAX_LENGTH = f.maxLineLength;
    this.#debug = debugEnabled(f.logger);
    logConnection(f.logger, "connection made", "transform", "line", this);
  }

  override dataReceived(data: Uint8Array): void {
    // Pipelined requests in one chunk get their replies in ONE write: many small writes cost the
    // transport (and the peer) far more per reply than one concatenated string.
    this.#batch = "";
    try {
      super.dataReceived(data);
    } finally {
      this.#flushBatch();
    }
  }

  override lineReceived(line: Uint8Array): void {
    const f = this.#factory();
    const sp = line.indexOf(SP);
    const request = sp < 0 ? undefined : decodeUtf8(line);
    if (request === undefined) {
      this.#send(
        errorLine(
          new BadRequestError(
            sp < 0 ? "Expected NAME SP TEXT." : "The request is not valid UTF-8.",
          ),
        ),
      );
      return;
    }
    const at = request.indexOf(" ");
    const name = request.slice(0, at);
    const text = unescapeLine(request.slice(at + 1));
    if (debugEnabled(f.logger))
      f.logger.debug(
        { service: "transform", protocol: "line", name, bytes: line.length },
        "request",
      );
    let result: string | Promise<string>;
    try {
      result = f.service.apply(name, text);
    } catch (err) {
      this.#send(this.#errorReply(f.logger, err));
      return;
    }
    if (typeof result === "string") {
      this.#send(`OK ${escapeLine(result)}`);
      return;
    }
    const slot: Slot = { line: null };
    if (this.#queue === null) this.#queue = [];
    this.#queue.push(slot);
    result.then(
      (value) => {
        slot.line = `OK ${escapeLine(value)}`;
        this.#flush();
      },
      (err: unknown) => {
        slot.line = this.#errorReply(f.logger, err);
        this.#flush();
      },
    );
  }

  override lineLengthExceeded(_line: Uint8Array): void {
    this.#send(errorLine(new BadRequestError(`Line longer than ${this.MAX_LENGTH} bytes.`)));
    this.#flushBatch();
    this.transport.loseConnection();
  }

  override connectionLost(reason: Error): void {
    this.#queue = null;
    super.connectionLost(reason);
    logConnection(this.#factory().logger, "connection lost", "transform", "line", this, reason);
  }

  /** Send now (batched while a chunk is handled), or behind the replies still waiting. */
  #send(reply: string): void {
    if (this.#queue !== null) this.#queue.push({ line: reply });
    else if (this.#batch !== null) this.#batch += `${reply}\r\n`;
    else this.sendLine(reply);
  }

  #flushBatch(): void {
    const out = this.#batch;
    this.#batch = null;
    if (out !== null && out.length > 0 && this.connected) this.transport.write(out);
  }

  #flush(): void {
    const q = this.#queue;
    if (q === null) return;
    let n = 0;
    while (n < q.length && (q[n] as Slot).line !== null) n++;
    if (n === 0) return;
    if (!this.connected) return;
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push((q[i] as Slot).line as string);
    this.#queue = n === q.length ? null : q.slice(n);
    // One write for every reply that became ready.
    this.transport.write(`${out.join("\r\n")}\r\n`);
  }

  #errorReply(logger: ServiceLogger, err: unknown): string {
    if (debugEnabled(logger))
      logger.debug({ service: "transform", protocol: "line", err }, "transform refused");
    return errorLine(err);
  }

  #factory(): TransformLineFactory {
    return this.factory as unknown as TransformLineFactory;
  }
}

/** `ERROR CODE MESSAGE` for any error (non-WeftErrors are reported as ERR_TRANSFORM_FAILED). */
export function errorLine(err: unknown): string {
  const code = err instanceof WeftError ? err.code : "ERR_TRANSFORM_FAILED";
  const message = err instanceof Error ? err.message : String(err);
  return `ERROR ${code} ${escapeLine(message)}`;
}

/** Options of {@link TransformLineFactory}. */
export interface TransformLineOptions extends FrontEndOptions {
  /** Longest request line accepted, in bytes (without CRLF). Default 65536. */
  maxLineLength?: number;
}

/** Serves a {@link TransformService} over CRLF lines. */
export class TransformLineFactory extends ServerFactory<TransformLineProtocol> {
  readonly service: TransformService;
  readonly logger: ServiceLogger;
  readonly maxLineLength: number;

  constructor(service: TransformService, options: TransformLineOptions = {}) {
    super();
    this.protocol = TransformLineProtocol;
    this.service = service;
    this.logger = options.logger ?? silentLogger;
    this.maxLineLength = options.maxLineLength ?? 65536;
  }
}
