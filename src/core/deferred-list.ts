/**
 * Waiting for several Deferreds at once (Twisted's `DeferredList` and `gatherResults`).
 */
import { Deferred } from "./deferred.js";
import { callbackUnchecked, Failed, reportUnhandled, toError } from "./deferred-support.js";
import { WeftError } from "./errors.js";

/**
 * The first failure among a {@link DeferredList} with `fireOnOneErrback` (and so
 * {@link gatherResults}): which input failed (`index`) and with what (`subFailure`, also `cause`).
 */
export class FirstError extends WeftError {
  /** The error the failing input failed with (also `cause`). */
  readonly subFailure: Error;
  /** The position of the failing input in the list. */
  readonly index: number;
  constructor(subFailure: Error, index: number) {
    super("ERR_FIRST_ERROR", `FirstError[#${index}, ${subFailure.name}: ${subFailure.message}]`, {
      cause: subFailure,
    });
    this.subFailure = subFailure;
    this.index = index;
  }
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
              callbackUnchecked(this, [value, index]);
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
        reportUnhandled(toError(e));
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
