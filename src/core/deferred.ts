/**
 * `Deferred`: a result that is not there yet, with Twisted's semantics (twisted.internet.defer).
 *
 * Differences from a Promise, on purpose:
 * - callbacks run **synchronously**: inside `callback()`/`errback()` when it fires, and at once when
 *   added to a Deferred that has already fired;
 * - each callback's return value replaces the current result for the next callback, and an errback
 *   that returns normally recovers the chain (back to the success path);
 * - a callback that returns a Deferred or any PromiseLike pauses this chain until that settles;
 * - it can be cancelled (`cancel()`), fires at most once (`AlreadyCalledError`).
 *
 * Error path: only a **throw**, a rejected PromiseLike or a failed Deferred returned from a callback
 * switch the chain to the error path. Returning an `Error` object is an ordinary value (Twisted's
 * equivalent of "returning a Failure" is `return fail(err)` or `throw err`).
 *
 * A Deferred is thenable: `await d` gives the chain's result after every callback added so far
 * (and counts as handling an error). An error that reaches the end of a chain and stays there until
 * the Deferred is garbage-collected is reported ("Unhandled error in Deferred:"), see
 * {@link setUnhandledErrorReporter} and {@link flushUnhandledErrors}.
 */
import {
  AlreadyCalledError,
  CancelledError,
  InvalidArgumentError,
  TimeoutError,
  WeftError,
} from "./errors.js";
import type { DelayedCall, ReactorTime } from "./interfaces.js";

/** A value that was not an `Error` was used as a failure; the original is `cause` and `value`. */
export class NonErrorFailure extends WeftError {
  /** The original thrown/rejected/errback'd value. */
  readonly value: unknown;
  constructor(value: unknown, message?: string) {
    super("ERR_NON_ERROR_FAILURE", message ?? `Non-Error failure: ${describe(value)}`, {
      cause: value,
    });
    this.value = value;
  }
}

/**
 * The first failure among a {@link DeferredList} with `fireOnOneErrback` (and so
 * {@link gatherResults}): which input failed (`index`) and with what (`subFailure`, also `cause`).
 */
export class FirstError extends WeftError {
  readonly subFailure: Error;
  readonly index: number;
  constructor(subFailure: Error, index: number) {
    super("ERR_FIRST_ERROR", `FirstError[#${index}, ${subFailure.name}: ${subFailure.message}]`, {
      cause: subFailure,
    });
    this.subFailure = subFailure;
    this.index = index;
  }
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  try {
    return String(value);
  } catch {
    return typeof value;
  }
}

