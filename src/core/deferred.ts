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
 *
 * The rest of twisted.internet.defer lives beside this file: `deferred-list.ts` (`DeferredList`,
 * `gatherResults`), `deferred-primitives.ts` (`DeferredLock`, `DeferredSemaphore`,
 * `DeferredQueue`) and `inline-callbacks.ts` (`inlineCallbacks`, `ensureDeferred`).
 */
import {
  describe,
  Failed,
  isThenable,
  NonErrorFailure,
  reportUnhandled,
  setCallbackUnchecked,
  toError,
} from "./deferred-support.js";
import {
  AlreadyCalledError,
  CancelledError,
  InvalidArgumentError,
  TimeoutError,
} from "./errors.js";
import type { DelayedCall, ReactorTime } from "./interfaces.js";

export { NonErrorFailure, setUnhandledErrorReporter } from "./deferred-support.js";

/**
 * A stored callback. Written as a method type (checked bivariantly) so that the typed callbacks of
 * `#add`'s overload fit the untyped store.
 */
type Fn = { run(value: unknown): unknown }["run"];

/** One (callback, errback) pair; `null` means pass through. `chainee` marks a continuation. */
interface Entry {
  ok: Fn | null;
  err: Fn | null;
  chainee: Deferred<unknown> | null;
}

const EMPTY: Entry = { ok: null, err: null, chainee: null };

/**
 * The canceller as stored: written as a method type so that it is checked bivariantly, which keeps
 * `Deferred<T>` covariant in `T` (a `Deferred<number>` is a `Deferred<unknown>`).
 */
type Canceller<T> = { cancel(d: Deferred<T>): void }["cancel"];

// ---------------------------------------------------------------------------------------------
// Unhandled errors

/** Errors observed through `then`/`asPromise`: never reported as unhandled. */
const observed = new WeakSet<Error>();

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
    reportUnhandled(held.error);
  } catch {
    // a broken reporter must not take the process down from a GC callback
  }
});

/** Set by a static block of {@link Deferred}: its unhandled error (or null), untracking it. */
let takeUnhandled: (d: Deferred<unknown>) => Error | null;

/**
 * For tests (trial's `flushLoggedErrors`): return the errors of every live Deferred whose chain
 * currently ends on an unhandled error, and mark them handled so they are never reported.
 */
