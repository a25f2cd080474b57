/**
 * The Perspective Broker protocol (Twisted's `pb.Broker`): banana dialect negotiation, then
 * messages `[message, requestID, objectID, name, answerRequired, args, kwargs]` answered with
 * `[answer, requestID, result]` or `[error, requestID, failure]`, plus `[decref, luid]` when a
 * reference is released and `[version, 6]` once at the start.
 *
 * Nothing the peer sends throws out of `dataReceived`: malformed banana or a malformed message is a
 * typed error, logged, and that connection is closed; an argument the security options refuse fails
 * that one call (`InsecureJelly`), and the connection keeps serving.
 */
import { Deferred, fail } from "../../core/deferred.js";
import { Protocol } from "../../core/protocol.js";
import { BananaDecoder, type BananaItem, type BananaLimits, type BananaOut } from "./banana.js";
import { BananaEncoder } from "./banana-encoder.js";
import {
  CopiedFailure,
  DeadReferenceError,
  PBConnectionLost,
  PbError,
  PbProtocolError,
  pbTypeOf,
} from "./errors.js";
import { Copyable, type Referenceable } from "./flavors.js";
import { Jellier, type JellyInvoker, jellyFlat, jellyScalar, type Sexp } from "./jelly.js";
import { RemoteReference } from "./reference.js";
import { COPYABLE_FAILURE, globalSecurity, type SecurityOptions } from "./security.js";
import { bytesToText, Unjellier, type UnjellyInvoker } from "./unjelly.js";
import { isTuple, tuple } from "./values.js";

/** PB's protocol version (Twisted's `Broker.version`). */
export const PB_VERSION = 6;
/** Most objects one connection may hold references to (Twisted's `MAX_BROKER_REFS`). */
export const MAX_BROKER_REFS = 1024;
const DIALECTS = ["pb", "none"];

/** Where a broker reports what it cannot tell the peer. Structurally a subset of pino's logger. */
export interface PbLogger {
  /**
   * Log an error: `obj` holds the structured fields (`err` with the error's type/code and message,
   * sometimes `requestId`), `msg` what happened. Must not throw.
   */
  error(obj: object, msg?: string): void;
  /**
   * Log a fault of the peer's (a protocol error: bytes that do not decode, a malformed message);
   * without it such faults go to `error`. Must not throw.
   */
  warn?(obj: object, msg?: string): void;
}

/** What a broker needs from its factory. */
export interface BrokerFactory {
  /** What arguments and answers received on the connection may unjelly to. */
  readonly security: SecurityOptions;
  /** Send the JS stack of a remote method's unexpected error to the peer. */
  readonly unsafeTracebacks: boolean;
  /** Limits on the banana the connection accepts (`{}`: each limit's default). */
  readonly bananaLimits: BananaLimits;
  /** Where the broker logs protocol errors and unexpected errors of remote methods. */
  readonly logger: PbLogger;
  /** Called once the connection speaks PB (after the dialect and version). */
  brokerConnected(broker: Broker): void;
  /** Called when the connection is lost. */
  brokerConnectionLost?(broker: Broker, reason: Error): void;
}

interface Local {
  readonly object: Referenceable;
  refcount: number;
}

let failureCount = 0;

/** A remote failure as Twisted's `CopyableFailure` sends it. */
class CopyableFailure extends Copyable {
  readonly #error: Error;
  readonly #unsafe: boolean;

  constructor(error: Error, unsafeTracebacks: boolean) {
    super();
    this.#error = error;
    this.#unsafe = unsafeTracebacks;
  }

  override getTypeToCopy(): string {
    return COPYABLE_FAILURE;
  }