/** Turn anything thrown/rejected into an Error (non-Errors wrapped, original kept as `cause`). */
function toError(value: unknown): Error {
  return value instanceof Error ? value : new NonErrorFailure(value);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

/** Internal marker: a callback's return value that means "continue on the error path". */
class Failed {
  constructor(readonly error: Error) {}
}

type Fn = (value: unknown) => unknown;

/** One (callback, errback) pair; `null` means pass through. `chainee` marks a continuation. */
interface Entry {
  ok: Fn | null;
  err: Fn | null;
  chainee: Deferred<unknown> | null;
}

// ---------------------------------------------------------------------------------------------
// Unhandled errors

/** Errors observed through `then`/`asPromise`: never reported as unhandled. */
const observed = new WeakSet<Error>();

function defaultReporter(error: Error): void {
  console.error("Unhandled error in Deferred:", error.stack ?? String(error));
}

let reporter: (error: Error) => void = defaultReporter;

interface Held {
  error: Error;
  ref: WeakRef<Deferred<unknown>>;
}

/** Deferreds whose chain currently ends on an unhandled error (weakly held). */
const tracked = new Set<WeakRef<Deferred<unknown>>>();

const registry = new FinalizationRegistry<Held>((held) => {
  tracked.delete(held.ref);
  if (observed.has(held.error)) return;
  try {
    reporter(held.error);
  } catch {
    // a broken reporter must not take the process down from a GC callback
  }
});

/**
 * Replace the function told about errors that reached the end of a Deferred's chain and were
 * never handled (reported when the Deferred is garbage-collected). The default writes
 * `Unhandled error in Deferred:` and the stack with `console.error`. Returns a function that
 * restores the previous reporter.
 */
export function setUnhandledErrorReporter(fn: (error: Error) => void): () => void {
  const previous = reporter;
  reporter = fn;
  return () => {
    reporter = previous;
  };
}

/**
 * For tests (trial's `flushLoggedErrors`): return the errors of every live Deferred whose chain
 * currently ends on an unhandled error, and mark them handled so they are never reported.
 */
export function flushUnhandledErrors(): Error[] {
  const out: Error[] = [];
  for (const ref of tracked) {
    const d = ref.deref();
    if (d === undefined) continue; // collected: the registry reports (or reported) it
    const err = d._unhandledError();
    if (err !== null) {
      out.push(err);
      observed.add(err);
    }
    d._untrack();
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

/**
 * A result that will be available later, with a chain of callbacks (Twisted's `Deferred`).
 * See the module documentation for the exact semantics.
 */
export class Deferred<T = unknown> implements PromiseLike<T> {
  /**
   * Number of reasons the chain is paused; callbacks don't run while it is above 0. A callback that
   * returns an unfired Deferred/PromiseLike adds one until that settles.
   */
  paused = 0;

  private _called = false;
  private _result: unknown = undefined;
  private _failed = false;
  private _entries: Entry[] = [];
  private _next = 0;
  private _running = false;
  private _suppressAlreadyCalled = false;
  private _chainedTo: Deferred<unknown> | null = null;
  // Stored loosely typed so that Deferred<T> stays covariant in T (a Deferred<number> is a
  // Deferred<unknown>).
  private _canceller: ((d: Deferred<never>) => void) | null;
  private _trackRef: WeakRef<Deferred<unknown>> | null = null;
  private _trackedError: Error | null = null;

  /**
   * @param canceller called by `cancel()` on an unfired Deferred; it should stop the work and may
   *   fire the Deferred itself. If it does not, the Deferred errbacks with `CancelledError`.
   */
  constructor(canceller?: (d: Deferred<T>) => void) {
    this._canceller = (canceller as ((d: Deferred<never>) => void) | undefined) ?? null;
  }

  /** True once `callback` or `errback` was called (even while the chain is paused). */
  get called(): boolean {
    return this._called;
  }

  /**
   * Fire the chain with a success value. Throws `AlreadyCalledError` if already fired (except the
   * one fire swallowed after a `cancel()` without canceller), and `InvalidArgumentError` if `result`
   * is a Deferred (return it from a callback instead, or use `chainDeferred`).
   */
  callback(result: T): void {
    if (result instanceof Deferred) {
      throw new InvalidArgumentError("Deferred.callback() must not be given a Deferred.");
    }
    this._start(result, false);
  }

  /**
   * Fire the chain with a failure. A non-Error value (or no argument) is wrapped in a
   * {@link NonErrorFailure} keeping the original as `cause`. Same `AlreadyCalledError` rule as
   * `callback`.
   */
  errback(error?: unknown): void {
    const err =
      error === undefined
        ? new NonErrorFailure(undefined, "errback() called without an error")
        : toError(error);
    this._start(err, true);
  }

  /** Add a success callback; failures pass through untouched. Returns this Deferred. */
  addCallback<U>(fn: (value: T) => U | PromiseLike<U>): Deferred<U> {
    return this._add(fn as Fn, null) as unknown as Deferred<U>;
  }

  /** Add an error callback; returning normally recovers the chain. Returns this Deferred. */
  addErrback<U = T>(fn: (error: Error) => U | PromiseLike<U>): Deferred<T | U> {
    return this._add(null, fn as Fn) as unknown as Deferred<T | U>;
  }

  /** Add the same function as callback and errback. Returns this Deferred. */
  addBoth<U>(fn: (valueOrError: T | Error) => U | PromiseLike<U>): Deferred<U> {
    return this._add(fn as Fn, fn as Fn) as unknown as Deferred<U>;
  }

  /** Add a (callback, errback) pair: exactly one of them runs for the current result. */
  addCallbacks<U, V = U>(
    cb: (v: T) => U | PromiseLike<U>,
    eb: (e: Error) => V | PromiseLike<V>,
  ): Deferred<U | V> {
    return this._add(cb as Fn, eb as Fn) as unknown as Deferred<U | V>;
  }

  /**
   * Fire `d` with this chain's result at this point (`addCallbacks(d.callback, d.errback)`); this
   * chain continues with `undefined`. One direction only.
   */
  chainDeferred(d: Deferred<T>): Deferred<T> {
    return this._add(
      (v) => {
        d.callback(v as T);
        return undefined;
      },
      (e) => {
        d.errback(e);
        return undefined;
      },
    ) as unknown as Deferred<T>;
  }

  /** Stop running callbacks until a matching `unpause()`. */
  pause(): void {
    this.paused++;
  }

  /** Undo one `pause()`; runs pending callbacks when no pause remains and the result is there. */
  unpause(): void {
    this.paused--;
    if (this.paused > 0) return;
    if (this._called) this._runCallbacks();
  }

  /**
   * Cancel: on an unfired Deferred call the canceller, then (if still unfired) errback with
   * `CancelledError`; without a canceller the producer's own later fire is silently swallowed once.
   * On a fired Deferred waiting for a Deferred returned by a callback, cancel that one instead.
   * Otherwise a no-op.
   */
  cancel(): void {
    if (!this._called) {
      const canceller = this._canceller;
      if (canceller !== null) canceller(this as unknown as Deferred<never>);
      else this._suppressAlreadyCalled = true;
      if (!this._called) this.errback(new CancelledError());
    } else if (this._chainedTo !== null) {
      this._chainedTo.cancel();
    }
  }

  /**
   * Cancel this Deferred if it has not fired after `seconds` (on `clock`), turning the resulting
   * `CancelledError` into a `TimeoutError`. If the canceller fired it with a value instead, that
   * value wins. Only callbacks added before this call are covered by the timeout. The timer is
   * cancelled as soon as the Deferred fires.
   *
   * @param seconds timeout in seconds (of `clock`).
   * @param onTimeoutCancel replaces the conversion: called with the chain's result (a value or an
   *   Error) after a timeout; its return value is the new result, and returning an `Error` instance
   *   continues on the error path.
   */
  addTimeout(
    seconds: number,
    clock: ReactorTime,
    onTimeoutCancel?: (result: T | Error, seconds: number) => T | Error,
  ): Deferred<T> {
    let timedOut = false;
    const call: DelayedCall = clock.callLater(seconds, () => {
      timedOut = true;
      this.cancel();
    });
    const convert = (result: unknown, failed: boolean): unknown => {
      if (!timedOut) return failed ? new Failed(result as Error) : result;
      if (onTimeoutCancel !== undefined) {
        const out = onTimeoutCancel(result as T | Error, seconds);
        return out instanceof Error ? new Failed(out) : out;
      }
      if (failed && result instanceof CancelledError) {
        return new Failed(
          new TimeoutError(`Deferred timed out after ${seconds} seconds.`, { cause: result }),
        );
      }
      return failed ? new Failed(result as Error) : result;
    };
    this._add(
      (v) => convert(v, false),
      (e) => convert(e, true),
    );
    const stopTimer = (result: unknown, failed: boolean): unknown => {
      if (call.active()) call.cancel();
      return failed ? new Failed(result as Error) : result;
    };
    return this._add(
      (v) => stopTimer(v, false),
      (e) => stopTimer(e, true),
    ) as unknown as Deferred<T>;
  }

  /**
   * Makes `await d` work: resolves with the chain's result after all callbacks added so far (or
   * rejects with its error). The chain itself continues unchanged for callbacks added later; an
   * error observed this way counts as handled.
   */
  // biome-ignore lint/suspicious/noThenProperty: a Deferred is deliberately thenable
  then<A = T, B = never>(
    onfulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.asPromise().then(onfulfilled, onrejected);
  }

  /** A Promise for the chain's result at this point (see `then`). */
  asPromise(): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this._add(
        (v) => {
          resolve(v as T);
          return v;
        },
        (e) => {
          observed.add(e as Error);
          reject(e);
          return new Failed(e as Error);
        },
      );
    });
  }

  /**
   * A Deferred that fires when `p` settles (a rejection with a non-Error is wrapped). A Deferred
   * is returned as-is. Cancelling it errbacks with `CancelledError` and ignores the later
   * settlement.
   */
  static fromPromise<T>(p: PromiseLike<T>): Deferred<T> {
    if (p instanceof Deferred) return p as Deferred<T>;
    const d = new Deferred<T>();
    try {
      p.then(
        (v) => settle(d, v, false),
        (e) => settle(d, e, true),
      );
    } catch (e) {
      if (!d.called) d.errback(e);
    }
    return d;
  }

  /** For logs: `<Deferred pending>`, `<Deferred waiting on Deferred>`, or the current result. */
  toString(): string {
    if (!this._called) return "<Deferred pending>";
    if (this._chainedTo !== null) return "<Deferred waiting on Deferred>";
    if (this._failed) return `<Deferred failed: ${String(this._result)}>`;
    return `<Deferred current result: ${describe(this._result)}>`;
  }

  // -------------------------------------------------------------------------------------------
  // internals

  /** @internal the error this chain currently ends on, if unhandled; else null. */
  _unhandledError(): Error | null {
    if (!this._called || !this._failed || this.paused > 0) return null;
    const err = this._result as Error;
    return observed.has(err) ? null : err;
  }

  /** @internal stop tracking this Deferred as ending on an unhandled error. */
  _untrack(): void {
    if (this._trackRef !== null) {
      tracked.delete(this._trackRef);
      registry.unregister(this);
      this._trackRef = null;
      this._trackedError = null;
    }
  }

  private _track(err: Error): void {
    if (this._trackedError === err) return;
    this._untrack();
    const ref = new WeakRef<Deferred<unknown>>(this as Deferred<unknown>);
    this._trackRef = ref;
    this._trackedError = err;
    tracked.add(ref);
    registry.register(this, { error: err, ref }, this);
  }

  private _add(ok: Fn | null, err: Fn | null): this {
    this._entries.push({ ok, err, chainee: null });
    if (this._called) this._runCallbacks();
    return this;
  }

  private _start(result: unknown, failed: boolean): void {
    if (this._called) {
      if (this._suppressAlreadyCalled) {
        this._suppressAlreadyCalled = false;
        return;
      }
      throw new AlreadyCalledError("Deferred has already been fired.");
    }
    this._called = true;
    this._result = result;
    this._failed = failed;
    this._runCallbacks();
  }

  /**
   * Run pending callbacks. Chains (a callback returned another Deferred) are handled with an
   * explicit stack instead of recursion, so arbitrarily long chains do not grow the JS stack.
   */
  private _runCallbacks(): void {
    if (this._running) return;
    // `current` is the top of the chain stack; the rest of the stack (Deferreds that handed their
    // result to a waiting one and resume afterwards) is only allocated when chaining happens.
    let current = this as Deferred<unknown>;
    let below: Deferred<unknown>[] | null = null;
    for (;;) {
      if (current.paused > 0) return;
      let finished = true;
      let handedTo: Deferred<unknown> | null = null;
      current._chainedTo = null;
      const entries = current._entries;
      while (current._next < entries.length) {
        const entry = entries[current._next]!;
        entries[current._next] = EMPTY; // release the closure
        current._next++;
        if (entry.chainee !== null) {
          // Hand our result to the Deferred waiting on us; we continue with undefined.
          const chainee = entry.chainee;
          chainee._result = current._result;
          chainee._failed = current._failed;
          current._result = undefined;
          current._failed = false;
          chainee.paused--;
          handedTo = chainee;
          finished = false;
          break;
        }
        const fn = current._failed ? entry.err : entry.ok;
        if (fn === null) continue;
        let ret: unknown;
        current._running = true;
        try {
          ret = fn(current._result);
        } catch (e) {
          current._running = false;
          current._result = toError(e);
          current._failed = true;
          continue;
        }
        current._running = false;
        if (ret instanceof Failed) {
          current._result = ret.error;
          current._failed = true;
          continue;
        }
        current._failed = false;
        if (ret === current) {
          current._result = new InvalidArgumentError(
            "A callback returned the Deferred it is attached to.",
          );
          current._failed = true;
          continue;
        }
        let inner: Deferred<unknown> | null = null;
        if (ret instanceof Deferred) inner = ret as Deferred<unknown>;
        else if (isThenable(ret)) inner = Deferred.fromPromise(ret);
        if (inner === null) {
          current._result = ret;
          continue;
        }
        if (!inner._called || inner.paused > 0 || inner._chainedTo !== null) {
          // Not ready: pause and continue when it fires.
          current._result = undefined;
          current.pause();
          current._chainedTo = inner;
          inner._entries.push({ ok: null, err: null, chainee: current });
          break;
        }
        // It already has a result: take it (the inner Deferred continues with undefined).
        current._result = inner._result;
        current._failed = inner._failed;
        inner._result = undefined;
        inner._failed = false;
        inner._untrack();
      }
      if (current._next >= entries.length) {
        entries.length = 0;
        current._next = 0;
      }
      if (finished) {
        if (current._failed && current.paused === 0 && !observed.has(current._result as Error)) {
          current._track(current._result as Error);
        } else {
          current._untrack();
        }
        if (below === null || below.length === 0) return;
        current = below.pop()!;
      } else if (handedTo !== null) {
        // Run the Deferred that was waiting on us, then come back for our remaining callbacks.
        (below ??= []).push(current);
        current = handedTo;
      }
    }
  }
}

