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
import type { DecoderSink } from "../framing/decoder.js";
import { Integer } from "./arguments.js";
import { type AmpBox, BoxDecoder, type BoxDecoderOptions, copyBox, encodeBox } from "./box.js";
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
  BadLocalReturn,
  bytesRepr,
  InvalidSignature,
  MalformedAmpBox,
  NoEmptyBoxes,
  RemoteAmpError,
  TooLong,
} from "./errors.js";
import { decodeFailure, encodeFailure, smallIntegerAt } from "./internal.js";
import {
  type CompiledEntry,
  type CompiledSchema,
  compileSchema,
  layoutOf,
  OutBatch,
  type OutValue,
} from "./protocol-encode.js";

// Module-level aliases of the imports used per call: under a CommonJS transform (tsx, bundlers) an
// imported binding is a getter call on every use.
const compile = compileSchema;
const layoutFor = layoutOf;
const INTEGER = Integer;
const smallInteger = smallIntegerAt;

/**
 * Where AMP reports errors it cannot hand to anyone (pino-compatible: `error(obj, msg)`, and
 * optionally `warn(obj, msg)`). Problems the peer caused (protocol violations, arguments that do not
 * decode) go to `warn` when the logger has it, else to `error`; local faults (a responder throwing
 * an undeclared error, an answer that cannot be encoded) go to `error`.
 */
export interface AmpLogger {
  error(obj: { err: unknown }, msg: string): void;
  warn?(obj: { err: unknown }, msg: string): void;
}

/** The options of {@link rateLimitedLogger}. */
export interface RateLimitedLoggerOptions {
  /** Reports let through per one-second window (both levels together). Default 10. */
  maxPerSecond?: number;
  /** Where reports go. Default `console` (both levels write to stderr). */
  sink?: {
    error(...args: unknown[]): void;
    warn(...args: unknown[]): void;
  };
  /** Clock in ms. Default `Date.now`. */
  now?: () => number;
  /**
   * Schedules the "suppressed N" summary at the end of a window in which reports were dropped.
   * Default: an unref'd `setTimeout` (it never keeps the process alive).
   */
  setTimer?: (fn: () => void, ms: number) => void;
}

/**
 * A logger that prints at most `maxPerSecond` reports per second and counts the rest; the count is
 * printed as one summary line (`suppressed N AMP reports`) once the window is over. The default
 * logger of every {@link AMP} is one such logger shared by the whole process, so a peer sending
 * garbage on many connections cannot flood stderr.
 */
export function rateLimitedLogger(options: RateLimitedLoggerOptions = {}): AmpLogger {
  const max = options.maxPerSecond ?? 10;
  const sink = options.sink ?? console;
  const now = options.now ?? Date.now;
  const setTimer =
    options.setTimer ??
    ((fn: () => void, ms: number) => {
      setTimeout(fn, ms).unref();
    });
  let windowStart = Number.NEGATIVE_INFINITY;
  let count = 0;
  let suppressed = 0;
  let timerSet = false;
  const summary = () => {
    if (suppressed === 0) return;
    sink.warn(`weft amp: suppressed ${suppressed} AMP report(s) (over ${max} per second)`);
    suppressed = 0;
  };
  const report = (level: "error" | "warn", err: unknown, msg: string) => {
    const t = now();
    if (t - windowStart >= 1000) {
      summary();
      windowStart = t;
      count = 0;
    }
    if (count < max) {
      count++;
      sink[level](`weft amp: ${msg}`, err);
      return;
    }
    suppressed++;
    if (!timerSet) {
      timerSet = true;
      setTimer(
        () => {
          timerSet = false;
          summary();
        },
        Math.max(0, windowStart + 1000 - t),
      );
    }
  };
  return {
    error(obj, msg) {
      report("error", obj.err, msg);
    },
    warn(obj, msg) {
      report("warn", obj.err, msg);
    },
  };
}

let defaultLogger: AmpLogger | null = null;

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
   * levels). Default: one {@link rateLimitedLogger} per process (10 reports/s to stderr, then a
   * count of the suppressed ones).
   */
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

