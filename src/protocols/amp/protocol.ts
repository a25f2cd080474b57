/**
 * The AMP protocol (Twisted's `twisted.protocols.amp.AMP`): boxes in and out over one connection,
 * commands routed to responders, answers and errors routed back to the calls waiting for them.
 * Both peers are symmetric: either side may call the other.
 *
 * Wire behaviour mirrors Twisted 22.4 (reference sections 4.2–4.4): `_ask` tags are a per-connection
 * lowercase-hex counter from 1; a received box is an answer if it has `_answer`, else an error if it has
 * `_error`, else a command if it has `_command`, else `NoEmptyBoxes` (connection closed). Nothing the
 * peer sends escapes `dataReceived`: every protocol violation ends in a typed error given to the calls
 * in flight and a closed connection.
 */
import { Deferred, fail, succeed } from "../../core/deferred.js";
import { ConnectionDone } from "../../core/errors.js";
import { ClientFactory } from "../../core/factory.js";
import type { Address } from "../../core/interfaces.js";
import { Protocol } from "../../core/protocol.js";
import { type AmpBox, BoxDecoder, type BoxDecoderOptions, encodeBox } from "./box.js";
import {
  type AnyCommand,
  type ArgumentsOf,
  boxToObjects,
  type CallResultOf,
  CommandLocator,
  checkArguments,
  codeForError,
  errorForCode,
  type LocatedResponder,
  objectsToBox,
  type RawResponderFn,
  type ResponderFn,
} from "./command.js";
import {
  AmpError,
  ArgumentError,
  BadLocalReturn,
  bytesRepr,
  InvalidSignature,
  MalformedAmpBox,
  NoEmptyBoxes,
  RemoteAmpError,
  type TooLong,
} from "./errors.js";
import {
  type CompiledEntry,
  type CompiledSchema,
  compileSchema,
  layoutOf,
  OutBatch,
  valueTooLong,
} from "./protocol-encode.js";

/** Where AMP reports errors it cannot hand to anyone (pino-compatible `error(obj, msg)`). */
export interface AmpLogger {
  error(obj: { err: unknown }, msg: string): void;
}

const consoleLogger: AmpLogger = {
  error(obj, msg) {
    console.error(`weft amp: ${msg}`, obj.err);
  },
};

/** The options of {@link AMP}. */
export interface AMPOptions {
  /**
   * Shared responders (e.g. one locator for every connection of a server). Responders registered
   * with {@link AMP.responder} on the protocol itself take precedence. Default: none.
   */
  locator?: CommandLocator<AMP>;
  /**
   * weft extension (not Twisted): split every argument value longer than 65,535 bytes across
   * `name`, `name.2`, `name.3`, … and join such keys on receive (the "BigString" convention). Per
   * argument instead: wrap its type in `bigValue(...)`. Default `false`.
   */
  bigValues?: boolean;
  /** Where unhandled errors are logged. Default: `console.error`. */
  logger?: AmpLogger;
  /**
   * Limits of the incoming box decoder (weft's protection against memory exhaustion; Twisted has
   * none): `maxBoxBytes` (default 16 MiB) and `maxKeys` (default 4096) per box. A box over a limit
   * closes the connection; calls in flight fail with `BoxTooLarge`.
   */
  decoder?: BoxDecoderOptions;
}

/** `callRemote` was used before the connection was made. Code `ERR_AMP_NOT_CONNECTED`. */
export class NotConnected extends AmpError {
  constructor() {
    super("ERR_AMP_NOT_CONNECTED", "AMP: callRemote before the connection was made.");
  }
}

const ANSWER = "_answer";
const ERROR = "_error";
const COMMAND = "_command";
const ASK = "_ask";
const ERROR_CODE = "_error_code";
const ERROR_DESCRIPTION = "_error_description";
const ASK_COMMAND = [ASK, COMMAND] as const;
const COMMAND_ONLY = [COMMAND] as const;
const ANSWER_ONLY = [ANSWER] as const;
const UNKNOWN_CODE = latin1Bytes("UNKNOWN");
const UNKNOWN_DESCRIPTION = latin1Bytes("Unknown Error");
const UNHANDLED_CODE = latin1Bytes("UNHANDLED");

const utf8Replace = new TextDecoder("utf-8");
const utf8Encoder = new TextEncoder();

