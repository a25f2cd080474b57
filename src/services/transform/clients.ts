/**
 * Clients of the transform front-ends, and {@link TransformProxy}, which picks one by `via`.
 */
import { Deferred, fail } from "../../core/deferred.js";
import { ConnectionDone, type WeftError } from "../../core/errors.js";
import { AMP } from "../../protocols/amp/protocol.js";
import { LineReceiver, NetstringReceiver } from "../../protocols/receivers/index.js";
import {
  type ClientEndpointLike,
  type ClientOptions,
  defaultClock,
  KeptConnection,
  type Outcome,
  oneShot,
} from "../client.js";
import {
  BadReplyError,
  BadRequestError,
  NoReplyError,
  RemoteServiceError,
  TransformFailedError,
  UnknownTransformError,
} from "../errors.js";
import { decodeUtf8 } from "../text.js";
import { Transform } from "./amp.js";
import { escapeLine, unescapeLine } from "./line-codec.js";
import { TRANSFORM_NAME } from "./service.js";

/** The wire a {@link TransformProxy} speaks. */
export type TransformVia = "netstring" | "line" | "amp";

// ---------------------------------------------------------------------------------------------
// netstring: one connection per request

class NetstringTransformClient extends NetstringReceiver {
  readonly #request: string;
  readonly #outcome: Outcome<string>;

  constructor(request: string, outcome: Outcome<string>) {
    super();
    this.#request = request;
    this.#outcome = outcome;
    this.MAX_LENGTH = MAX_REPLY_LINE; // a reply may be longer than the request
  }

  override connectionMade(): void {
    super.connectionMade();
    this.sendString(this.#request);
  }

  override stringReceived(data: Uint8Array): void {
    const text = decodeUtf8(data);
    if (text === undefined)
      this.#outcome.reject(new BadReplyError("The reply is not valid UTF-8."));
    else this.#outcome.resolve(text);
    this.transport.loseConnection();
  }

  override framingError(error: Error): void {
    this.#outcome.reject(
      new BadReplyError(`Malformed netstring reply: ${error.message}`, { cause: error }),
    );
    this.transport.loseConnection();
  }

  override connectionLost(reason: Error): void {
    super.connectionLost(reason);
    this.#outcome.reject(
      new NoReplyError(
        "The transform server closed the connection without a reply (unknown transform, failed transform or bad request).",
        { cause: reason },
      ),
    );
  }
}

/** One transform over the netstring front-end (one connection). */
export function transformViaNetstring(
  endpoint: ClientEndpointLike,
  name: string,
  text: string,
  options: ClientOptions = {},
): Deferred<string> {
  return oneShot<string>(
    endpoint,
    (outcome) => new NetstringTransformClient(`${name}.${text}`, outcome),
    options,
  );
}

// ---------------------------------------------------------------------------------------------
// line: persistent, pipelined

/** Rebuild the typed error of an `ERROR CODE MESSAGE` reply. */
export function errorFromCode(code: string, message: string): WeftError {
  switch (code) {
    case "ERR_UNKNOWN_TRANSFORM":
      return new UnknownTransformError(message);
    case "ERR_TRANSFORM_FAILED":
      return new TransformFailedError(message);
    case "ERR_BAD_REQUEST":
      return new BadRequestError(message);
    default:
      return new RemoteServiceError(code, message);
  }
}

/** Longest reply line the line client accepts, in bytes. */
export const MAX_REPLY_LINE = 4 * 1024 * 1024;

/**
 * Client protocol of the line front-end: requests are answered in order. Replies longer than
 * 4 MiB fail every waiting call with BadReplyError and close.
 */
export class TransformLineClientProtocol extends LineReceiver {
  readonly #waiting: Array<Deferred<string>> = [];
  #lost: Error | null = null;

  constructor() {
    super();
    this.MAX_LENGTH = MAX_REPLY_LINE;
  }

