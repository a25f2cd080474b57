/**
 * For task code running in a pool worker: `callFromThread(name, ...args)` asks the main thread to
 * run the handler registered under `name` with `ThreadPool.handle(name, fn)`, on its event loop
 * (Twisted's `reactor.callFromThread`, with a name instead of a function, since functions cannot
 * cross threads). Arguments are structured-cloned. Returns at once; nothing comes back.
 */
import { isMainThread, parentPort } from "node:worker_threads";
import { InvalidArgumentError } from "../errors.js";

/**
 * Asks the main thread to run the handler registered under `name` with `args` (structured-cloned);
 * returns at once. Throws InvalidArgumentError when called outside a pool worker.
 */
export function callFromThread(name: string, ...args: unknown[]): void {
  if (isMainThread || parentPort === null) {
    throw new InvalidArgumentError(
      "callFromThread(name, ...args) is for task code in a pool worker; on the main thread use reactor.callFromThread(fn, ...args).",
    );
  }
  parentPort.postMessage({ weft: 1, t: "call", name, args });
}