const EMPTY: Entry = { ok: null, err: null, chainee: null };

function settle<T>(d: Deferred<T>, value: unknown, failed: boolean): void {
  try {
    if (failed) d.errback(value);
    else d.callback(value as T);
  } catch (e) {
    // Fired meanwhile by someone else (e.g. cancelled with a canceller): nothing to deliver.
    if (!(e instanceof AlreadyCalledError)) throw e;
  }
}

/** A Deferred already fired with `value`. */
export function succeed<T>(value: T): Deferred<T> {
  const d = new Deferred<T>();
  d.callback(value);
  return d;
}

/** A Deferred already failed with `error` (non-Errors wrapped in {@link NonErrorFailure}). */
export function fail<T = never>(error: unknown): Deferred<T> {
  const d = new Deferred<T>();
  d.errback(error);
  return d;
}

/**
 * Call `fn(...args)` now and wrap the outcome in a Deferred: a throw → failed Deferred, a
 * Deferred → that same Deferred, a PromiseLike → a Deferred following it, anything else → `succeed`.
 */
export function maybeDeferred<A extends unknown[], T>(
  fn: (...args: A) => T | Deferred<T> | PromiseLike<T>,
  ...args: A
): Deferred<T> {
  let result: T | Deferred<T> | PromiseLike<T>;
  try {
    result = fn(...args);
  } catch (e) {
    return fail<T>(e);
  }
  if (result instanceof Deferred) return result as Deferred<T>;
  if (isThenable(result)) return Deferred.fromPromise(result as PromiseLike<T>);
  return succeed(result as T);
}