export function flushUnhandledErrors(): Error[] {
  const out: Error[] = [];
  for (const ref of tracked) {
    const d = ref.deref();
    if (d === undefined) continue; // collected: the registry reports (or reported) it
    const err = takeUnhandled(d);
    if (err !== null) {
      out.push(err);
      observed.add(err);
    }
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

  #called = false;
  #result: unknown = undefined;
  #failed = false;
  #entries: Entry[] = [];
  #next = 0;
  #running = false;
  #suppressAlreadyCalled = false;
  #chainedTo: Deferred<unknown> | null = null;
  #canceller: Canceller<T> | null;
  #trackRef: WeakRef<Deferred<unknown>> | null = null;
  #trackedError: Error | null = null;

  static {
    takeUnhandled = (d) => {
      const err = d.#unhandledError();
      d.#untrack();
      return err;
    };
    setCallbackUnchecked((d, value) => d.#start(value, false));
  }

  /**
   * @param canceller called by `cancel()` on an unfired Deferred; it should stop the work and may
   *   fire the Deferred itself. If it does not, the Deferred errbacks with `CancelledError`.
   */
  constructor(canceller?: (d: Deferred<T>) => void) {
    this.#canceller = canceller ?? null;
  }

  /** True once `callback` or `errback` was called (even while the chain is paused). */
  get called(): boolean {
    return this.#called;
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
    this.#start(result, false);
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
    this.#start(err, true);
  }

  /** Add a success callback; failures pass through untouched. Returns this Deferred. */
  addCallback<U>(fn: (value: T) => U | PromiseLike<U>): Deferred<U> {
    return this.#add(fn, null);
  }

  /** Add an error callback; returning normally recovers the chain. Returns this Deferred. */
  addErrback<U = T>(fn: (error: Error) => U | PromiseLike<U>): Deferred<T | U> {
    return this.#add(null, fn);
  }

  /** Add the same function as callback and errback. Returns this Deferred. */
  addBoth<U>(fn: (valueOrError: T | Error) => U | PromiseLike<U>): Deferred<U> {
    return this.#add(fn, fn);
  }

  /** Add a (callback, errback) pair: exactly one of them runs for the current result. */
  addCallbacks<U, V = U>(
    cb: (v: T) => U | PromiseLike<U>,
    eb: (e: Error) => V | PromiseLike<V>,
  ): Deferred<U | V> {
    return this.#add(cb, eb);
  }

  /**
   * Fire `d` with this chain's result at this point (`addCallbacks(d.callback, d.errback)`); this
   * chain continues with `undefined`. One direction only.
   */
  chainDeferred(d: Deferred<T>): Deferred<T> {
    return this.#add<T, T>(
      (v) => {
        d.callback(v);
        return undefined;
      },
      (e) => {
        d.errback(e);
        return undefined;
      },
    );
  }

  /** Stop running callbacks until a matching `unpause()`. */
  pause(): void {
    this.paused++;
  }

  /** Undo one `pause()`; runs pending callbacks when no pause remains and the result is there. */
  unpause(): void {
    this.paused--;
    if (this.paused > 0) return;
    if (this.#called) this.#runCallbacks();
  }

  /**
   * Cancel: on an unfired Deferred call the canceller, then (if still unfired) errback with
   * `CancelledError`; without a canceller the producer's own later fire is silently swallowed once.
   * On a fired Deferred waiting for a Deferred returned by a callback, cancel that one instead.
   * Otherwise a no-op.
   */
  cancel(): void {
    if (!this.#called) {
      const canceller = this.#canceller;
      if (canceller !== null) canceller(this);
      else this.#suppressAlreadyCalled = true;
      if (!this.#called) this.errback(new CancelledError());
    } else if (this.#chainedTo !== null) {
      this.#chainedTo.cancel();
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
    const converted = (out: T | Error): T | Failed =>
      out instanceof Error ? new Failed(out) : out;
    this.#add<T, T>(
      (v) =>
        timedOut && onTimeoutCancel !== undefined ? converted(onTimeoutCancel(v, seconds)) : v,
      (e) => {
        if (timedOut) {
          if (onTimeoutCancel !== undefined) return converted(onTimeoutCancel(e, seconds));
          if (e instanceof CancelledError) {
            return new Failed(
              new TimeoutError(`Deferred timed out after ${seconds} seconds.`, { cause: e }),
            );
          }
        }
        return new Failed(e);
      },
    );
    return this.#add<T, T>(
      (v) => {
        if (call.active()) call.cancel();
        return v;
      },
      (e) => {
        if (call.active()) call.cancel();
        return new Failed(e);
      },
    );
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
      this.#add<T, T>(
        (v) => {
          resolve(v);
          return v;
        },
        (e) => {
          observed.add(e);
          reject(e);
          return new Failed(e);
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
    if (p instanceof Deferred) return p;
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
    if (!this.#called) return "<Deferred pending>";
    if (this.#chainedTo !== null) return "<Deferred waiting on Deferred>";
    if (this.#failed) return `<Deferred failed: ${String(this.#result)}>`;
    return `<Deferred current result: ${describe(this.#result)}>`;
  }

  // -------------------------------------------------------------------------------------------
  // internals

  /** The error this chain currently ends on, if unhandled; else null. */
  #unhandledError(): Error | null {
    if (!this.#called || !this.#failed || this.paused > 0) return null;
    const err = this.#result;
    return err instanceof Error && !observed.has(err) ? err : null;
  }

  /** Stop tracking this Deferred as ending on an unhandled error. */
  #untrack(): void {
    if (this.#trackRef !== null) {
      tracked.delete(this.#trackRef);
      registry.unregister(this);
      this.#trackRef = null;
      this.#trackedError = null;
    }
  }

  #track(err: Error): void {
    if (this.#trackedError === err) return;
    this.#untrack();
    const ref = new WeakRef<Deferred<unknown>>(this);
    this.#trackRef = ref;
    this.#trackedError = err;
    tracked.add(ref);
    registry.register(this, { error: err, ref }, this);
  }

  /**
   * Append a (callback, errback) pair and hand this Deferred back typed by what the chain holds
   * after it (`U`). The overload is the one place the chain's type moves from `T` to `U`: the
   * callbacks are stored as `(value: unknown) => unknown` and run with whatever the chain holds,
   * which is a `T` for `ok` and an `Error` for `err` by construction of `#runCallbacks`.
   */
  #add<U, V = T>(
    ok: ((value: V) => unknown) | null,
    err: ((error: Error) => unknown) | null,
  ): Deferred<U>;
  #add(
    ok: ((value: never) => unknown) | null,
    err: ((error: never) => unknown) | null,
  ): Deferred<unknown> {
    this.#entries.push({ ok, err, chainee: null });
    if (this.#called) this.#runCallbacks();
    return this;
  }

  #start(result: unknown, failed: boolean): void {
    if (this.#called) {
      if (this.#suppressAlreadyCalled) {
        this.#suppressAlreadyCalled = false;
        return;
      }
      throw new AlreadyCalledError("Deferred has already been fired.");
    }
    this.#called = true;
    this.#result = result;
    this.#failed = failed;
    this.#runCallbacks();
  }

  /**
   * Run pending callbacks. Chains (a callback returned another Deferred) are handled with an
   * explicit stack instead of recursion, so arbitrarily long chains do not grow the JS stack.
   */
  #runCallbacks(): void {
    if (this.#running) return;
    // `current` is the top of the chain stack; the rest of the stack (Deferreds that handed their
    // result to a waiting one and resume afterwards) is only allocated when chaining happens.
    let current = this as Deferred<unknown>;
    let below: Deferred<unknown>[] | null = null;
    for (;;) {
      if (current.paused > 0) return;
      let finished = true;
      let handedTo: Deferred<unknown> | null = null;
      current.#chainedTo = null;
      const entries = current.#entries;
      while (current.#next < entries.length) {
        const entry = entries[current.#next]!;
        entries[current.#next] = EMPTY; // release the closure
        current.#next++;
        if (entry.chainee !== null) {
          // Hand our result to the Deferred waiting on us; we continue with undefined.
          const chainee = entry.chainee;
          chainee.#result = current.#result;
          chainee.#failed = current.#failed;
          current.#result = undefined;
          current.#failed = false;
          chainee.paused--;
          handedTo = chainee;
          finished = false;
          break;
        }
        const fn = current.#failed ? entry.err : entry.ok;
        if (fn === null) continue;
        let ret: unknown;
        current.#running = true;
        try {
          ret = fn(current.#result);
        } catch (e) {
          current.#running = false;
          current.#result = toError(e);
          current.#failed = true;
          continue;
        }
        current.#running = false;
        if (ret instanceof Failed) {
          current.#result = ret.error;
          current.#failed = true;
          continue;
        }
        current.#failed = false;
        if (ret === current) {
          current.#result = new InvalidArgumentError(
            "A callback returned the Deferred it is attached to.",
          );
          current.#failed = true;
          continue;
        }
        let inner: Deferred<unknown> | null = null;
        if (ret instanceof Deferred) inner = ret as Deferred<unknown>;
        else if (isThenable(ret)) inner = Deferred.fromPromise(ret);
        if (inner === null) {
          current.#result = ret;
          continue;
        }
        if (!inner.#called || inner.paused > 0 || inner.#chainedTo !== null) {
          // Not ready: pause and continue when it fires.
          current.#result = undefined;
          current.pause();
          current.#chainedTo = inner;
          inner.#entries.push({ ok: null, err: null, chainee: current });
          break;
        }
        // It already has a result: take it (the inner Deferred continues with undefined).
        current.#result = inner.#result;
        current.#failed = inner.#failed;
        inner.#result = undefined;
        inner.#failed = false;
        inner.#untrack();
      }
      if (current.#next >= entries.length) {
        entries.length = 0;
        current.#next = 0;
      }
      if (finished) {
        if (current.#failed && current.paused === 0 && !observed.has(current.#result as Error)) {
          current.#track(current.#result as Error);
        } else {
          current.#untrack();
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
  if (result instanceof Deferred) return result;
  if (isThenable(result)) return Deferred.fromPromise(result);
  return succeed(result);
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
  const d = new Deferred<undefined>(() => {
    if (call.active()) call.cancel();
  });
  const call = clock.callLater(delaySeconds, () => d.callback(undefined));
  return d.addCallback(() => (fn === undefined ? undefined : fn())) as Deferred<T>;
}