/** Latin1 text of a small byte string (one char per byte): the form keys and tags are kept in. */
function latin1(bytes: Uint8Array): string {
  const n = bytes.length;
  if (n > 32) return Buffer.from(bytes.buffer, bytes.byteOffset, n).toString("latin1");
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode(bytes[i] as number);
  return s;
}

/** Bytes of latin1 text (chars above 0xFF are truncated to their low byte). */
function latin1Bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

/** Bytes of a command name, cached per definition (names never change). */
const nameBytesCache = new WeakMap<AnyCommand, Uint8Array>();
function commandNameBytes(cmd: AnyCommand): Uint8Array {
  let b = nameBytesCache.get(cmd);
  if (b === undefined) {
    b = latin1Bytes(cmd.name);
    nameBytesCache.set(cmd, b);
  }
  return b;
}

/** Values encoded through a compiled schema (see `#encodeValues`). */
interface Encoded {
  values: Array<Uint8Array | undefined>;
  /** Total length of `values`. */
  bytes: number;
  tooLong: TooLong | null;
}

/** A call waiting for its answer. */
interface Pending {
  readonly d: Deferred<unknown>;
  /** Null for `callRemoteString` (raw box answers). */
  readonly cmd: AnyCommand | null;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    v !== null &&
    (typeof v === "object" || typeof v === "function") &&
    typeof (v as { then?: unknown }).then === "function"
  );
}

function copyBox(box: AmpBox): AmpBox {
  const out: AmpBox = new Map();
  for (const [k, v] of box) out.set(k, v.slice());
  return out;
}

/**
 * An AMP connection. Register responders on it (or pass a shared {@link CommandLocator}), and call
 * the peer with {@link AMP.callRemote}:
 *
 * ```ts
 * const amp = new AMP().responder(Sum, ({ a, b }) => ({ total: BigInt(a) + BigInt(b) }));
 * const { total } = await amp.callRemote(Sum, { a: 1, b: 2 });
 * ```
 */
export class AMP extends Protocol {
  /** The shared locator given in the options, if any. */
  readonly locator: CommandLocator<AMP> | null;
  /** Responders registered on this protocol (consulted before {@link AMP.locator}). */
  #own: CommandLocator<AMP> | null = null;
  readonly #bigValues: boolean;
  readonly #logger: AmpLogger;
  readonly #decoder: BoxDecoder;
  #outstanding = new Map<string, Pending>();
  #counter = 0;
  /** Set once the connection is lost: later calls fail with it at once. */
  #failAllReason: Error | null = null;
  /** A protocol violation seen on receive; becomes the reason calls in flight fail with. */
  #violation: Error | null = null;
  /** No more incoming boxes are dispatched (after a violation or once we asked to close). */
  #stopped = false;
  /** Depth of `dataReceived` calls in progress: while above 0, output is batched. */
  #receiving = 0;
  /** Boxes produced while handling the current chunk; they leave in one write at its end. */
  readonly #out = new OutBatch();