/** Options of {@link DeferredList}. */
export interface DeferredListOptions {
  /** Fire with `[result, index]` as soon as one input succeeds (never fires on an empty list). Default false. */
  fireOnOneCallback?: boolean;
  /** Errback with a {@link FirstError} as soon as one input fails. Default false. */
  fireOnOneErrback?: boolean;
  /** Let each failed input's own chain continue with `undefined` (handled) instead of the error. Default false. */
  consumeErrors?: boolean;
}

/**
 * Wait for several Deferreds (Twisted's `DeferredList`). Fires with `[success, resultOrError]` for
 * each input, in input order, once all have fired (at once with `[]` for an empty list). With
 * `fireOnOneCallback` it fires with `[result, index]` (typed loosely as the list type) on the first
 * success; with `fireOnOneErrback` it errbacks with `FirstError` on the first failure. `cancel()`
 * cancels every input (if the list has not fired).
 */
export class DeferredList<T> extends Deferred<Array<[true, T] | [false, Error]>> {
  /** The inputs. */
  readonly deferredList: Deferred<T>[];
  /** Per-input outcomes, filled as they fire. */
  readonly resultList: Array<[true, T] | [false, Error]>;
  /** How many inputs have fired. */
  finishedCount = 0;

  constructor(ds: Deferred<T>[], opts: DeferredListOptions = {}) {
    super();
    const fireOnOneCallback = opts.fireOnOneCallback ?? false;
    const fireOnOneErrback = opts.fireOnOneErrback ?? false;
    const consumeErrors = opts.consumeErrors ?? false;
    this.deferredList = ds.slice();
    this.resultList = new Array(ds.length);
    if (ds.length === 0 && !fireOnOneCallback) this.callback([]);
    ds.forEach((d, index) => {
      d.addCallbacks(
        (value) => {
          this.resultList[index] = [true, value];
          this.finishedCount++;
          if (!this.called) {
            if (fireOnOneCallback) {
              this.callback([value, index] as unknown as Array<[true, T]>);
            } else if (this.finishedCount === this.resultList.length) {
              this.callback(this.resultList);
            }
          }
          return value;
        },
        (error) => {
          this.resultList[index] = [false, error];
          this.finishedCount++;
          if (!this.called) {
            if (fireOnOneErrback) this.errback(new FirstError(error, index));
            else if (this.finishedCount === this.resultList.length) this.callback(this.resultList);
          }
          return consumeErrors ? undefined : new Failed(error);
        },
      );
    });
  }