  override getStateToCopy(): unknown {
    const { type, parents } = pbTypeOf(this.#error);
    const traceback = this.#unsafe
      ? (this.#error.stack ?? String(this.#error))
      : "Traceback unavailable\n";
    return new Map<string, unknown>([
      ["count", ++failureCount],
      ["type", Buffer.from(type, "utf8")],
      ["value", this.#error.message],
      ["captureVars", false],
      ["frames", []],
      ["stack", []],
      ["tb", null],
      ["parents", [...parents]],
      ["unsafeTracebacks", this.#unsafe],
      ["traceback", traceback],
    ]);
  }
}

/** A PB connection, client (`isClient`) or server side. */
export class Broker extends Protocol<BrokerFactory> implements JellyInvoker, UnjellyInvoker {
  /**
   * True for the connecting side (Twisted's `Broker(isClient=True)`): it waits for the server's
   * dialect list and answers with its choice; the server side sends the list first.
   */
  readonly isClient: boolean;
  /** True once the connection is lost: every call fails with DeadReferenceError. */
  disconnected = false;
  #dialect: string | null = null;
  /** Set after a protocol error: the rest of the input is ignored while the connection closes. */
  #failed = false;
  /** Depth of `dataReceived` calls in progress: while above 0, output is batched. */
  #receiving = 0;
  readonly #batch: Uint8Array[] = [];
  #decoder: BananaDecoder | null = null;
  readonly #encoder: BananaEncoder;
  readonly #locals = new Map<number | string, Local>();
  readonly #luids = new Map<object, number>();
  readonly #cleanups = new Map<object, () => void>();
  readonly #waiting = new Map<number, Deferred<unknown>>();
  #disconnects: Array<() => void> = [];
  #connects: Array<() => void> | null = [];
  #requestId = 0;
  #localId = 0;
  #refViolations = 0;

  constructor(isClient = true) {
    super();
    this.isClient = isClient;
    this.#encoder = new BananaEncoder();
  }

  /** The security options this connection unjellies with. */
  get security(): SecurityOptions {
    return this.factory?.security ?? globalSecurity;
  }

  override connectionMade(): void {
    super.connectionMade();
    this.#decoder = new BananaDecoder(
      {
        onFrame: (e) => this.#expressionReceived(e),
        onError: (err) => this.#protocolFailure(err),
      },
      this.factory?.bananaLimits ?? {},
    );
    if (!this.isClient) this.#send(DIALECTS);
  }

  /** Bytes of the banana expression being received (what the connection limits count). */
  get bufferedBytes(): number {
    return this.#decoder?.bufferedBytes ?? 0;
  }

  override dataReceived(data: Uint8Array): void {
    this.#receiving++;
    try {
      this.#decoder?.feed(data);
    } finally {
      this.#receiving--;
      if (this.#receiving === 0) this.#flush();
    }
  }

  /**
   * Writes `bytes` now, or, while a chunk is being handled, with the rest of that chunk's output in
   * one write (answers to pipelined calls then leave together). The encoder's slab makes
   * consecutive messages adjacent views of one buffer, merged here without copying.
   */
  #write(bytes: Uint8Array): void {
    if (!this.connected) return;
    if (this.#receiving === 0) {
      this.transport.write(bytes);
      return;
    }
    const batch = this.#batch;
    const last = batch[batch.length - 1];
    if (
      last !== undefined &&
      last.buffer === bytes.buffer &&
      last.byteOffset + last.length === bytes.byteOffset
    ) {
      batch[batch.length - 1] = new Uint8Array(
        last.buffer,
        last.byteOffset,
        last.length + bytes.length,
      );
    } else {
      batch.push(bytes);
    }
  }

  #flush(): void {
    const batch = this.#batch;
    if (batch.length === 0) return;
    if (this.connected) {
      if (batch.length === 1) this.transport.write(batch[0] as Uint8Array);
      else this.transport.writeSequence(batch.slice());
    }
    batch.length = 0;
  }

  override connectionLost(reason: Error): void {
    super.connectionLost(reason);
    this.disconnected = true;
    this.#decoder = null;
    const waiting = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const d of waiting) d.errback(new PBConnectionLost(reason));
    const notifiers = this.#disconnects;
    this.#disconnects = [];
    for (const fn of notifiers) this.#guard(fn, "disconnect notifier failed");
    this.#locals.clear();
    this.#luids.clear();
    this.#cleanups.clear();
    this.factory?.brokerConnectionLost?.(this, reason);
  }

  /** Publish `object` under the name `name` (how `root` is published). */
  setNameForLocal(name: string, object: Referenceable): void {
    this.#locals.set(name, { object, refcount: 1 });
  }

  /** A reference to the peer's object published as `name` (not counted: never released). */
  remoteForName(name: string): RemoteReference {
    return new RemoteReference(this, name, false);
  }

  /** Run `fn` once the connection speaks PB (at once if it already does). */
  notifyOnConnect(fn: () => void): void {
    if (this.#connects === null) fn();
    else this.#connects.push(fn);
  }

  /** Run `fn` when the connection is lost. */
  notifyOnDisconnect(fn: () => void): void {
    if (this.disconnected) return;
    this.#disconnects.push(fn);
  }

  /** Undo {@link notifyOnDisconnect} for `fn` (the same function); no effect if not registered. */
  dontNotifyOnDisconnect(fn: () => void): void {
    const i = this.#disconnects.indexOf(fn);
    if (i >= 0) this.#disconnects.splice(i, 1);
  }

  /** Run `fn` when the peer releases its last reference to `object`, or at disconnect. */
  registerCleanup(object: object, fn: () => void): void {
    let done = false;
    const once = (): void => {
      if (done) return;
      done = true;
      fn();
    };
    this.#cleanups.set(object, once);
    this.notifyOnDisconnect(once);
  }

  /** Calls waiting for an answer. */
  get pendingCalls(): number {
    return this.#waiting.size;
  }

  /** Objects the peer holds references to (including `root`). */
  get localObjectCount(): number {
    return this.#locals.size;
  }

  // --- JellyInvoker / UnjellyInvoker ---

  registerReference(object: object): number {
    const known = this.#luids.get(object);
    if (known !== undefined) {
      (this.#locals.get(known) as Local).refcount++;
      return known;
    }
    if (this.#locals.size > MAX_BROKER_REFS) {
      this.#refViolations++;
      if (this.#refViolations > 3) {
        this.transport.loseConnection();
        throw new PbError("Maximum PB reference count exceeded.  Goodbye.");
      }
      throw new PbError("Maximum PB reference count exceeded.");
    }
    const luid = ++this.#localId;
    this.#locals.set(luid, { object: object as Referenceable, refcount: 1 });
    this.#luids.set(object, luid);
    return luid;
  }

  remoteReference(luid: number | string): RemoteReference {
    return new RemoteReference(this, luid, true);
  }

  localObjectForID(luid: number | string): unknown {
    return this.#locals.get(luid)?.object ?? null;
  }

  /** Jelly `value` for this connection. */
  serialize(value: unknown): BananaOut {
    const flat =
      jellyScalar(value) ??
      (Array.isArray(value) ? jellyFlat(value, isTuple(value) ? "tuple" : "list") : undefined);
    return flat ?? new Jellier(this).jelly(value);
  }

  /** Unjelly `sexp` from this connection under its security options. */
  unserialize(sexp: BananaItem): unknown {
    return new Unjellier(this.security, this).unjelly(sexp);
  }

  // --- outgoing ---

  /** Send a call (what `RemoteReference.callRemote` does). */
  sendMessage(
    objectId: number | string,
    name: string,
    args: readonly unknown[],
    kwargs: Readonly<Record<string, unknown>> | null,
    answerRequired = true,
  ): Deferred<unknown> {
    if (this.disconnected || !this.connected) {
      return fail(new DeadReferenceError("Calling Stale Broker"));
    }
    let bytes: Uint8Array;
    const requestId = ++this.#requestId;
    try {
      const netArgs: Sexp = jellyFlat(args, "tuple") ?? new Jellier(this).jelly(tuple(...args));
      const netKw: BananaOut = kwargs === null ? ["dictionary"] : this.serialize(kwargs);
      const id = typeof objectId === "string" ? Buffer.from(objectId, "utf8") : objectId;
      bytes = this.#encoder.encode([
        "message",
        requestId,
        id,
        Buffer.from(name, "utf8"),
        answerRequired ? 1 : 0,
        netArgs,
        netKw,
      ]);
    } catch (err) {
      return fail(err);
    }
    const d = new Deferred<unknown>();
    if (answerRequired) this.#waiting.set(requestId, d);
    else d.callback(null);
    this.#write(bytes);
    return d;
  }

  /** Tell the peer one reference to its object `luid` is gone. */
  sendDecRef(luid: number | string): void {
    if (this.disconnected || !this.connected) return;
    this.#send(["decref", typeof luid === "string" ? Buffer.from(luid, "utf8") : luid]);
  }

  #send(items: BananaOut): void {
    this.#write(this.#encoder.encode(items));
  }