  constructor(options: AMPOptions = {}) {
    super();
    this.locator = options.locator ?? null;
    this.#bigValues = options.bigValues ?? false;
    this.#logger = options.logger ?? consoleLogger;
    this.#decoder = new BoxDecoder(
      {
        onFrame: (box) => this.#onBox(box),
        onError: (err) => this.#onDecodeError(err),
      },
      options.decoder,
    );
  }

  /** Registers `fn` as this connection's responder for `cmd` (sync, Promise or Deferred). */
  responder<C extends AnyCommand>(cmd: C, fn: ResponderFn<C, AMP>): this {
    this.#own ??= new CommandLocator<AMP>();
    this.#own.responder(cmd, fn);
    return this;
  }

  /** Registers a low-level responder for `name` that sees and returns raw boxes. */
  rawResponder(name: string, fn: RawResponderFn<AMP>): this {
    this.#own ??= new CommandLocator<AMP>();
    this.#own.rawResponder(name, fn);
    return this;
  }

  /**
   * The responder for a command name: this protocol's own first, then the shared locator. Override
   * for a fallback. Undefined → the peer gets `UNHANDLED`.
   */
  locateResponder(name: string): LocatedResponder | undefined {
    return this.#own?.locateResponder(name) ?? this.locator?.locateResponder(name);
  }

  /** The number of calls waiting for an answer. */
  get outstandingCalls(): number {
    return this.#outstanding.size;
  }

  // -------------------------------------------------------------------------------------------
  // Calling the peer

  /**
   * Calls `cmd` on the peer. Resolves with the decoded response; fails with the command's declared
   * error class (rebuilt from the code, constructed with the description), `UnhandledCommand`,
   * `UnknownRemoteError`, or the connection's loss reason.
   *
   * As in Twisted: a missing required argument gives a failed Deferred (`InvalidSignature`), nothing
   * sent; an unknown argument (`InvalidSignature`), a value its type cannot encode (`ArgumentError`)
   * or a key/value over the wire limits (`TooLong`) is thrown synchronously, nothing sent. A command
   * with `requiresAnswer: false` sends no `_ask` and resolves to `undefined` at once.
   *
   * Divergence: Twisted also drops the connection when a caller leaves a call's failure unhandled
   * at the end of its callback chain. weft does not (a failure is often observed later, through
   * `await`); such a failure is reported by the Deferred's unhandled-error reporter instead.
   */
  callRemote<C extends AnyCommand>(cmd: C, args: ArgumentsOf<C>): Deferred<CallResultOf<C>> {
    const values = args as Readonly<Record<string, unknown>>;
    const missing = checkArguments(cmd, values);
    if (missing !== null) return fail(missing);
    const c = compileSchema(cmd.arguments);
    const encoded = c.unusual ? null : this.#encodeValues(c, values); // ArgumentError: thrown
    if (encoded !== null) return this.#sendTyped(cmd, c, encoded) as Deferred<CallResultOf<C>>;
    const box: AmpBox = new Map();
    objectsToBox(cmd.arguments, values, box, this.#bigValues);
    return this.#send(commandNameBytes(cmd), box, cmd.requiresAnswer, cmd) as Deferred<
      CallResultOf<C>
    >;
  }

  /**
   * Low-level call (Twisted's `callRemoteString`): sends the raw `box` entries as the arguments of
   * command `name`. Resolves with the raw answer box (values copied), or `undefined` when
   * `requiresAnswer` is false. Error answers fail with `RemoteAmpError` (or `UnhandledCommand`).
   */
  callRemoteString(
    name: string,
    box: AmpBox | Iterable<readonly [string, Uint8Array]> = [],
    requiresAnswer = true,
  ): Deferred<AmpBox | undefined> {
    if (name.length === 0 || /[^\x00-\xff]/.test(name)) {
      throw new InvalidSignature(
        `command name ${JSON.stringify(name)} must be non-empty latin1 text`,
      );
    }
    const out: AmpBox = new Map(box);
    return this.#send(latin1Bytes(name), out, requiresAnswer, null) as Deferred<AmpBox | undefined>;
  }

  /**
   * Encodes `obj` through the compiled schema `c`. Null when a value needs the big-value split (the
   * general path does that). Throws InvalidSignature / ArgumentError for a missing or unencodable
   * value; a value over 65,535 bytes is reported in `tooLong` (Twisted raises it later, while
   * serializing).
   */
  #encodeValues(c: CompiledSchema, obj: Readonly<Record<string, unknown>>): Encoded | null {
    const entries = c.entries;
    const values: Array<Uint8Array | undefined> = new Array(entries.length);
    let tooLong: TooLong | null = null;
    let total = 0;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i] as CompiledEntry;
      const v = obj[e.name];
      if (v === undefined) {
        if (e.arg.optional) continue;
        throw new InvalidSignature(`missing required value for ${e.name}`);
      }
      let bytes: Uint8Array;
      try {
        bytes = e.arg.encode(v as never);
      } catch (err) {
        if (err instanceof AmpError) throw err;
        throw new ArgumentError(
          e.arg.name,
          `cannot encode ${e.name}: ${err instanceof Error ? err.message : String(err)}`,
          { cause: err },
        );
      }
      if (bytes.length > 0xffff) {
        if (e.big || this.#bigValues) return null;
        tooLong ??= valueTooLong(e.name, bytes);
      }
      values[i] = bytes;
      total += bytes.length;
    }
    return { values, bytes: total, tooLong };
  }

  /** The fast path of `callRemote`: the request encoded through its compiled layout. */
  #sendTyped(cmd: AnyCommand, c: CompiledSchema, encoded: Encoded): Deferred<unknown> {
    const requiresAnswer = cmd.requiresAnswer;
    if (this.#failAllReason !== null) {
      return requiresAnswer ? fail(this.#failAllReason) : succeed<unknown>(undefined);
    }
    if (!this.connected) return fail(new NotConnected());
    const tag = (++this.#counter).toString(16);
    if (encoded.tooLong !== null) throw encoded.tooLong; // nothing written
    if (requiresAnswer) {
      this.#out.appendBox(
        layoutOf(c, ASK_COMMAND),
        [latin1Bytes(tag), commandNameBytes(cmd)],
        encoded.values,
        encoded.bytes,
      );
    } else {
      this.#out.appendBox(
        layoutOf(c, COMMAND_ONLY),
        [commandNameBytes(cmd)],
        encoded.values,
        encoded.bytes,
      );
    }
    if (this.#receiving === 0) this.#flush();
    if (!requiresAnswer) return succeed<unknown>(undefined);
    const d = new Deferred<unknown>();
    this.#outstanding.set(tag, { d, cmd });
    return d;
  }

  #send(
    nameBytes: Uint8Array,
    box: AmpBox,
    requiresAnswer: boolean,
    cmd: AnyCommand | null,
  ): Deferred<unknown> {
    if (this.#failAllReason !== null) {
      return requiresAnswer ? fail(this.#failAllReason) : succeed<unknown>(undefined);
    }
    if (!this.connected) return fail(new NotConnected());
    box.set(COMMAND, nameBytes);
    // The counter advances for every command, answered or not (as Twisted's _nextTag).
    const tag = (++this.#counter).toString(16);
    if (requiresAnswer) box.set(ASK, latin1Bytes(tag));
    const bytes = encodeBox(box); // throws TooLong before anything is written
    this.#emit(bytes);
    if (!requiresAnswer) return succeed<unknown>(undefined);
    const d = new Deferred<unknown>();
    this.#outstanding.set(tag, { d, cmd });
    return d;
  }

  /** Sends one raw box (Twisted's `sendBox`). Throws `TooLong`/`MalformedAmpBox` before writing. */
  sendBox(box: AmpBox | Iterable<readonly [string, Uint8Array]>): void {
    this.#emit(encodeBox(box));
  }

  /** Writes `bytes` now, or (while a chunk is being handled) with the rest of its output. */
  #emit(bytes: Uint8Array): void {
    if (!this.connected) return;
    if (this.#receiving > 0) this.#out.append(bytes);
    else this.transport.write(bytes);
  }

  /** Writes what the batch holds. */
  #flush(): void {
    const segments = this.#out.take();
    if (segments === null || !this.connected) return;
    for (const seg of segments) this.transport.write(seg);
  }

  /** Flushes the batch, then closes (pending output first, as loseConnection promises). */
  #close(): void {
    this.#stopped = true;
    if (!this.connected) return;
    this.#flush();
    this.transport.loseConnection();
  }

  // -------------------------------------------------------------------------------------------
  // Receiving

  override dataReceived(data: Uint8Array): void {
    if (this.#stopped) return;
    this.#receiving++;
    try {
      this.#decoder.feed(data);
    } finally {
      this.#receiving--;
      if (this.#receiving === 0) this.#flush();
    }
  }

  #onDecodeError(err: Error): void {
    // A key length above 255 (TooLong isKey, remote) or a decoder limit: close; the calls in flight
    // fail with this error instead of the plain close reason (Twisted's _keyLengthLimitExceeded).
    this.#violate(err);
  }

  #onBox(box: AmpBox): void {
    if (this.#stopped) return;
    try {
      this.boxReceived(box);
    } catch (err) {
      this.#violate(err instanceof Error ? err : new MalformedAmpBox(String(err)));
    }
  }

  /** Records a protocol violation, logs it and closes the connection; later boxes are ignored. */
  #violate(err: Error): void {
    if (this.#violation === null) this.#violation = err;
    this.#stopped = true;
    this.#logger.error({ err }, "AMP protocol violation; closing the connection");
    this.#close();
  }

  /**
   * Routes one received box: `_answer` → the waiting call; else `_error` → the waiting call; else
   * `_command` → a responder; else `NoEmptyBoxes`. Throwing here closes the connection with that
   * error as the reason (never escapes `dataReceived`). Values are views valid during this call only.
   */
  boxReceived(box: AmpBox): void {
    const answer = box.get(ANSWER);
    if (answer !== undefined) {
      this.#answerReceived(answer, box);
      return;
    }
    const error = box.get(ERROR);
    if (error !== undefined) {
      this.#errorReceived(error, box);
      return;
    }
    const command = box.get(COMMAND);
    if (command === undefined) throw new NoEmptyBoxes();
    this.#commandReceived(command, box);
  }

  #takePending(tagBytes: Uint8Array, key: string): Pending {
    const tag = latin1(tagBytes);
    const pending = this.#outstanding.get(tag);
    if (pending === undefined) {
      throw new MalformedAmpBox(`${key} ${bytesRepr(tagBytes)} answers no call in flight`);
    }
    this.#outstanding.delete(tag);
    return pending;
  }

  #answerReceived(tagBytes: Uint8Array, box: AmpBox): void {
    const { d, cmd } = this.#takePending(tagBytes, ANSWER);
    if (cmd === null) {
      d.callback(copyBox(box));
      return;
    }
    let result: Record<string, unknown>;
    try {
      result = boxToObjects(cmd.response, box, this.#bigValues, "response key");
    } catch (err) {
      d.errback(err as Error);
      return;
    }
    d.callback(result);
  }

  #errorReceived(tagBytes: Uint8Array, box: AmpBox): void {
    const code = box.get(ERROR_CODE);
    const description = box.get(ERROR_DESCRIPTION);
    if (code === undefined || description === undefined) {
      throw new MalformedAmpBox(
        `_error box without ${code === undefined ? ERROR_CODE : ERROR_DESCRIPTION}`,
      );
    }
    const { d, cmd } = this.#takePending(tagBytes, ERROR);
    d.errback(errorForCode(cmd, latin1(code), utf8Replace.decode(description)));
  }

  #commandReceived(nameBytes: Uint8Array, box: AmpBox): void {
    const askView = box.get(ASK);
    const name = latin1(nameBytes);
    const located = this.locateResponder(name);
    if (located === undefined) {
      const err = new RemoteAmpError("UNHANDLED", `Unhandled Command: ${bytesRepr(nameBytes)}`);
      this.#replyError(askView, err, null);
      return;
    }
    const cmd = located.command;
    let result: unknown;
    try {
      const input = cmd === null ? box : boxToObjects(cmd.arguments, box, this.#bigValues);
      result = (located.fn as (a: unknown, c: AMP) => unknown)(input, this);
    } catch (err) {
      this.#replyError(askView, err, cmd);
      return;
    }
    if (isThenable(result)) {
      // The answer leaves when the responder settles; the tag must outlive this box's views.
      const ask = askView?.slice();
      const ok = (value: unknown) => {
        this.#replyAnswer(ask, value, cmd);
        return undefined;
      };
      const fail = (err: unknown) => {
        this.#replyError(ask, err, cmd);
        return undefined;
      };
      if (result instanceof Deferred) result.addCallbacks(ok, fail);
      else result.then(ok, fail);
      return;
    }
    this.#replyAnswer(askView, result, cmd);
  }

  #replyAnswer(ask: Uint8Array | undefined, value: unknown, cmd: AnyCommand | null): void {
    if (cmd !== null && this.#replyTyped(ask, value, cmd)) return;
    let answer: AmpBox;
    try {
      if (cmd === null) {
        if (!(value instanceof Map))
          throw new BadLocalReturn(`raw responder returned ${typeof value}`);
        answer = new Map(value as AmpBox);
      } else {
        answer = new Map();
        objectsToBox(cmd.response, value as Record<string, unknown>, answer, this.#bigValues);
      }
    } catch (err) {
      this.#replyError(ask, this.#badReturn(cmd, value, err), null);
      return;
    }
    if (ask === undefined) return; // requiresAnswer false and success: nothing sent
    answer.set(ANSWER, ask);
    let bytes: Uint8Array;
    try {
      bytes = encodeBox(answer);
    } catch (err) {
      // Twisted: TooLong while emitting → unhandled → connection dropped, no reply at all.
      this.unhandledError(err);
      return;
    }
    if (!this.connected) return; // late answer after the connection died: dropped quietly
    this.#emit(bytes);
    if (cmd !== null && cmd.responseType === "quit") this.#close();
  }

  /**
   * The fast path of a typed answer: values encoded through the compiled response schema straight
   * into the output batch. False when the general path must do it (a value needing the big-value
   * split, unusual key names).
   */
  #replyTyped(ask: Uint8Array | undefined, value: unknown, cmd: AnyCommand): boolean {
    const c = compileSchema(cmd.response);
    if (c.unusual) return false;
    let encoded: Encoded | null;
    try {
      if (value === null || typeof value !== "object") {
        throw new BadLocalReturn(
          `responder of ${cmd.name} returned ${value === null ? "null" : typeof value}, not a response`,
        );
      }
      encoded = this.#encodeValues(c, value as Record<string, unknown>);
    } catch (err) {
      this.#replyError(ask, this.#badReturn(cmd, value, err), null);
      return true;
    }
    if (encoded === null) return false;
    if (ask === undefined) return true;
    if (encoded.tooLong !== null) {
      this.unhandledError(encoded.tooLong);
      return true;
    }
    if (!this.connected) return true;
    this.#out.appendBox(layoutOf(c, ANSWER_ONLY), [ask], encoded.values, encoded.bytes);
    if (this.#receiving === 0) this.#flush();
    if (cmd.responseType === "quit") this.#close();
    return true;
  }

  #badReturn(cmd: AnyCommand | null, value: unknown, err: unknown): BadLocalReturn {
    if (err instanceof BadLocalReturn) return err;
    const shown = value === undefined ? "undefined" : value === null ? "null" : typeof value;
    return new BadLocalReturn(
      `responder of ${cmd?.name ?? "?"} returned ${shown} and it could not be serialized: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }

  #replyError(ask: Uint8Array | undefined, err: unknown, cmd: AnyCommand | null): void {
    if (ask === undefined) {
      // No answer was asked for, so the failure has nowhere to go: log it and drop the connection.
      this.unhandledError(err);
      return;
    }
    let code: Uint8Array;
    let description: Uint8Array;
    let fatal: boolean;
    const declared = cmd === null ? null : codeForError(cmd, err);
    if (declared !== null) {
      code = latin1Bytes(declared.code);
      description = utf8Encoder.encode((err as Error).message);
      fatal = declared.fatal;
    } else if (err instanceof RemoteAmpError) {
      code = latin1Bytes(err.errorCode);
      description = utf8Encoder.encode(err.description);
      fatal = err.fatal;
      if (err.errorCode === "UNHANDLED") code = UNHANDLED_CODE;
    } else {
      this.#logger.error({ err }, "AMP responder failed with an undeclared error");
      code = UNKNOWN_CODE;
      description = UNKNOWN_DESCRIPTION;
      fatal = true;
    }
    const box: AmpBox = new Map([
      [ERROR, ask],
      [ERROR_CODE, code],
      [ERROR_DESCRIPTION, description],
    ]);
    let bytes: Uint8Array;
    try {
      bytes = encodeBox(box);
    } catch (e) {
      this.unhandledError(e);
      return;
    }
    if (!this.connected) return;
    this.#emit(bytes);
    if (fatal) this.#close();
  }

  /**
   * An error nobody can handle (a no-answer command that failed, an answer that cannot be encoded):
   * logged, and the connection is dropped (Twisted's `unhandledError`).
   */
  unhandledError(err: unknown): void {
    this.#logger.error({ err }, "unhandled AMP error; dropping the connection");
    if (this.connected && !this.transport.disconnecting) this.#close();
  }

  override connectionLost(reason: Error): void {
    const why = this.#violation ?? reason ?? new ConnectionDone();
    this.#failAllReason = why;
    this.#stopped = true;
    const pending = this.#outstanding;
    this.#outstanding = new Map();
    for (const p of pending.values()) p.d.errback(why);
    super.connectionLost(reason);
  }
}

/**
 * A factory whose every connection is an {@link AMP} sharing one {@link CommandLocator}: use it with
 * `listenTCP` for a server, or with `connectTCP`/endpoints for a client.
 */
export class AMPFactory extends ClientFactory<AMP> {
  readonly locator: CommandLocator<AMP>;
  readonly options: Omit<AMPOptions, "locator">;

  /** `locator` defaults to a new, empty one; `options` are passed to every {@link AMP}. */
  constructor(
    locator: CommandLocator<AMP> = new CommandLocator<AMP>(),
    options: Omit<AMPOptions, "locator"> = {},
  ) {
    super();
    this.locator = locator;
    this.options = options;
  }

  override buildProtocol(_addr: Address): AMP {
    const p = new AMP({ ...this.options, locator: this.locator });
    p.factory = this as unknown as ClientFactory;
    return p;
  }
}
