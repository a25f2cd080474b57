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
 *
 * Boxes are read by the one box decoder as views (`BoxView`: pair positions, no Map). A typed
 * command or answer is decoded from the view through its compiled schema (`schema.ts`); everything
 * else (raw responders, big values, errors, a subclass overriding `boxReceived`) gets the Map the
 * decoder would deliver and goes through `boxReceived`. Both ways give the same bytes out, closes and
 * logs (test/protocols/amp/protocol-fast.test.ts). Boxes sent while a chunk is handled leave in one
 * write at its end (`out-batch.ts`).
 *
 * Over 600 lines on purpose: it is one class, `AMP`, whose private state (the decoder, the call
 * table, the output batch, the stopped/violation flags) the receive, call and answer paths share.
 * What stands alone lives beside it: `logger.ts`, `calls.ts` (tags and calls in flight),
 * `replies.ts` (error answers), `schema.ts` (compiled schemas), `out-batch.ts`.
 */
import { Deferred, fail, succeed } from "../../core/deferred.js";
import { ConnectionDone } from "../../core/errors.js";
import { ClientFactory } from "../../core/factory.js";
import type { Address } from "../../core/interfaces.js";
import { Protocol } from "../../core/protocol.js";
import { type AmpBox, copyBox, encodeBox } from "./box.js";
import {
  BoxDecoder,
  type BoxDecoderOptions,
  type BoxView,
  type BoxViewSink,
} from "./box-decoder.js";
import { Calls, latin1, latin1Bytes } from "./calls.js";
import {
  type AnyCommand,
  type ArgumentsOf,
  boxToObjects,
  type CallResultOf,
  CommandLocator,
  checkArguments,
  errorForCode,
  type LocatedResponder,
  objectsToBox,
  type RawResponderFn,
  type ResponderFn,
} from "./command.js";
import {
  BadLocalReturn,
  bytesRepr,
  InvalidSignature,
  MalformedAmpBox,
  NoEmptyBoxes,
  NotConnected,
  RemoteAmpError,
} from "./errors.js";
import { type AmpLogger, sharedLogger } from "./logger.js";
import { OutBatch } from "./out-batch.js";
import { badReturn, errorReply, isThenable, UNKNOWN_REPLY } from "./replies.js";
import {
  type CompiledSchema,
  compileSchema,
  decodeValues,
  type Encoded,
  encodeValues,
  layoutOf,
} from "./schema.js";

// Module-level aliases of the imports used per call: under a CommonJS transform (tsx, bundlers) an
// imported binding is a getter call on every use.
const compile = compileSchema;
const layoutFor = layoutOf;
const decodeView = decodeValues;
const encodeView = encodeValues;

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
  /**
   * Where unhandled errors and protocol violations are logged (see {@link AmpLogger} for the
   * levels). Default: one `rateLimitedLogger` per process (10 reports/s to stderr, then a
   * count of the suppressed ones).
   */
  logger?: AmpLogger;
  /**
   * Limits of the incoming box decoder (weft's protection against memory exhaustion; Twisted has
   * none): `maxBoxBytes` (default 1 MiB) and `maxKeys` (default 4096) per box. A box over a limit
   * closes the connection; calls in flight fail with `BoxTooLarge`.
   */
  decoder?: BoxDecoderOptions;
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
const K_ASK = latin1Bytes(ASK);
const K_COMMAND = latin1Bytes(COMMAND);
const K_ANSWER = latin1Bytes(ANSWER);
const K_ERROR = latin1Bytes(ERROR);

/** True when pair `i` of `view` has the key `key`, known to have the key's length. */
function keyIs(view: BoxView, i: number, key: Uint8Array): boolean {
  const buf = view.buf;
  const pos = view.pairs[i << 2] as number;
  for (let j = 0; j < key.length; j++) if (buf[pos + j] !== key[j]) return false;
  return true;
}

const utf8Replace = new TextDecoder("utf-8");

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

/**
 * An AMP connection. Register responders on it (or pass a shared {@link CommandLocator}), and call
 * the peer with {@link AMP.callRemote}:
 *
 * ```ts
 * const amp = new AMP().responder(Sum, ({ a, b }) => ({ total: BigInt(a) + BigInt(b) }));
 * const { total } = await amp.callRemote(Sum, { a: 1, b: 2 });
 * ```
 */