  // --- incoming ---

  #expressionReceived(sexp: BananaItem): void {
    if (this.#failed) return;
    if (this.#dialect === null) {
      this.#negotiate(sexp);
      return;
    }
    if (!Array.isArray(sexp) || sexp.length === 0) {
      this.#protocolFailure(
        new PbProtocolError("ERR_PB_PROTOCOL", "Non-list expression received."),
      );
      return;
    }
    const head = sexp[0];
    let command: string;
    try {
      command = typeof head === "string" || head instanceof Uint8Array ? bytesToText(head) : "";
    } catch {
      command = "";
    }
    switch (command) {
      case "message":
        this.#message(sexp);
        return;
      case "answer":
      case "error":
        this.#answer(command, sexp);
        return;
      case "decref":
        this.#decref(sexp);
        return;
      case "version":
        if (sexp[1] !== PB_VERSION) {
          this.#protocolFailure(
            new PbProtocolError(
              "ERR_PB_VERSION",
              `Version Incompatibility: ${PB_VERSION} ${String(sexp[1])}`,
            ),
          );
        }
        return;
      case "didNotUnderstand":
        return;
      default:
        if (this.connected) this.#send(["didNotUnderstand", Buffer.from(command, "utf8")]);
    }
  }

  #negotiate(sexp: BananaItem): void {
    const text = (x: BananaItem | undefined): string | null => {
      try {
        return x !== undefined && x instanceof Uint8Array ? bytesToText(x) : null;
      } catch {
        return null;
      }
    };
    let chosen: string | null = null;
    if (this.isClient) {
      if (Array.isArray(sexp)) {
        for (const offer of sexp) {
          const t = text(offer);
          if (t !== null && DIALECTS.includes(t)) {
            chosen = t;
            break;
          }
        }
      }
      if (chosen !== null) this.#send(Buffer.from(chosen, "utf8"));
    } else {
      const t = text(sexp);
      if (t !== null && DIALECTS.includes(t)) chosen = t;
    }
    if (chosen === null) {
      this.#protocolFailure(
        new PbProtocolError("ERR_PB_DIALECT", "The peer offered no known banana dialect."),
      );
      return;
    }
    this.#dialect = chosen;
    if (chosen === "pb") {
      this.#decoder?.useVocabulary();
      this.#encoder.useVocabulary();
    }
    this.#send(["version", PB_VERSION]);
    const connects = this.#connects ?? [];
    this.#connects = null;
    for (const fn of connects) this.#guard(fn, "connect notifier failed");
    this.factory?.brokerConnected(this);
  }

  #message(sexp: BananaItem[]): void {
    const [, requestId, objectId, name, answerRequired, netArgs, netKw] = sexp;
    if (
      sexp.length !== 7 ||
      typeof requestId !== "number" ||
      !(typeof objectId === "number" || objectId instanceof Uint8Array) ||
      !(name instanceof Uint8Array || typeof name === "string") ||
      typeof answerRequired !== "number" ||
      netArgs === undefined ||
      netKw === undefined
    ) {
      this.#protocolFailure(new PbProtocolError("ERR_PB_PROTOCOL", "Malformed message."));
      return;
    }
    const answer = answerRequired !== 0;
    let result: unknown;
    try {
      const key = typeof objectId === "number" ? objectId : bytesToText(objectId);
      const target = this.#locals.get(key)?.object;
      if (target === undefined) throw new PbError("Invalid Object ID");
      const args = this.unserialize(netArgs);
      const kwargs = this.unserialize(netKw);
      if (!Array.isArray(args) || !(kwargs instanceof Map)) {
        throw new PbProtocolError("ERR_PB_PROTOCOL", "Arguments must be a tuple and a dict.");
      }
      result = target.remoteMessageReceived(this, bytesToText(name), args, kwargs);
    } catch (err) {
      if (answer) this.#sendError(asError(err), requestId);
      return;
    }
    if (!answer) return;
    if (isThenable(result)) {
      result.then(
        (value) => this.#sendAnswer(value, requestId),
        (err: unknown) => this.#sendError(asError(err), requestId),
      );
    } else {
      this.#sendAnswer(result, requestId);
    }
  }

  #sendAnswer(value: unknown, requestId: number): void {
    if (!this.connected) return;
    let bytes: Uint8Array;
    try {
      bytes = this.#encoder.encode(["answer", requestId, this.serialize(value)]);
    } catch (err) {
      this.#sendError(asError(err), requestId);
      return;
    }
    this.#write(bytes);
  }

  #sendError(error: Error, requestId: number): void {
    // Expected errors (pb.Error) and the peer's own faults (a refused type, a malformed argument,
    // no such method) go back to the peer only; the rest is a local bug worth a log line.
    if (!(error instanceof PbError) && !(error instanceof PbProtocolError)) {
      this.factory?.logger.error(
        { err: { type: error.name, message: error.message }, requestId },
        "Peer will receive following PB traceback",
      );
    }
    if (!this.connected) return;
    const unsafe = this.factory?.unsafeTracebacks ?? false;
    this.#send(["error", requestId, this.serialize(new CopyableFailure(error, unsafe))]);
  }

  #answer(kind: "answer" | "error", sexp: BananaItem[]): void {
    const requestId = sexp[1];
    const d = typeof requestId === "number" ? this.#waiting.get(requestId) : undefined;
    if (sexp.length !== 3 || d === undefined) {
      this.#protocolFailure(
        new PbProtocolError("ERR_PB_PROTOCOL", `An ${kind} for no call (${String(requestId)}).`),
      );
      return;
    }
    this.#waiting.delete(requestId as number);
    let value: unknown;
    try {
      value = this.unserialize(sexp[2] as BananaItem);
    } catch (err) {
      d.errback(asError(err));
      return;
    }
    if (kind === "answer") d.callback(value);
    else d.errback(value instanceof Error ? value : new CopiedFailure("", String(value), [], ""));
  }

  #decref(sexp: BananaItem[]): void {
    const id = sexp[1];
    if (sexp.length !== 2 || !(typeof id === "number" || id instanceof Uint8Array)) {
      this.#protocolFailure(new PbProtocolError("ERR_PB_PROTOCOL", "Malformed decref."));
      return;
    }
    const key = typeof id === "number" ? id : bytesToText(id);
    const local = this.#locals.get(key);
    if (local === undefined) return;
    local.refcount--;
    if (local.refcount > 0) return;
    this.#locals.delete(key);
    this.#luids.delete(local.object);
    const cleanup = this.#cleanups.get(local.object);
    if (cleanup !== undefined) {
      this.#cleanups.delete(local.object);
      this.#guard(cleanup, "cleanup failed");
    }
  }

  #protocolFailure(error: Error): void {
    if (this.#failed) return;
    this.#failed = true;
    // The peer's fault: at warn when the logger has it, with the code and a bounded message.
    const logger = this.factory?.logger;
    const record = {
      err: { code: (error as { code?: unknown }).code, message: error.message.slice(0, 120) },
    };
    if (logger?.warn !== undefined)
      logger.warn(record, "PB connection closed after a protocol error");
    else logger?.error(record, "PB connection closed after a protocol error");
    this.#decoder = null;
    this.#flush();
    if (this.connected) this.transport.loseConnection();
  }

  #guard(fn: () => void, what: string): void {
    try {
      fn();
    } catch (err) {
      this.factory?.logger.error({ err: { message: asError(err).message } }, what);
    }
  }
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    (typeof v === "object" || typeof v === "function") &&
    v !== null &&
    typeof (v as { then?: unknown }).then === "function"
  );
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