  override lineLengthExceeded(_line: Uint8Array): void {
    this.#breakWith(
      new BadReplyError(`A reply line longer than ${MAX_REPLY_LINE} bytes.`),
      this.#waiting.shift(),
    );
  }

  /** Send a request; the Deferred fires with the reply's result or its typed error. */
  request(name: string, text: string): Deferred<string> {
    if (this.#lost !== null || !this.connected) return fail(this.#lost ?? new ConnectionDone());
    const d = new Deferred<string>();
    this.#waiting.push(d);
    this.sendLine(`${name} ${escapeLine(text)}`);
    return d;
  }

  override lineReceived(line: Uint8Array): void {
    const d = this.#waiting.shift();
    const text = decodeUtf8(line);
    if (d === undefined || text === undefined) {
      this.#breakWith(
        new BadReplyError(
          d === undefined ? "A reply nobody asked for." : "The reply is not valid UTF-8.",
        ),
        d,
      );
      return;
    }
    if (d.called) return; // timed out or cancelled: its reply still arrives, in order
    if (text.startsWith("OK ")) {
      d.callback(unescapeLine(text.slice(3)));
      return;
    }
    if (text.startsWith("ERROR ")) {
      const rest = text.slice(6);
      const sp = rest.indexOf(" ");
      const code = sp < 0 ? rest : rest.slice(0, sp);
      d.errback(errorFromCode(code, sp < 0 ? "" : unescapeLine(rest.slice(sp + 1))));
      return;
    }
    this.#breakWith(
      new BadReplyError(`Unexpected reply line: ${JSON.stringify(text.slice(0, 80))}`),
      d,
    );
  }

  override connectionLost(reason: Error): void {
    super.connectionLost(reason);
    this.#lost = reason;
    for (const d of this.#waiting.splice(0)) if (!d.called) d.errback(reason);
  }

  #breakWith(error: Error, d: Deferred<string> | undefined): void {
    if (d !== undefined && !d.called) d.errback(error);
    this.#lost = error;
    for (const w of this.#waiting.splice(0)) if (!w.called) w.errback(error);
    this.transport.loseConnection();
  }
}

// ---------------------------------------------------------------------------------------------
// the proxy

/** Options of {@link TransformProxy}. */
export interface TransformProxyOptions extends ClientOptions {
  /** Which front-end to talk to. Default `"netstring"` (the tutorial's). */
  via?: TransformVia;
}

/**
 * A client of the transform service (the Twisted tutorial's TransformProxy), over any of its three
 * front-ends. `netstring` opens a connection per call; `line` and `amp` keep one connection, opened
 * on first use and re-opened after it is lost, with calls pipelined on it.
 *
 * ```ts
 * const proxy = new TransformProxy(clientFromString(reactor, "tcp:127.0.0.1:10002"), { via: "line" });
 * const upper = await proxy.xform("upper", "hello");
 * proxy.close();
 * ```
 */
export class TransformProxy {
  /** The front-end protocol used (the `via` option; default `"netstring"`). */
  readonly via: TransformVia;
  readonly #endpoint: ClientEndpointLike;
  readonly #options: ClientOptions;
  readonly #conn: KeptConnection<TransformLineClientProtocol | AMP> | null;

  constructor(endpoint: ClientEndpointLike, options: TransformProxyOptions = {}) {
    this.#endpoint = endpoint;
    this.via = options.via ?? "netstring";
    this.#options = options;
    this.#conn =
      this.via === "netstring"
        ? null
        : new KeptConnection(endpoint, () =>
            this.via === "line" ? new TransformLineClientProtocol() : new AMP(),
          );
  }

  /**
   * Transform `text` with transform `name`. Fails with UnknownTransformError / TransformFailedError
   * (line, AMP), NoReplyError (netstring: the server closed without a reply), the endpoint's typed
   * connect error, or TimeoutError after `timeout` seconds. A name no server can register (see
   * `TRANSFORM_NAME`: e.g. with a space or a `.`, which would break the request framing) fails at
   * once with UnknownTransformError, without connecting.
   */
  xform(name: string, text: string): Deferred<string> {
    if (!TRANSFORM_NAME.test(name)) return fail(UnknownTransformError.forName(name));
    if (this.#conn === null)
      return transformViaNetstring(this.#endpoint, name, text, this.#options);
    const d = this.#conn.get().addCallback((conn): string | PromiseLike<string> => {
      if (conn instanceof AMP)
        return conn.callRemote(Transform, { name, text }).addCallback((r) => r.text);
      return conn.request(name, text);
    });
    return d.addTimeout(this.#options.timeout ?? 30, this.#options.clock ?? defaultClock());
  }

  /** Close the kept connection, if any. */
  close(): void {
    this.#conn?.close();
  }
}