  /** Cancel every input Deferred, if this list has not fired yet. */
  override cancel(): void {
    if (this.called) return;
    for (const d of this.deferredList) {
      try {
        d.cancel();
      } catch (e) {
        reporter(toError(e));
      }
    }
  }
}

/**
 * A Deferred for the plain results of all `ds`, in order; on the first failure it errbacks with a
 * {@link FirstError} (`subFailure`, `index`). `consumeErrors` as for {@link DeferredList}.
 */
export function gatherResults<T>(
  ds: Deferred<T>[],
  opts: { consumeErrors?: boolean } = {},
): Deferred<T[]> {
  const list = new DeferredList<T>(ds, {
    fireOnOneErrback: true,
    consumeErrors: opts.consumeErrors ?? false,
  });
  return list.addCallback((results) => results.map((r) => r[1] as T));
}

/**
 * A Deferred that fires after `delaySeconds` on `clock` with `fn()` (or `undefined` without
 * `fn`); a throw or rejection of `fn` errbacks. `cancel()` unschedules the call and errbacks with
 * `CancelledError`.
 */
export function deferLater<T = void>(
  clock: ReactorTime,
  delaySeconds: number,
  fn?: () => T | PromiseLike<T>,
): Deferred<T> {
  const d = new Deferred<unknown>(() => {
    if (call.active()) call.cancel();
  });
  const call = clock.callLater(delaySeconds, () => d.callback(undefined));
  return d.addCallback(() => (fn === undefined ? undefined : fn())) as Deferred<T>;
}

