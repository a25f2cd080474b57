/**
 * Twisted's `inlineCallbacks` (generator functions that `yield` Deferreds) and `ensureDeferred`.
 */
import { Deferred } from "./deferred.js";
import { describe, isThenable } from "./deferred-support.js";
import { InvalidArgumentError } from "./errors.js";

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
