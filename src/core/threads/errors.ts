/**
 * The thread pool's typed errors, and how an error raised in a worker is rebuilt on the main
 * thread: same class (when the main thread knows it), message, `code` and own properties, with
 * the worker's stack.
 */

import { NonErrorFailure } from "../deferred.js";
import * as coreErrors from "../errors.js";
import { WeftError } from "../errors.js";

/** A constructor of errors, as listed in `ThreadPoolOptions.errorClasses`. */
export type ErrorClass = abstract new (...args: never[]) => Error;

/** The worker running the call exited or crashed before answering; a new worker replaces it. */
export class WorkerCrashedError extends WeftError {
  /** The worker's exit code, when it exited (null when it is not known). */
  readonly exitCode: number | null;
  constructor(message: string, exitCode: number | null, options?: { cause?: unknown }) {
    super("ERR_WORKER_CRASHED", message, options);
    this.exitCode = exitCode;
  }
}

/** The pool's queue is full: the call was refused (raise `maxQueue`, or slow the producer down). */
export class ThreadPoolFullError extends WeftError {
  constructor(message: string) {
    super("ERR_THREAD_POOL_FULL", message);
  }
}

/** The pool is stopping or stopped: it takes no new calls. */
export class ThreadPoolStoppedError extends WeftError {
  constructor(message = "The thread pool is stopped.") {
    super("ERR_THREAD_POOL_STOPPED", message);
  }
}

/** A worker could not start: its bootstrap module failed to load. */
export class WorkerStartError extends WeftError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_WORKER_START", message, options);
  }
}

/** The task's module has no exported function of that name. */
export class TaskNotFoundError extends WeftError {
  constructor(message = "No such task.") {
    super("ERR_TASK_NOT_FOUND", message);
  }
}

/** An error as the worker sends it (see worker-source.ts). */
export interface SerializedError {
  name?: string;
  message?: string;
  stack?: string;
  props?: Record<string, unknown>;
  cause?: SerializedError;
  nonError?: unknown;
}

const BUILTIN: readonly ErrorClass[] = [
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
  AggregateError,
];

/** The classes every pool knows: JavaScript's own, weft's core errors and the pool's. */
export function defaultErrorClasses(): Map<string, ErrorClass> {
  const map = new Map<string, ErrorClass>();
  for (const c of BUILTIN) map.set(c.name, c);
  for (const value of Object.values(coreErrors)) {
    if (typeof value === "function" && value.prototype instanceof Error) {
      map.set(value.name, value as ErrorClass);
    }
  }
  for (const c of [
    WorkerCrashedError,
    ThreadPoolFullError,
    ThreadPoolStoppedError,
    WorkerStartError,
    TaskNotFoundError,
  ]) {
    map.set(c.name, c);
  }
  return map;
}

/**
 * Rebuilds an error from a worker. Its class is the one named `name` in `classes` (built without
 * running its constructor, so constructor arguments do not matter), else a plain `Error` whose
 * `name` is the original's. Message, stack (the worker's), `code` and the other own properties are
 * copied; the `cause` is rebuilt the same way. A thrown non-Error arrives as a NonErrorFailure.
 */
export function rebuildError(s: SerializedError, classes: ReadonlyMap<string, ErrorClass>): Error {
  if ("nonError" in s) return new NonErrorFailure(s.nonError);
  const name = s.name ?? "Error";
  const cls = classes.get(name) ?? Error;
  const err = Object.create(cls.prototype) as Error;
  const hidden = (key: string, value: unknown): void => {
    Object.defineProperty(err, key, {
      value,
      writable: true,
      configurable: true,
      enumerable: false,
    });
  };
  hidden("message", s.message ?? "");
  hidden("stack", s.stack ?? `${name}: ${s.message ?? ""}`);
  if (err.name !== name) hidden("name", name);
  for (const [key, value] of Object.entries(s.props ?? {})) {
    if (key === "message" || key === "stack") continue;
    Object.defineProperty(err, key, {
      value,
      writable: true,
      configurable: true,
      enumerable: true,
    });
  }
  if (s.cause !== undefined) hidden("cause", rebuildError(s.cause, classes));
  return err;
}