export class AMP<F extends object = object> extends Protocol<F> {
  /**
   * The decoder's sink: one class with prototype methods rather than per-connection arrow
   * functions, so V8's optimised decoder code does not embed (and lose, at every GC) a closure of
   * each connection.
   */
  static readonly #Sink = class implements BoxViewSink {
    readonly #amp: AMP;
    constructor(amp: AMP) {
      this.#amp = amp;
    }
    onBox(box: BoxView): void {
      this.#amp.#onBox(box);
    }
    onError(err: Error): void {
      this.#amp.#onDecodeError(err);
    }
  };

  /** The shared locator given in the options, if any. */
  readonly locator: CommandLocator<AMP> | null;
  /** Responders registered on this protocol (consulted before {@link AMP.locator}). */
  #own: CommandLocator<AMP> | null = null;
  readonly #bigValues: boolean;
  readonly #logger: AmpLogger;
  readonly #decoder: BoxDecoder;
  readonly #calls = new Calls();
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
  /** True unless a subclass overrides boxReceived (every box then goes to it as a Map). */
  readonly #typedBoxes: boolean;
  #lastName = "";
  /** Responders whose (asynchronous) answer has not been sent yet. */
  #answering = 0;

  constructor(options: AMPOptions = {}) {
    super();
    this.locator = options.locator ?? null;
    this.#bigValues = options.bigValues ?? false;
    this.#logger = options.logger ?? sharedLogger();
    this.#decoder = new BoxDecoder(new AMP.#Sink(this), options.decoder);
    this.#typedBoxes = this.boxReceived === AMP.prototype.boxReceived && !this.#bigValues;
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

  /**
   * Pending work for a graceful stop: answers our responders still owe the peer, calls of ours
   * waiting for the peer's answer, and an unfinished box.
   */
  override pendingWork(): string | null {
    if (this.#answering > 0) return `${this.#answering} answers outstanding`;
    if (this.#calls.size > 0) return `${this.#calls.size} calls awaiting answers`;
    const n = this.#decoder.bufferedBytes;
    return n > 0 ? `${n} bytes of an unfinished box` : null;
  }

  /** The number of calls waiting for an answer. */
  get outstandingCalls(): number {
    return this.#calls.size;
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
    return this.#call(cmd, args) as Deferred<CallResultOf<C>>;
  }

  #call(cmd: AnyCommand, values: Readonly<Record<string, unknown>>): Deferred<unknown> {
    const missing = checkArguments(cmd, values);
    if (missing !== null) return fail(missing);
    const c = compile(cmd.arguments);
    // ArgumentError: thrown. Null: a big value to split, through the Map.
    const encoded = c.unusual ? null : encodeView(c, values, this.#bigValues);
    if (encoded !== null) return this.#sendTyped(cmd, c, encoded);
    const box: AmpBox = new Map();
    objectsToBox(cmd.arguments, values, box, this.#bigValues);
    return this.#send(commandNameBytes(cmd), box, cmd.requiresAnswer, cmd);
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
    return this.#send(latin1Bytes(name), new Map(box), requiresAnswer, null) as Deferred<
      AmpBox | undefined
    >;
  }

  /** The fast path of `callRemote`: the request written through its compiled layout. */
  #sendTyped(cmd: AnyCommand, c: CompiledSchema, encoded: Encoded): Deferred<unknown> {
    const requiresAnswer = cmd.requiresAnswer;
    const early = this.#unsendable(requiresAnswer);
    if (early !== null) return early;
    const tag = this.#calls.nextTag();
    if (encoded.tooLong !== null) throw encoded.tooLong; // nothing written
    const name = commandNameBytes(cmd);
    if (requiresAnswer) {
      this.#out.appendBox(
        layoutFor(c, ASK_COMMAND),
        [latin1Bytes(tag), name],
        encoded.values,
        encoded.bytes,
      );
    } else {
      this.#out.appendBox(layoutFor(c, COMMAND_ONLY), [name], encoded.values, encoded.bytes);
    }
    if (this.#receiving === 0) this.#flush();
    return this.#await(tag, requiresAnswer, cmd);
  }

  #send(
    nameBytes: Uint8Array,
    box: AmpBox,
    requiresAnswer: boolean,
    cmd: AnyCommand | null,
  ): Deferred<unknown> {
    const early = this.#unsendable(requiresAnswer);
    if (early !== null) return early;
    box.set(COMMAND, nameBytes);
    const tag = this.#calls.nextTag();
    if (requiresAnswer) box.set(ASK, latin1Bytes(tag));
    this.#emit(encodeBox(box)); // throws TooLong before anything is written
    return this.#await(tag, requiresAnswer, cmd);
  }

  /** The result of a call that cannot be sent (connection lost, or not made yet), else null. */
  #unsendable(requiresAnswer: boolean): Deferred<unknown> | null {
    if (this.#failAllReason !== null) {
      return requiresAnswer ? fail(this.#failAllReason) : succeed<unknown>(undefined);
    }
    return this.connected ? null : fail(new NotConnected());
  }

  /** The Deferred of a call just sent under `tag`. */
  #await(tag: string, requiresAnswer: boolean, cmd: AnyCommand | null): Deferred<unknown> {
    if (!requiresAnswer) return succeed<unknown>(undefined);
    const d = new Deferred<unknown>();
    this.#calls.add(tag, { d, cmd });
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

  /** Bytes received that are not yet part of a delivered box (what the connection limits count). */
  get bufferedBytes(): number {
    return this.#decoder.bufferedBytes;
  }

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
    // Input after we stopped (a violation, or we asked to close) is ignored, bad bytes included.
    if (this.#stopped) return;
    // A key length above 255 (TooLong isKey, remote) or a decoder limit: close; the calls in flight
    // fail with this error instead of the plain close reason (Twisted's _keyLengthLimitExceeded).
    this.#violate(err);
  }

  #onBox(view: BoxView): void {
    if (this.#stopped) return;
    try {
      if (this.#typedBoxes) this.#route(view);
      else this.boxReceived(view.toMap());
    } catch (err) {
      this.#violate(err instanceof Error ? err : new MalformedAmpBox(String(err)));
    }
  }

  /** Records a protocol violation, logs it and closes the connection; later boxes are ignored. */
  #violate(err: Error): void {
    this.#stopped = true;
    if (this.#violation === null) {
      // Only the first one: the rest of a hostile chunk adds nothing but log lines.
      this.#violation = err;
      this.#peerFault(err, "AMP protocol violation; closing the connection");
    }
    this.#close();
  }

  /** Logs a problem the peer caused: at warn level when the logger has one. */
  #peerFault(err: unknown, msg: string): void {
    const logger = this.#logger;
    if (logger.warn !== undefined) logger.warn({ err }, msg);
    else logger.error({ err }, msg);
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

  /**
   * boxReceived on the decoder's view: typed commands and answers are decoded in place; the rest
   * goes through boxReceived as a Map.
   */
  #route(view: BoxView): void {
    const pairs = view.pairs;
    const buf = view.buf;
    let command = -1;
    let ask = -1;
    let answer = -1;
    let error = -1;
    // The reserved keys, last occurrence of each (as a Map keeps the last value of a key).
    for (let i = view.count - 1; i >= 0; i--) {
      const at = i << 2;
      if (buf[pairs[at] as number] !== 0x5f) continue; // "_"
      const klen = pairs[at + 1] as number;
      if (klen === 4) {
        if (ask < 0 && keyIs(view, i, K_ASK)) ask = i;
      } else if (klen === 8) {
        if (command < 0 && keyIs(view, i, K_COMMAND)) command = i;
      } else if (klen === 7) {
        if (answer < 0 && keyIs(view, i, K_ANSWER)) answer = i;
      } else if (klen === 6) {
        if (error < 0 && keyIs(view, i, K_ERROR)) error = i;
      }
    }
    if (answer >= 0) this.#answerView(view, answer);
    else if (error >= 0 || command < 0) this.boxReceived(view.toMap());
    else this.#commandView(view, command, ask);
  }

  /** An answer read in place: decoded through the command's response schema, no Map. */
  #answerView(view: BoxView, answer: number): void {
    const { d, cmd } = this.#calls.take(view.value(answer), ANSWER);
    if (cmd === null) {
      d.callback(copyBox(view.toMap()));
      return;
    }
    const c = compile(cmd.response);
    let result: Record<string, unknown>;
    try {
      result =
        c.unusual || c.anyBig
          ? boxToObjects(cmd.response, view.toMap(), false, "response key")
          : decodeView(view, c, "response key");
    } catch (err) {
      d.errback(err instanceof Error ? err : new MalformedAmpBox(String(err)));
      return;
    }
    d.callback(result);
  }

  /** A command read in place: a typed responder gets its arguments decoded from the view. */
  #commandView(view: BoxView, command: number, ask: number): void {
    const name = this.#commandName(view, command);
    const located = this.locateResponder(name);
    const cmd = located?.command ?? null;
    if (located === undefined || cmd === null) {
      this.boxReceived(view.toMap());
      return;
    }
    const c = compile(cmd.arguments);
    if (c.unusual || c.anyBig) {
      this.boxReceived(view.toMap());
      return;
    }
    let input: Record<string, unknown>;
    try {
      input = decodeView(view, c, "argument");
    } catch (err) {
      this.#replyError(ask < 0 ? undefined : view.value(ask), err, cmd, true);
      return;
    }
    if (ask < 0) {
      this.#respond(located, input, undefined);
      return;
    }
    let result: unknown;
    try {
      result = (located.fn as (a: unknown, c: AMP) => unknown)(input, this);
    } catch (err) {
      this.#replyError(view.value(ask), err, cmd);
      return;
    }
    // A synchronous answer is encoded at once, its tag copied straight from the request's bytes.
    if (isThenable(result) || !this.#replyTypedFrom(view, ask, result, cmd)) {
      this.#settle(result, view.value(ask), cmd);
    }
  }

  /** The command name of pair `i` (the last name's string is reused while it repeats). */
  #commandName(view: BoxView, i: number): string {
    const buf = view.buf;
    const pos = view.pairs[(i << 2) + 2] as number;
    const len = view.pairs[(i << 2) + 3] as number;
    const last = this.#lastName;
    if (last.length === len) {
      let same = true;
      for (let j = 0; j < len; j++) {
        if (buf[pos + j] !== last.charCodeAt(j)) {
          same = false;
          break;
        }
      }
      if (same) return last;
    }
    let name = "";
    for (let j = 0; j < len; j++) name += String.fromCharCode(buf[pos + j] as number);
    if (len <= 64) this.#lastName = name;
    return name;
  }

  #answerReceived(tagBytes: Uint8Array, box: AmpBox): void {
    const { d, cmd } = this.#calls.take(tagBytes, ANSWER);
    if (cmd === null) {
      d.callback(copyBox(box));
      return;
    }
    let result: Record<string, unknown>;
    try {
      result = boxToObjects(cmd.response, box, this.#bigValues, "response key");
    } catch (err) {
      d.errback(err instanceof Error ? err : new MalformedAmpBox(String(err)));
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
    const { d, cmd } = this.#calls.take(tagBytes, ERROR);
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
    let input: unknown = box;
    if (cmd !== null) {
      try {
        input = boxToObjects(cmd.arguments, box, this.#bigValues);
      } catch (err) {
        this.#replyError(askView, err, cmd, true);
        return;
      }
    }
    this.#respond(located, input, askView);
  }

  /** Calls a located responder with its decoded input and sends (or schedules) its answer. */
  #respond(located: LocatedResponder, input: unknown, askView: Uint8Array | undefined): void {
    const cmd = located.command;
    let result: unknown;
    try {
      result = (located.fn as (a: unknown, c: AMP) => unknown)(input, this);
    } catch (err) {
      this.#replyError(askView, err, cmd);
      return;
    }
    this.#settle(result, askView, cmd);
  }

  /** Answers with a responder's result: now, or when it settles (a thenable). */
  #settle(result: unknown, askView: Uint8Array | undefined, cmd: AnyCommand | null): void {
    if (isThenable(result)) {
      // The answer leaves when the responder settles; the tag must outlive this box's views.
      const ask = askView?.slice();
      this.#answering++;
      const ok = (value: unknown) => {
        this.#answering--;
        this.#replyAnswer(ask, value, cmd);
        return undefined;
      };
      const fail = (err: unknown) => {
        this.#answering--;
        this.#replyError(ask, err, cmd);
        return undefined;
      };
      if (result instanceof Deferred) result.addCallbacks(ok, fail);
      else result.then(ok, fail);
      return;
    }
    this.#replyAnswer(askView, result, cmd);
  }

  // -------------------------------------------------------------------------------------------
  // Answering

  #replyAnswer(ask: Uint8Array | undefined, value: unknown, cmd: AnyCommand | null): void {
    if (cmd !== null && this.#replyTyped(ask, value, cmd)) return;
    let answer: AmpBox;
    try {
      if (cmd === null) {
        if (!(value instanceof Map))
          throw new BadLocalReturn(`raw responder returned ${typeof value}`);
        answer = new Map(value);
      } else {
        answer = new Map();
        objectsToBox(cmd.response, value as Record<string, unknown>, answer, this.#bigValues);
      }
    } catch (err) {
      this.#replyError(ask, badReturn(cmd, value, err), null);
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
   * A typed answer written through the compiled response layout. False when the Map path must do it
   * (a value needing the big-value split, unusual key names).
   */
  #replyTyped(ask: Uint8Array | undefined, value: unknown, cmd: AnyCommand): boolean {
    const c = compile(cmd.response);
    if (c.unusual) return false;
    const encoded = this.#encodeAnswer(c, value, cmd);
    if (encoded === null) return false;
    if (encoded instanceof BadLocalReturn) this.#replyError(ask, encoded, null);
    else if (ask !== undefined && this.#answerable(encoded)) {
      this.#out.appendBox(layoutFor(c, ANSWER_ONLY), [ask], encoded.values, encoded.bytes);
      this.#answered(cmd);
    }
    return true;
  }

  /** #replyTyped for a synchronous result whose `_ask` is pair `ask` of the box being read. */
  #replyTypedFrom(view: BoxView, ask: number, value: unknown, cmd: AnyCommand): boolean {
    const c = compile(cmd.response);
    if (c.unusual || value === null || typeof value !== "object") return false;
    const encoded = this.#encodeAnswer(c, value, cmd);
    if (encoded === null) return false;
    if (encoded instanceof BadLocalReturn) {
      this.#replyError(view.value(ask), encoded, null);
      return true;
    }
    if (!this.#answerable(encoded)) return true;
    const at = ask << 2;
    this.#out.appendBoxFrom(
      layoutFor(c, ANSWER_ONLY),
      view.buf,
      view.pairs[at + 2] as number,
      view.pairs[at + 3] as number,
      encoded.values,
      encoded.bytes,
    );
    this.#answered(cmd);
    return true;
  }

  /**
   * A responder's result encoded through `c`: null when the Map path must do it; the error to
   * answer with when it cannot be encoded.
   */
  #encodeAnswer(
    c: CompiledSchema,
    value: unknown,
    cmd: AnyCommand,
  ): Encoded | null | BadLocalReturn {
    try {
      if (value === null || typeof value !== "object") {
        throw new BadLocalReturn(
          `responder of ${cmd.name} returned ${value === null ? "null" : typeof value}, not a response`,
        );
      }
      return encodeView(c, value as Record<string, unknown>, this.#bigValues);
    } catch (err) {
      return badReturn(cmd, value, err);
    }
  }

  /** False when the encoded answer cannot leave (over a wire limit: dropped; or disconnected). */
  #answerable(encoded: Encoded): boolean {
    if (encoded.tooLong !== null) {
      this.unhandledError(encoded.tooLong);
      return false;
    }
    return this.connected;
  }

  /** After a typed answer was batched. */
  #answered(cmd: AnyCommand): void {
    if (this.#receiving === 0) this.#flush();
    if (cmd.responseType === "quit") this.#close();
  }

  /** `peer`: the error is the peer's fault (its arguments did not decode): logged as a warning. */
  #replyError(
    ask: Uint8Array | undefined,
    err: unknown,
    cmd: AnyCommand | null,
    peer = false,
  ): void {
    if (ask === undefined) {
      // No answer was asked for, so the failure has nowhere to go: log it and drop the connection.
      this.unhandledError(err);
      return;
    }
    let reply = errorReply(cmd, err);
    if (reply === null) {
      if (peer) this.#peerFault(err, "AMP command with arguments that do not decode");
      else this.#logger.error({ err }, "AMP responder failed with an undeclared error");
      reply = UNKNOWN_REPLY;
    }
    let bytes: Uint8Array;
    try {
      bytes = encodeBox(
        new Map([
          [ERROR, ask],
          [ERROR_CODE, reply.code],
          [ERROR_DESCRIPTION, reply.description],
        ]),
      );
    } catch (e) {
      this.unhandledError(e);
      return;
    }
    if (!this.connected) return;
    this.#emit(bytes);
    if (reply.fatal) this.#close();
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
    this.#calls.failAll(why);
    super.connectionLost(reason);
  }
}

/**
 * A factory whose every connection is an {@link AMP} sharing one {@link CommandLocator}: use it with
 * `listenTCP` for a server, or with `connectTCP`/endpoints for a client.
 */
export class AMPFactory extends ClientFactory<AMP> {
  /** The responders every built {@link AMP} answers with (shared by all connections). */
  readonly locator: CommandLocator<AMP>;
  /** The options every built {@link AMP} gets. */
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
    p.factory = this;
    return p;
  }
}
