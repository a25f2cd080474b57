/**
 * Clients of the poetry front-ends: {@link getPoem} over the raw (fast/slow), netstring or AMP wire.
 */
import type { Deferred } from "../../core/deferred.js";
import { ConnectionDone } from "../../core/errors.js";
import { Protocol } from "../../core/protocol.js";
import { AMP } from "../../protocols/amp/protocol.js";
import { NetstringReceiver } from "../../protocols/receivers/index.js";
import { type ClientEndpointLike, type ClientOptions, type Outcome, oneShot } from "../client.js";
import { BadReplyError, NoReplyError, PoemIncompleteError } from "../errors.js";
import { decodeUtf8 } from "../text.js";
import { GetPoem } from "./amp.js";

/** The wire {@link getPoem} speaks. */
export type PoetryVia = "raw" | "netstring" | "amp";

/** Options of {@link getPoem}. */
export interface GetPoemOptions extends ClientOptions {
  /** `"raw"` (fast/slow servers: read until the server closes; default), `"netstring"` or `"amp"`. */
  via?: PoetryVia;
  /** The poem to ask for (netstring, AMP). Default: the server's default poem. */
  name?: string;
  /** Called with every chunk as it arrives (raw only), e.g. for progress. */
  onData?: (bytes: number) => void;
  /** Longest poem accepted (raw, netstring), in bytes; a longer one fails with BadReplyError. Default 16 MiB. */
  maxLength?: number;
}

/** Reads everything until the server closes (the tutorial's PoetryProtocol). */
class RawPoemClient extends Protocol {
  readonly #chunks: Uint8Array[] = [];
  #received = 0;
  readonly #outcome: Outcome<string>;
  readonly #onData: ((bytes: number) => void) | undefined;

  readonly #max: number;

  constructor(
    outcome: Outcome<string>,
    onData?: (bytes: number) => void,
    maxLength = 16 * 1024 * 1024,
  ) {
    super();
    this.#outcome = outcome;
    this.#onData = onData;
    this.#max = maxLength;
  }

  override dataReceived(data: Uint8Array): void {
    if (this.#received + data.length > this.#max) {
      this.#outcome.reject(new BadReplyError(`The poem is longer than ${this.#max} bytes.`));
      this.transport.abortConnection();
      return;
    }
    this.#chunks.push(data.slice());
    this.#received += data.length;
    this.#onData?.(data.length);
  }

  override connectionLost(reason: Error): void {
    super.connectionLost(reason);
    if (!(reason instanceof ConnectionDone)) {
      this.#outcome.reject(new PoemIncompleteError(this.#received, undefined, { cause: reason }));
      return;
    }
    const all = new Uint8Array(this.#received);
    let at = 0;
    for (const c of this.#chunks) {
      all.set(c, at);
      at += c.length;
    }
    this.#outcome.resolve(new TextDecoder().decode(all));
  }
}

/** Asks for a poem by name with one netstring and reads one netstring back. */
class NetstringPoemClient extends NetstringReceiver {
  readonly #name: string;
  readonly #outcome: Outcome<string>;
  /** The first bytes received, to read the announced length if the poem is cut short. */
  #head = "";
  #received = 0;

  constructor(name: string, outcome: Outcome<string>, maxLength = 16 * 1024 * 1024) {
    super();
    this.#name = name;
    this.#outcome = outcome;
    this.MAX_LENGTH = maxLength;
  }

  override connectionMade(): void {
    super.connectionMade();
    this.sendString(this.#name);
  }

  override dataReceived(data: Uint8Array): void {
    if (this.#head.length < 12) {
      this.#head += String.fromCharCode(...data.subarray(0, 12 - this.#head.length));
    }
    this.#received += data.length;
    super.dataReceived(data);
  }

  override stringReceived(data: Uint8Array): void {
    const text = decodeUtf8(data);
    if (text === undefined) this.#outcome.reject(new BadReplyError("The poem is not valid UTF-8."));
    else this.#outcome.resolve(text);
    this.transport.loseConnection();
  }

  override framingError(error: Error): void {
    this.#outcome.reject(
      new BadReplyError(`Malformed netstring: ${error.message}`, { cause: error }),
    );
    this.transport.loseConnection();
  }

  override connectionLost(reason: Error): void {
    super.connectionLost(reason);
    if (this.#received === 0) {
      this.#outcome.reject(
        new NoReplyError("The poetry server closed without sending a poem (unknown name?).", {
          cause: reason,
        }),
      );
      return;
    }
    const m = /^(\d+):/.exec(this.#head);
    const expected = m === null ? undefined : Number(m[1]);
    const header = m === null ? 0 : (m[0] as string).length;
    this.#outcome.reject(
      new PoemIncompleteError(Math.max(0, this.#received - header), expected, { cause: reason }),
    );
  }
}

/**
 * Fetch a poem. Fails with the endpoint's typed connect error when the connection fails,
 * PoemIncompleteError when the poem is cut short (raw: the connection was lost uncleanly; netstring:
 * it ended inside the netstring), NoReplyError (netstring: closed without a poem),
 * PoemNotFoundError (AMP: unknown name), or TimeoutError after `timeout` seconds (default 30).
 */
export function getPoem(
  endpoint: ClientEndpointLike,
  options: GetPoemOptions = {},
): Deferred<string> {
  const via = options.via ?? "raw";
  if (via === "raw")
    return oneShot<string>(
      endpoint,
      (o) => new RawPoemClient(o, options.onData, options.maxLength),
      options,
    );
  if (via === "netstring")
    return oneShot<string>(
      endpoint,
      (o) => new NetstringPoemClient(options.name ?? "", o, options.maxLength),
      options,
    );
  return oneShot<string>(endpoint, (o) => new PoemAMPClient(options.name ?? "", o), options);
}

class PoemAMPClient extends AMP {
  readonly #name: string;
  readonly #outcome: Outcome<string>;

  constructor(name: string, outcome: Outcome<string>) {
    super();
    this.#name = name;
    this.#outcome = outcome;
  }

  override connectionMade(): void {
    super.connectionMade();
    const d: Deferred<{ poem: string }> = this.callRemote(GetPoem, { name: this.#name });
    d.addCallbacks(
      ({ poem }) => {
        this.#outcome.resolve(poem);
        this.transport.loseConnection();
      },
      (err: Error) => {
        this.#outcome.reject(err);
        this.transport.loseConnection();
      },
    );
  }

  override connectionLost(reason: Error): void {
    super.connectionLost(reason);
    this.#outcome.reject(reason);
  }
}
