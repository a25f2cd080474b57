/**
 * Twisted's `twisted.internet.threads`: run a task in a thread pool and get a Deferred.
 * The reactor comes first because weft has no global reactor (Twisted's `deferToThread` uses the
 * global one; its `deferToThreadPool` takes it first too).
 */
import type { Deferred } from "../deferred.js";
import type { ThreadPool } from "./pool.js";
import type { ThreadTask } from "./task.js";

/** The part of a reactor that owns a thread pool. */
export interface ThreadPoolReactor {
  /** The reactor's pool, created on first use and started when the reactor runs (Twisted's `getThreadPool`). */
  getThreadPool(): ThreadPool;
}

/** Runs `task(...args)` in the reactor's thread pool; the Deferred fires with its result. */
export function deferToThread<A extends unknown[], R>(
  reactor: ThreadPoolReactor,
  task: ThreadTask<A, R>,
  ...args: A
): Deferred<R> {
  return reactor.getThreadPool().run(task, args);
}

/** Runs `task(...args)` in `pool`; the Deferred fires with its result. */
export function deferToThreadPool<A extends unknown[], R>(
  _reactor: unknown,
  pool: ThreadPool,
  task: ThreadTask<A, R>,
  ...args: A
): Deferred<R> {
  return pool.run(task, args);
}