// ---------------------------------------------------------------------------------------------
// Concurrency primitives (Twisted's DeferredLock, DeferredSemaphore, DeferredQueue)

/** `release()` of a lock/semaphore that is not held (Twisted asserts). */
export class LockStateError extends WeftError {
  constructor(message: string) {
    super("ERR_LOCK_STATE", message);
  }
}

/** `DeferredQueue.put` on a full queue (Twisted's `QueueOverflow`). */
export class QueueOverflow extends WeftError {
  constructor(message = "Queue is full.") {
    super("ERR_QUEUE_OVERFLOW", message);
  }
}

/** `DeferredQueue.get` with too many waiting gets (Twisted's `QueueUnderflow`). */
export class QueueUnderflow extends WeftError {
  constructor(message = "Too many waiting gets on the queue.") {
    super("ERR_QUEUE_UNDERFLOW", message);
  }
}

function removeFrom<T>(list: T[], item: T): void {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}

/** Shared part of {@link DeferredLock} and {@link DeferredSemaphore}. */
export abstract class ConcurrencyPrimitive<Self> {
  /** Acquisitions waiting, first come first served. */
  protected readonly waiting: Deferred<Self>[] = [];

  /** A Deferred that fires with this primitive once acquired; cancelling it leaves the queue. */
  abstract acquire(): Deferred<Self>;
  /** Give back what `acquire` gave. */
  abstract release(): void;

  /** How many acquisitions are waiting. */
  get waitingCount(): number {
    return this.waiting.length;
  }