/** Boxes with more pairs, or more bytes, are left to the BoxDecoder (its limits apply to them). */
const FAST_MAX_PAIRS = 64;
const FAST_MAX_BYTES = 1024 * 1024;
/** The start of a box cut by a chunk's end is kept up to this size; beyond, the decoder takes it. */
const MAX_CARRY = 4096;
const SCAN_INCOMPLETE = -1;
const SCAN_DECODER = -2;
const K_ASK = latin1Bytes(ASK);
const K_COMMAND = latin1Bytes(COMMAND);
const K_ANSWER = latin1Bytes(ANSWER);
const K_ERROR = latin1Bytes(ERROR);

/** True when `buf` holds `key` at `pos`. */
function sameBytes(buf: Uint8Array, pos: number, key: Uint8Array): boolean {
  for (let j = 0; j < key.length; j++) if (buf[pos + j] !== key[j]) return false;
  return true;
}

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
  values: Array<OutValue | undefined>;
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
  static readonly #DecoderSink = class implements DecoderSink<AmpBox> {
    constructor(readonly amp: AMP) {}
    onFrame(box: AmpBox): void {
      this.amp.#onBox(box);
    }
    onError(err: Error): void {
      this.amp.#onDecodeError(err);
    }
  };

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
  /** False when a subclass overrides boxReceived: every box then comes from the decoder. */
  readonly #fastBoxes: boolean;
  /** Key/value positions of the box being read: `[keyPos, keyLen, valuePos, valueLen]` per pair. */
  readonly #pairs: Int32Array;
  #npairs = 0;
  /** The fast path hands a box with more pairs or bytes than this to the decoder. */
  readonly #fastMaxPairs: number;
  readonly #fastMaxBytes: number;
  /** The start of a box cut by the end of the last chunk (fast path), or null. */
  #carry: Uint8Array | null = null;
  #lastName = "";

  constructor(options: AMPOptions = {}) {
    super();
    this.locator = options.locator ?? null;
    this.#bigValues = options.bigValues ?? false;
    this.#logger = options.logger ?? (defaultLogger ??= rateLimitedLogger());
    this.#decoder = new BoxDecoder(new AMP.#DecoderSink(this), options.decoder);
    // Never above the decoder's own limits (it judges every box over these).
    this.#fastMaxPairs = Math.min(FAST_MAX_PAIRS, options.decoder?.maxKeys ?? FAST_MAX_PAIRS);
    this.#fastMaxBytes = Math.min(FAST_MAX_BYTES, options.decoder?.maxBoxBytes ?? FAST_MAX_BYTES);
    this.#pairs = new Int32Array(4 * FAST_MAX_PAIRS);
    this.#fastBoxes = this.boxReceived === AMP.prototype.boxReceived;
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
    const c = compile(cmd.arguments);
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
    const values: Array<OutValue | undefined> = new Array(entries.length);
    let tooLong: TooLong | null = null;
    let total = 0;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i] as CompiledEntry;
      const v = obj[e.name];
      if (v === undefined) {
        if (e.arg.optional) continue;
        throw new InvalidSignature(`missing required value for ${e.name}`);
      }
      if (e.arg === INTEGER && typeof v === "number" && Number.isSafeInteger(v)) {
        // Integer.encode's text, without its bytes (written straight into the output).
        const text = String(v);
        values[i] = text;
        total += text.length;
        continue;
      }
      let bytes: Uint8Array;
      try {
        bytes = e.arg.encode(v as never);
      } catch (err) {
        throw encodeFailure(e.arg, e.name, err);
      }
      if (bytes.length > 0xffff) {
        if (e.big || this.#bigValues) return null;
        tooLong ??= new TooLong(false, true, bytes, e.name); // as encodeBox reports it
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
        layoutFor(c, ASK_COMMAND),
        [latin1Bytes(tag), commandNameBytes(cmd)],
        encoded.values,
        encoded.bytes,
      );
    } else {
      this.#out.appendBox(
        layoutFor(c, COMMAND_ONLY),
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
      // The box decoder takes over while it holds part of a box, and for subclasses that override
      // boxReceived (they are owed a Map per box); else the chunk is read in place (#scanChunk).
      if (this.#decoder.bufferedBytes > 0 || this.#decoder.failed || !this.#fastBoxes) {
        this.#decoder.feed(data);
      } else {
        this.#scanChunk(data);
      }
    } finally {
      this.#receiving--;
      if (this.#receiving === 0) this.#flush();
    }
  }

  // -------------------------------------------------------------------------------------------
  // The fast receive path: complete boxes are read where they lie in the chunk, and a command box
  // for a typed responder is dispatched from the key/value positions (no Map, no key strings). Any
  // box it does not handle in full (answers, errors, raw responders, big values, unknown commands)
  // is turned into the same Map the decoder would deliver and goes through boxReceived; bytes it
  // does not like (a bad key length, a box over a limit, a large box cut by the chunk's end) go to
  // the BoxDecoder from that box's first byte, so every error is the decoder's own.

  /**
   * Handles `chunk`: first the box begun in an earlier chunk (#carry), then the boxes in it. Values
   * are views into the chunk (or into a fresh copy of a box that straddled chunks).
   */
  #scanChunk(chunk: Uint8Array): void {
    let pos = 0;
    const carry = this.#carry;
    if (carry !== null) {
      this.#carry = null;
      const end = this.#scanAcross(carry, chunk);
      if (end === SCAN_INCOMPLETE && carry.length + chunk.length <= MAX_CARRY) {
        const joined = new Uint8Array(carry.length + chunk.length);
        joined.set(carry);
        joined.set(chunk, carry.length);
        this.#carry = joined;
        return;
      }
      if (end < 0) {
        this.#decoder.feed(carry);
        this.#decoder.feed(chunk);
        return;
      }
      const box = new Uint8Array(carry.length + end);
      box.set(carry);
      box.set(chunk.subarray(0, end), carry.length);
      this.#scanBoxes(box, 0);
      if (this.#stopped) return;
      pos = end;
    }
    this.#scanBoxes(chunk, pos);
  }

  /** Reads the boxes of `buf` from `pos` on; the incomplete rest is carried or given to the decoder. */
  #scanBoxes(buf: Uint8Array, pos: number): void {
    const n = buf.length;
    while (pos < n) {
      const end = this.#scanBox(buf, pos, n);
      if (end < 0) {
        if (end === SCAN_INCOMPLETE && n - pos <= MAX_CARRY) this.#carry = buf.slice(pos);
        else this.#decoder.feed(buf.subarray(pos));
        return;
      }
      try {
        this.#fastBox(buf);
      } catch (err) {
        // As #onBox: whatever escapes (an overridden locateResponder throwing) is a violation.
        this.#violate(err instanceof Error ? err : new MalformedAmpBox(String(err)));
      }
      if (this.#stopped) return;
      pos = end;
    }
  }

  /**
   * Finds the box that starts at `start` in `buf[..n]` and records its pairs in #pairs. Returns its
   * end (after the terminator), SCAN_INCOMPLETE, or SCAN_DECODER (a bad key length, or over a limit:
   * the decoder must judge it).
   */
  #scanBox(buf: Uint8Array, start: number, n: number): number {
    const pairs = this.#pairs;
    const maxPairs = this.#fastMaxPairs;
    const maxBytes = this.#fastMaxBytes;
    let np = 0;
    let pos = start;
    for (;;) {
      if (pos + 2 > n) return SCAN_INCOMPLETE;
      const klen = buf[pos + 1] as number;
      if (buf[pos] !== 0) return SCAN_DECODER;
      if (klen === 0) {
        this.#npairs = np;
        return pos + 2;
      }
      const vpos = pos + 2 + klen;
      if (vpos + 2 > n) return SCAN_INCOMPLETE;
      const vlen = ((buf[vpos] as number) << 8) | (buf[vpos + 1] as number);
      const end = vpos + 2 + vlen;
      if (np >= maxPairs || !(end + 2 - start <= maxBytes)) return SCAN_DECODER;
      if (end > n) return SCAN_INCOMPLETE;
      const at = np << 2;
      pairs[at] = pos + 2;
      pairs[at + 1] = klen;
      pairs[at + 2] = vpos + 2;
      pairs[at + 3] = vlen;
      np++;
      pos = end;
    }
  }

  /** #scanBox over `carry` followed by `chunk`, without joining them: the box's end in `chunk`. */
  #scanAcross(carry: Uint8Array, chunk: Uint8Array): number {
    const c = carry.length;
    const n = c + chunk.length;
    const at = (i: number): number => (i < c ? (carry[i] as number) : (chunk[i - c] as number));
    let np = 0;
    let pos = 0;
    for (;;) {
      if (pos + 2 > n) return SCAN_INCOMPLETE;
      const klen = at(pos + 1);
      if (at(pos) !== 0) return SCAN_DECODER;
      if (klen === 0) return pos + 2 - c;
      const vpos = pos + 2 + klen;
      if (vpos + 2 > n) return SCAN_INCOMPLETE;
      const end = vpos + 2 + ((at(vpos) << 8) | at(vpos + 1));
      if (np >= this.#fastMaxPairs || !(end + 2 <= this.#fastMaxBytes)) return SCAN_DECODER;
      if (end > n) return SCAN_INCOMPLETE;
      np++;
      pos = end;
    }
  }

  /** The index of the last pair whose key is `key` (a later duplicate wins), or -1. */
  #findKey(buf: Uint8Array, key: Uint8Array): number {
    const pairs = this.#pairs;
    const klen = key.length;
    search: for (let i = this.#npairs - 1; i >= 0; i--) {
      const at = i << 2;
      if (pairs[at + 1] !== klen) continue;
      const kpos = pairs[at] as number;
      for (let j = 0; j < klen; j++) if (buf[kpos + j] !== key[j]) continue search;
      return i;
    }
    return -1;
  }

  /** Dispatches the box recorded in #pairs (its bytes in `buf`). */
  #fastBox(buf: Uint8Array): void {
    const pairs = this.#pairs;
    let command = -1;
    let ask = -1;
    for (let i = this.#npairs - 1; i >= 0; i--) {
      const at = i << 2;
      const kpos = pairs[at] as number;
      if (buf[kpos] !== 0x5f) continue; // "_"
      const klen = pairs[at + 1] as number;
      if (klen === 4) {
        if (ask < 0 && sameBytes(buf, kpos, K_ASK)) ask = i;
      } else if (klen === 8) {
        if (command < 0 && sameBytes(buf, kpos, K_COMMAND)) command = i;
      } else if (
        (klen === 7 && sameBytes(buf, kpos, K_ANSWER)) ||
        (klen === 6 && sameBytes(buf, kpos, K_ERROR))
      ) {
        command = -2; // an answer or an error: the general path
        break;
      }
    }
    if (command < 0 || this.#bigValues) {
      this.#slowBox(buf);
      return;
    }
    const name = this.#commandName(buf, command << 2);
    const located = this.locateResponder(name);
    const cmd = located?.command ?? null;
    if (located === undefined || cmd === null) {
      this.#slowBox(buf);
      return;
    }
    const c = compile(cmd.arguments);
    if (c.unusual || c.anyBig) {
      this.#slowBox(buf);
      return;
    }
    let input: Record<string, unknown>;
    try {
      input = this.#decodeArguments(buf, c);
    } catch (err) {
      this.#replyError(ask < 0 ? undefined : this.#view(buf, ask << 2), err, cmd, true);
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
      this.#replyError(this.#view(buf, ask << 2), err, cmd);
      return;
    }
    // A synchronous answer is encoded at once, its tag copied straight from the request's bytes.
    if (isThenable(result) || !this.#replyTypedFrom(buf, ask << 2, result, cmd)) {
      this.#settle(result, this.#view(buf, ask << 2), cmd);
    }
  }

  /**
   * #replyTyped for a synchronous result whose `_ask` is the value of the pair at `at` of the box
   * being read. False when the general path must answer (a value needing the big-value split,
   * unusual keys, a result that is not an object).
   */
  #replyTypedFrom(buf: Uint8Array, at: number, value: unknown, cmd: AnyCommand): boolean {
    const c = compile(cmd.response);
    if (c.unusual || value === null || typeof value !== "object") return false;
    let encoded: Encoded | null;
    try {
      encoded = this.#encodeValues(c, value as Record<string, unknown>);
    } catch (err) {
      this.#replyError(this.#view(buf, at), this.#badReturn(cmd, value, err), null);
      return true;
    }
    if (encoded === null) return false;
    if (encoded.tooLong !== null) {
      this.unhandledError(encoded.tooLong);
      return true;
    }
    if (!this.connected) return true;
    const pairs = this.#pairs;
    this.#out.appendBoxFrom(
      layoutFor(c, ANSWER_ONLY),
      buf,
      pairs[at + 2] as number,
      pairs[at + 3] as number,
      encoded.values,
      encoded.bytes,
    );
    if (this.#receiving === 0) this.#flush();
    if (cmd.responseType === "quit") this.#close();
    return true;
  }

  /** A view of the value of the pair at `at` in #pairs. */
  #view(buf: Uint8Array, at: number): Uint8Array {
    const pairs = this.#pairs;
    return new Uint8Array(
      buf.buffer,
      buf.byteOffset + (pairs[at + 2] as number),
      pairs[at + 3] as number,
    );
  }

  /** The command name of the pair at `at` (the last name's string is reused while it repeats). */
  #commandName(buf: Uint8Array, at: number): string {
    const pos = this.#pairs[at + 2] as number;
    const len = this.#pairs[at + 3] as number;
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

  /** boxToObjects over the recorded pairs: the same values, messages and errors. */
  #decodeArguments(buf: Uint8Array, c: CompiledSchema): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const entries = c.entries;
    const pairs = this.#pairs;
    for (let e = 0; e < entries.length; e++) {
      const { name, arg, key } = entries[e] as CompiledEntry;
      const i = this.#findKey(buf, key);
      if (i < 0) {
        if (arg.optional) continue;
        throw new InvalidSignature(`missing required argument ${name}`);
      }
      const at = i << 2;
      if (arg === INTEGER) {
        // Integer.decode's own fast path, read in place (no view).
        const v = smallInteger(buf, pairs[at + 2] as number, pairs[at + 3] as number);
        if (!Number.isNaN(v)) {
          out[name] = v;
          continue;
        }
      }
      try {
        out[name] = arg.decode(this.#view(buf, at));
      } catch (err) {
        throw decodeFailure(arg, name, err);
      }
    }
    return out;
  }

  /** The Map the decoder would have delivered for the recorded box, through the general path. */
  #slowBox(buf: Uint8Array): void {
    const box: AmpBox = new Map();
    const pairs = this.#pairs;
    const decoder = this.#decoder; // its key strings, cached
    for (let i = 0; i < this.#npairs; i++) {
      const at = i << 2;
      box.set(decoder.key(buf, pairs[at] as number, pairs[at + 1] as number), this.#view(buf, at));
    }
    this.#onBox(box);
  }

  #onDecodeError(err: Error): void {
    // Input after we stopped (a violation, or we asked to close) is ignored, bad bytes included.
    if (this.#stopped) return;
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
    const c = compile(cmd.response);
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
    this.#out.appendBox(layoutFor(c, ANSWER_ONLY), [ask], encoded.values, encoded.bytes);
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
      if (peer) this.#peerFault(err, "AMP command with arguments that do not decode");
      else this.#logger.error({ err }, "AMP responder failed with an undeclared error");
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
    p.factory = this;
    return p;
  }
}
