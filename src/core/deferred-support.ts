/**
 * What the Deferred modules (`deferred.ts`, `deferred-list.ts`, `deferred-primitives.ts`,
 * `inline-callbacks.ts`) share: the error for non-Error failures, the unhandled-error reporter and
 * the marker a callback returns to continue on the error path. Internal: the barrel exports only
 * `NonErrorFailure` and `setUnhandledErrorReporter`, through `deferred.ts`.
 */
import type { Deferred } from "./deferred.js";
import { WeftError } from "./errors.js";

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

/** A value for messages: strings quoted, anything else through `String` (never throws). */
export function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  try {
    return String(value);
  } catch {
    return typeof value;
  }
}

/** Turn anything thrown/rejected into an Error (non-Errors wrapped, original kept as `cause`). */
export function toError(value: unknown): Error {
  return value instanceof Error ? value : new NonErrorFailure(value);
}

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

/**
 * A callback's return value that means "continue on the error path with `error`" (cheaper than a
 * throw, and never mistaken for a result: an `Error` returned by a callback is an ordinary value).
 */
export class Failed {
  constructor(readonly error: Error) {}
}

function defaultReporter(error: Error): void {
  console.error("Unhandled error in Deferred:", error.stack ?? String(error));
}

let reporter: (error: Error) => void = defaultReporter;

/** Tell the current reporter about an error nobody handled. */
export function reportUnhandled(error: Error): void {
  reporter(error);
}

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
 * Fire `d` with a value its type does not promise. Only `DeferredList` with `fireOnOneCallback`
 * needs it (it fires with `[result, index]`, documented as typed loosely as the list type); set by
 * a static block of `Deferred`, so the one untyped fire is named here instead of written as a cast.
 */
export let callbackUnchecked: (d: Deferred<unknown>, value: unknown) => void = () => {
  throw new Error("Deferred is not loaded");
};

/** @internal called once by `Deferred`'s static block. */
export function setCallbackUnchecked(fn: (d: Deferred<unknown>, value: unknown) => void): void {
  callbackUnchecked = fn;
}