  /**
   * Acquire, call `fn()`, release once its result (value, throw, Deferred or Promise) has settled;
   * fires with that result.
   */
  run<T>(fn: () => T | PromiseLike<T>): Deferred<T> {
    return this.acquire().addCallback(() =>
      maybeDeferred(fn).addCallbacks(
        (value) => {
          this.release();
          return value;
        },
        (error): T => {
          this.release();
          throw error;
        },
      ),
    );
  }

  protected _waiter(): Deferred<Self> {
    const d: Deferred<Self> = new Deferred<Self>(() => removeFrom(this.waiting, d));
    return d;
  }
}

/** A lock for event-driven code (Twisted's `DeferredLock`). */
export class DeferredLock extends ConcurrencyPrimitive<DeferredLock> {
  /** True while held. */
  locked = false;

  acquire(): Deferred<DeferredLock> {
    const d = this._waiter();
    if (this.locked) this.waiting.push(d);
    else {
      this.locked = true;
      d.callback(this);
    }
    return d;
  }

  /** Release; the next waiter (if any) gets the lock. Throws `LockStateError` if not locked. */
  release(): void {
    if (!this.locked) throw new LockStateError("Tried to release an unlocked lock.");
    this.locked = false;
    const next = this.waiting.shift();
    if (next !== undefined) {
      this.locked = true;
      next.callback(this);
    }
  }
}

/** At most `limit` holders at once (Twisted's `DeferredSemaphore`). */
export class DeferredSemaphore extends ConcurrencyPrimitive<DeferredSemaphore> {
  /** Maximum simultaneous holders. */
  readonly limit: number;
  /** Tokens left (limit minus current holders). */
  tokens: number;

  /** @param tokens the limit, an integer ≥ 1 (else `InvalidArgumentError`). */
  constructor(tokens: number) {
    super();
    if (!Number.isInteger(tokens) || tokens < 1) {
      throw new InvalidArgumentError(`DeferredSemaphore requires tokens >= 1, got ${tokens}`);
    }
    this.limit = tokens;
    this.tokens = tokens;
  }

  acquire(): Deferred<DeferredSemaphore> {
    const d = this._waiter();
    if (this.tokens === 0) this.waiting.push(d);
    else {
      this.tokens--;
      d.callback(this);
    }
    return d;
  }

  /** Give a token back; the next waiter gets it. Throws `LockStateError` on too many releases. */
  release(): void {
    if (this.tokens >= this.limit) {
      throw new LockStateError("Semaphore released more times than acquired.");
    }
    this.tokens++;
    const next = this.waiting.shift();
    if (next !== undefined) {
      this.tokens--;
      next.callback(this);
    }
  }
}

/**
 * An event-driven queue (Twisted's `DeferredQueue`): `get()` gives a Deferred for the next item,
 * fired at once if one is pending.
 */
export class DeferredQueue<T> {
  /** Items put and not yet taken. */
  readonly pending: T[] = [];
  /** Gets waiting for an item. */
  readonly waiting: Deferred<T>[] = [];

  /**
   * @param size maximum pending items (`put` beyond → `QueueOverflow`); default null = unbounded.
   * @param backlog maximum waiting gets (`get` beyond → `QueueUnderflow`); default null = unbounded.
   */
  constructor(
    readonly size: number | null = null,
    readonly backlog: number | null = null,
  ) {}

  /** Hand `item` to the oldest waiting get, or keep it. Throws `QueueOverflow` when full. */
  put(item: T): void {
    const waiter = this.waiting.shift();
    if (waiter !== undefined) waiter.callback(item);
    else if (this.size === null || this.pending.length < this.size) this.pending.push(item);
    else throw new QueueOverflow();
  }

  /** The next item. Throws `QueueUnderflow` when `backlog` gets are already waiting. */
  get(): Deferred<T> {
    if (this.pending.length > 0) return succeed(this.pending.shift() as T);
    if (this.backlog === null || this.waiting.length < this.backlog) {
      const d: Deferred<T> = new Deferred<T>(() => removeFrom(this.waiting, d));
      this.waiting.push(d);
      return d;
    }
    throw new QueueUnderflow();
  }
}

// ---------------------------------------------------------------------------------------------
// inlineCallbacks / ensureDeferred

