/**
 * What a thread pool runs: a module and the name of a function it exports.
 *
 * Node workers share no memory with the main thread, so they cannot take a closure (its captured
 * variables live in the main thread's heap). The honest unit of work is therefore a function a
 * worker can import by itself. Its limits:
 * - arguments and results cross threads by structured clone (plain data, typed arrays, Maps,
 *   Dates…; no functions, class instances lose their prototype, sockets and handles don't cross);
 *   transferring an ArrayBuffer instead of copying it is not offered;
 * - the module is imported once per worker and may keep module-level state, but each worker has
 *   its own copy (nothing is shared between workers or with the main thread);
 * - the function may be `async`; a worker runs one call at a time.
 */
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";

declare const kSignature: unique symbol;

/** A function `name` exported by `module`, typed by its arguments `A` and (awaited) result `R`. */
export interface ThreadTask<A extends unknown[] = unknown[], R = unknown> {
  /** The module, as a `file:` URL or a package specifier. */
  readonly module: string;
  /** The export to call. */
  readonly name: string;
  /** Type-level only: never set. */
  readonly [kSignature]?: (...args: A) => R;
}

/**
 * Names a task. `module` is a URL (`new URL("./tasks.js", import.meta.url)`), an absolute path, a
 * path relative to the current directory (starting with `.`), or a package specifier. Type it
 * with the function's type, imported as a type only so the main thread never loads the module:
 *
 * ```ts
 * import type { fib } from "./tasks.js";
 * const fibTask = threadTask<typeof fib>(new URL("./tasks.js", import.meta.url), "fib");
 * ```
 *
 * @typeParam F - The task function's type: it gives the task's argument and result types.
 */
export function threadTask<
  F extends (...args: never[]) => unknown = (...args: unknown[]) => unknown,
>(module: string | URL, name: string): ThreadTask<Parameters<F>, Awaited<ReturnType<F>>> {
  let spec: string;
  if (module instanceof URL) spec = module.href;
  else if (isAbsolute(module) || module.startsWith(".")) spec = pathToFileURL(resolve(module)).href;
  else spec = module;
  return Object.freeze({ module: spec, name });
}
