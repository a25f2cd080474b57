/**
 * The transform service over netstrings, exactly the Twisted tutorial's protocol (default port 10001):
 * the client sends ONE netstring `NAME.TEXT` (split at the first `.`), the server replies with one
 * netstring holding the result and closes. A request without a `.`, a malformed netstring, text that
 * is not UTF-8, or an unknown or failing transform: the server closes without a reply. Requests are
 * limited to `MAX_LENGTH` (NetstringReceiver's, 99,999 bytes) as in Twisted.
 */
import { NetstringReceiver } from "../../protocols/receivers/index.js";
import { UnknownTransformError } from "../errors.js";
import { ServiceServerFactory } from "../front-end.js";
import {
  debugEnabled,
  type FrontEndOptions,
  logConnection,
  logPeerFault,
  logServiceFault,
  type ServiceLogger,
} from "../log.js";
import { decodeUtf8 } from "../text.js";
import type { TransformService } from "./service.js";

const DOT = 0x2e;

/** Server protocol: one request, one reply, close. */
export class TransformNetstringProtocol extends NetstringReceiver<TransformNetstringFactory> {
  #answered = false;

  override connectionMade(): void {
    super.connectionMade();
    const f = this.#factory();
    logConnection(f.logger, "connection made", "transform", "netstring", this);
  }

  override stringReceived(data: Uint8Array): void {
    if (this.#answered) return;
    this.#answered = true;
    const f = this.#factory();
    const dot = data.indexOf(DOT);
    const request = dot < 0 ? undefined : decodeUtf8(data);
    if (request === undefined) {
      logPeerFault(
        f.logger,
        {
          service: "transform",
          protocol: "netstring",
          conn: this,
          error: "ERR_BAD_REQUEST",
          input: data,
        },
        "bad request: no '.' or not UTF-8",
      );
      this.transport.loseConnection();
      return;
    }
    // `dot` is a byte offset; '.' is ASCII, so the first '.' of the string is at the same split.
    const at = request.indexOf(".");
    const name = request.slice(0, at);
    const text = request.slice(at + 1);
    if (debugEnabled(f.logger))
      f.logger.debug(
        { service: "transform", protocol: "netstring", name, bytes: data.length },
        "request",
      );
    let result: string | Promise<string>;
    try {
      result = f.service.apply(name, text);
    } catch (err) {
      this.#fail(f.logger, err);
      return;
    }
    if (typeof result === "string") {
      this.#reply(result);
      return;
    }
    result.then(
      (value) => this.#reply(value),
      (err: unknown) => this.#fail(f.logger, err),
    );
  }

  override connectionLost(reason: Error): void {
    super.connectionLost(reason);
    logConnection(
      this.#factory().logger,
      "connection lost",
      "transform",
      "netstring",
      this,
      reason,
    );
  }

  #reply(value: string): void {
    if (!this.connected) return;
    this.sendString(value);
    this.transport.loseConnection();
  }

  #fail(logger: ServiceLogger, err: unknown): void {
    if (err instanceof UnknownTransformError) {
      // The peer's fault: its name is unknown (logged as a short excerpt, never the whole request).
      logPeerFault(
        logger,
        {
          service: "transform",
          protocol: "netstring",
          conn: this,
          error: err,
          input: err.transformName ?? "",
        },
        "transform refused",
      );
    } else {
      logServiceFault(
        logger,
        { service: "transform", protocol: "netstring", conn: this },
        err,
        "transform failed",
      );
    }
    if (this.connected) this.transport.loseConnection();
  }

  #factory(): TransformNetstringFactory {
    return this.factory;
  }
}

/** Serves a {@link TransformService} over the tutorial's netstring protocol. */
export class TransformNetstringFactory extends ServiceServerFactory<
  TransformService,
  TransformNetstringProtocol
> {
  constructor(service: TransformService, options: FrontEndOptions = {}) {
    super(TransformNetstringProtocol, service, options);
  }
}