/** Twisted's `ensureDeferred`: a Deferred following a Promise (a Deferred is returned as-is). */
export function ensureDeferred<T>(p: PromiseLike<T>): Deferred<T> {
  return Deferred.fromPromise(p);
}

/** The Deferred of an {@link inlineCallbacks} run: cancelling it cancels what it waits on. */
class InlineCallbacksDeferred<T> extends Deferred<T> {
  waitingOn: Deferred<unknown> | null = null;

  /**
   * Cancels the Deferred the generator is waiting on, so that a `CancelledError` (or whatever that
   * cancellation produces) is thrown into the generator at its `yield`; this Deferred then fires
   * with whatever the generator does next (Twisted's cancellable inlineCallbacks).
   */
  override cancel(): void {
    if (this.called) {
      super.cancel();
      return;
    }
    this.waitingOn?.cancel();
  }
}

function isGenerator(value: unknown): value is Generator<unknown, unknown, unknown> {
  return (
    value !== null &&
    typeof value === "object" &&
    typeof (value as { next?: unknown }).next === "function" &&
    typeof (value as { throw?: unknown }).throw === "function"
  );
}

function runInline<T>(
  gen: Generator<unknown, T, unknown>,
  d: InlineCallbacksDeferred<T>,
  input: unknown,
  failed: boolean,
): void {
  for (;;) {
    let step: IteratorResult<unknown, T>;
    try {
      step = failed ? gen.throw(input) : gen.next(input);
    } catch (e) {
      d.errback(e);
      return;
    }
    let value: unknown = step.value;
    if (!(value instanceof Deferred) && isThenable(value)) value = Deferred.fromPromise(value);
    if (step.done) {
      if (value instanceof Deferred) {
        (value as Deferred<T>).addCallbacks(
          (v) => d.callback(v),
          (e) => d.errback(e),
        );
      } else {
        d.callback(value as T);
      }
      return;
    }
    if (!(value instanceof Deferred)) {
      // A plain yielded value is sent straight back (Twisted).
      input = value;
      failed = false;
      continue;
    }
    const awaited = value as Deferred<unknown>;
    let waiting = true;
    let got = false;
    let gotValue: unknown;
    let gotFailed = false;
    const settled = (v: unknown, failed: boolean): undefined => {
      if (waiting) {
        got = true;
        gotValue = v;
        gotFailed = failed;
      } else {
        d.waitingOn = null;
        runInline(gen, d, v, failed);
      }
      return undefined;
    };
    awaited.addCallbacks(
      (v) => settled(v, false),
      (e) => settled(e, true),
    );
    waiting = false;
    if (!got) {
      d.waitingOn = awaited;
      return;
    }
    // Already fired: continue in this loop (no recursion for long runs of fired Deferreds).
    input = gotValue;
    failed = gotFailed;
  }
}

/**
 * Twisted's `inlineCallbacks`: wrap a generator function so that `yield d` (a Deferred or any
 * PromiseLike) suspends until `d` settles and evaluates to its value or throws its error; a
 * yielded non-thenable is sent straight back. The wrapper returns a Deferred fired with the
 * generator's return value (or failed with what it throws). Unlike an async function, the run is
 * cancellable: `cancel()` cancels the Deferred currently awaited, and the resulting
 * `CancelledError` is thrown into the generator at its `yield`. Already-fired Deferreds are
 * consumed synchronously, without growing the stack. A function that does not return a generator
 * gives `InvalidArgumentError` when called.
 *
 * ```ts
 * const fetchTwice = inlineCallbacks(function* (url: string) {
 *   const a = (yield get(url)) as string;
 *   const b = (yield get(url)) as string;
 *   return a + b;
 * });
 * ```
 */
export function inlineCallbacks<A extends unknown[], T>(
  fn: (...args: A) => Generator<unknown, T, unknown>,
): (...args: A) => Deferred<T> {
  return (...args: A): Deferred<T> => {
    const gen: unknown = fn(...args);
    if (!isGenerator(gen)) {
      throw new InvalidArgumentError(
        "inlineCallbacks requires a generator function (function*), got a function returning " +
          describe(gen),
      );
    }
    const d = new InlineCallbacksDeferred<T>();
    runInline(gen as Generator<unknown, T, unknown>, d, undefined, false);
    return d;
  };
}
