/**
 * A pool of `worker_threads` workers (Twisted's `ThreadPool`, for code that must block or burn CPU
 * without stalling the event loop). It runs {@link ThreadTask}s: a module and an exported function
 * (see task.ts for why, and for the limits).
 *
 * - Workers are started on demand up to `maxThreads` (at least `minThreads` once started); a
 *   worker runs one call at a time; an idle worker above `minThreads` exits after `idleTimeout`.
 * - Idle workers are `unref`'d: a pool with nothing to do does not keep the process alive.
 * - Calls wait in a FIFO queue of at most `maxQueue` calls; beyond it a call fails at once with
 *   {@link ThreadPoolFullError}. A queued call can be cancelled (Deferred `cancel()` or an
 *   `AbortSignal`); a running one cannot be interrupted (its Deferred fails with CancelledError at
 *   once and the result is dropped when it comes).
 * - An error raised by the task arrives as its class (see `errorClasses`), message, `code` and
 *   properties, with the worker's stack. A worker that dies (uncaught error outside the call,
 *   `process.exit`, out of memory) fails its call with {@link WorkerCrashedError}, and a new one
 *   takes the next call.
 * - Calls made before `start()` wait for it (Twisted). `stop()` refuses new calls, lets the queued
 *   and running ones finish, then terminates every worker; nothing is leaked.
 * - `callFromThread(name, ...args)` in task code runs the handler registered on the main thread
 *   with {@link ThreadPool.handle} (functions cannot cross threads, names can).
 *
 * Why not piscina underneath: see bench/threads/RESULTS.md. In short, the pool's own cost per call
 * is one postMessage each way, which a dependency cannot reduce; piscina brings its own queue,
 * cancellation and error conventions that would have to be translated to Deferreds and weft's
 * errors at every step.
 */
import { availableParallelism } from "node:os";
import { type ResourceLimits, Worker } from "node:worker_threads";
import { Deferred } from "../deferred.js";
import { CancelledError, InvalidArgumentError } from "../errors.js";
import { consoleErrorLogger, type ErrorLogger } from "../transport.js";
import {
  defaultErrorClasses,
  type ErrorClass,
  rebuildError,
  type SerializedError,
  ThreadPoolFullError,
  ThreadPoolStoppedError,
  WorkerCrashedError,
  WorkerStartError,
} from "./errors.js";
import type { ThreadTask } from "./task.js";
import { WORKER_SOURCE } from "./worker-source.js";

/** Options of a {@link ThreadPool}. */
export interface ThreadPoolOptions {
  /** Workers kept alive while started, even idle. Default 0. */
  minThreads?: number;
  /** Most workers at once. Default `os.availableParallelism()`. */
  maxThreads?: number;
  /** Names the workers (`NAME-1`, `NAME-2`…: seen in debuggers and heap snapshots). Default "weft". */
  name?: string;
  /** Most calls waiting for a worker. Default 65,536. */
  maxQueue?: number;
  /** Seconds an idle worker above `minThreads` lives. Default 10. */
  idleTimeout?: number;
  /**
   * A module every worker imports before any task (a URL or absolute path), e.g. one that registers
   * a loader: on Node 20 a worker can import a `.ts` task only after tsx's `register()` ran in it.
   */
  bootstrap?: string | URL;
  /** Error classes (besides JavaScript's and weft's) that worker errors are rebuilt as, by name. */
  errorClasses?: Iterable<abstract new (...args: never[]) => Error>;
  /** Worker heap limits (Node's `resourceLimits`). */
  resourceLimits?: ResourceLimits;
  /** Node options of the workers. Default: this process's `execArgv` (Node's default). */
  execArgv?: string[];
  /** Where errors of `callInThread` calls and unknown `callFromThread` names go. */
  logger?: ErrorLogger;
}

/** Options of {@link ThreadPool.run}. */
export interface RunOptions {
  /** Aborting it cancels the call if it is still queued (see the class documentation). */
  signal?: AbortSignal;
}

/** What {@link ThreadPool.stats} returns. */
export interface ThreadPoolStats {
  /** Workers alive (busy or idle). */
  workers: number;
  /** Workers running a call. */
  busy: number;
  /** Workers waiting for a call. */
  idle: number;
  /** Calls waiting for a worker. */
  queued: number;
}

interface Call {
  readonly id: number;
  readonly module: string;
  readonly name: string;
  readonly args: readonly unknown[];
  readonly deferred: Deferred<unknown>;
  worker: PoolWorker | null;
  cancelled: boolean;
  abort: { signal: AbortSignal; listener: () => void } | null;
}

interface PoolWorker {
  readonly worker: Worker;
  call: Call | null;
  idleTimer: NodeJS.Timeout | null;
  /** The pool terminated it (idle timeout, stop): its exit is expected. */
  retiring: boolean;
  bootError: Error | null;
  crashError: unknown;
}

type State = "new" | "started" | "stopping" | "stopped";

interface WorkerMessage {
  weft?: unknown;
  t?: string;
  id?: number;
  value?: unknown;
  error?: SerializedError;
  name?: string;
  args?: unknown[];
}

let liveWorkers = 0;

/** See the module documentation. */
export class ThreadPool {
  /** The workers' name prefix (the `name` option; default `"weft"`). */
  readonly name: string;
  #min: number;
  #max: number;
  readonly #maxQueue: number;
  readonly #idleTimeout: number;
  readonly #bootstrap: string | null;
  readonly #classes: Map<string, ErrorClass>;
  readonly #resourceLimits: ResourceLimits | undefined;
  readonly #execArgv: string[] | undefined;
  readonly #logger: ErrorLogger;
  readonly #workers = new Set<PoolWorker>();
  readonly #idle: PoolWorker[] = [];
  readonly #handlers = new Map<string, (...args: unknown[]) => unknown>();
  #queue: Call[] = [];
  #head = 0;
  #queued = 0;
  #state: State = "new";
  #nextId = 1;
  #spawned = 0;
  #stopped: Promise<void> | null = null;
  #resolveStopped: (() => void) | null = null;

  /** Workers alive in this process, across every pool (for leak checks). */
  static get liveWorkers(): number {
    return liveWorkers;
  }

  constructor(options: ThreadPoolOptions = {}) {
    this.name = options.name ?? "weft";
    this.#min = options.minThreads ?? 0;
    this.#max = options.maxThreads ?? availableParallelism();
    this.#checkSizes(this.#min, this.#max);
    this.#maxQueue = options.maxQueue ?? 65_536;
    this.#idleTimeout = options.idleTimeout ?? 10;
    const b = options.bootstrap;
    this.#bootstrap = b === undefined ? null : b instanceof URL ? b.href : toSpecifier(b);
    this.#classes = defaultErrorClasses();
    for (const c of options.errorClasses ?? []) this.#classes.set(c.name, c);
    this.#resourceLimits = options.resourceLimits;
    this.#execArgv = options.execArgv;
    this.#logger = options.logger ?? consoleErrorLogger;
  }

  #checkSizes(min: number, max: number): void {
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0 || max < 1 || min > max) {
      throw new InvalidArgumentError(
        `Invalid thread pool size min=${min} max=${max}: integers with 0 <= min <= max and max >= 1 expected.`,
      );
    }
  }

  /** True between `start()` and `stop()`. */
  get started(): boolean {
    return this.#state === "started";
  }

  /** Workers kept alive while started (the `minThreads` option, or `adjustPoolsize`). */
  get minThreads(): number {
    return this.#min;
  }

  /** Most workers at once (the `maxThreads` option, or `adjustPoolsize`). */
  get maxThreads(): number {
    return this.#max;
  }

  /** Starts `minThreads` workers and the calls queued so far. Idempotent while started. */
  start(): void {
    if (this.#state !== "new") return;
    this.#state = "started";
    this.#dispatch();
    this.#fillToMin();
  }

  /** Changes the sizes (Twisted's `adjustPoolsize`); extra idle workers retire at once. */
  adjustPoolsize(minThreads: number = this.#min, maxThreads: number = this.#max): void {
    this.#checkSizes(minThreads, maxThreads);
    this.#min = minThreads;
    this.#max = maxThreads;
    while (this.#workers.size > this.#max && this.#idle.length > 0) {
      this.#retire(this.#idle.pop() as PoolWorker);
    }
    if (this.#state === "started") {
      this.#dispatch();
      this.#fillToMin();
    }
  }

  /** Counts of workers and calls. */
  stats(): ThreadPoolStats {
    const workers = this.#workers.size;
    const idle = this.#idle.length;
    return { workers, idle, busy: workers - idle, queued: this.#queued };
  }

  /**
   * Registers `fn` as the handler of `callFromThread(name, ...args)` made by task code in this
   * pool's workers; it runs on the main thread's event loop. Returns the pool.
   */
  handle(name: string, fn: (...args: never[]) => unknown): this {
    this.#handlers.set(name, fn as (...args: unknown[]) => unknown);
    return this;
  }

  /**
   * Runs `task(...args)` in a worker; the Deferred fires with its result or fails with its error
   * (see the module documentation). Fails at once with ThreadPoolFullError when the queue is full
   * and ThreadPoolStoppedError once the pool is stopping.
   */
  run<A extends unknown[], R>(
    task: ThreadTask<A, R>,
    args: A,
    options: RunOptions = {},
  ): Deferred<R> {
    if (this.#state === "stopping" || this.#state === "stopped") {
      return failed(new ThreadPoolStoppedError());
    }
    if (this.#queued >= this.#maxQueue) {
      return failed(
        new ThreadPoolFullError(
          `The thread pool ${JSON.stringify(this.name)} has ${this.#queued} calls queued (maxQueue ${this.#maxQueue}).`,
        ),
      );
    }
    const signal = options.signal;
    if (signal?.aborted === true) {
      return failed(new CancelledError("The call was aborted.", { cause: signal.reason }));
    }
    const call: Call = {
      id: this.#nextId++,
      module: task.module,
      name: task.name,
      args,
      deferred: new Deferred<unknown>(() => this.#cancel(call)),
      worker: null,
      cancelled: false,
      abort: null,
    };
    const deferred = call.deferred as Deferred<R>;
    if (signal !== undefined) {
      const listener = (): void => deferred.cancel();
      signal.addEventListener("abort", listener, { once: true });
      call.abort = { signal, listener };
    }
    this.#queue.push(call);
    this.#queued++;
    if (this.#state === "started") this.#dispatch();
    return deferred;
  }

  /** Runs `task(...args)` in a worker and ignores its result; an error is logged. */
  callInThread<A extends unknown[], R>(task: ThreadTask<A, R>, ...args: A): void {
    this.run(task, args).addErrback((err: Error) => {
      this.#logger(`Unhandled error in a callInThread call of ${task.module}#${task.name}:`, err);
    });
  }

  #cancel(call: Call): void {
    call.cancelled = true;
    if (call.worker === null) this.#queued--;
    this.#finish(call);
  }

  #finish(call: Call): void {
    if (call.abort !== null) {
      call.abort.signal.removeEventListener("abort", call.abort.listener);
      call.abort = null;
    }
  }

  #nextCall(): Call | null {
    const q = this.#queue;
    while (this.#head < q.length) {
      const call = q[this.#head++] as Call;
      if (this.#head > 1024 && this.#head * 2 > q.length) {
        this.#queue = q.slice(this.#head);
        this.#head = 0;
      }
      if (!call.cancelled) {
        this.#queued--;
        return call;
      }
    }
    return null;
  }

  #dispatch(): void {
    while (this.#queued > 0) {
      let w = this.#idle.pop();
      if (w === undefined) {
        if (this.#workers.size >= this.#max) return;
        w = this.#spawn();
      }
      const call = this.#nextCall();
      if (call === null) {
        this.#release(w);
        return;
      }
      this.#assign(w, call);
    }
  }

  #fillToMin(): void {
    while (this.#state === "started" && this.#workers.size < this.#min) {
      this.#release(this.#spawn());
    }
  }

  #spawn(): PoolWorker {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      name: `${this.name}-${++this.#spawned}`,
      workerData: { bootstrap: this.#bootstrap },
      ...(this.#resourceLimits !== undefined ? { resourceLimits: this.#resourceLimits } : {}),
      ...(this.#execArgv !== undefined ? { execArgv: this.#execArgv } : {}),
    });
    liveWorkers++;
    const w: PoolWorker = {
      worker,
      call: null,
      idleTimer: null,
      retiring: false,
      bootError: null,
      crashError: undefined,
    };
    this.#workers.add(w);
    worker.on("message", (msg: WorkerMessage) => this.#onMessage(w, msg));
    worker.on("error", (err) => {
      w.crashError ??= err;
    });
    worker.once("exit", (code) => this.#onExit(w, code));
    return w;
  }

  #assign(w: PoolWorker, call: Call): void {
    if (w.idleTimer !== null) {
      clearTimeout(w.idleTimer);
      w.idleTimer = null;
    }
    w.call = call;
    call.worker = w;
    w.worker.ref();
    try {
      w.worker.postMessage({
        weft: 1,
        t: "run",
        id: call.id,
        module: call.module,
        name: call.name,
        args: call.args,
      });
    } catch (err) {
      // The arguments cannot be cloned (a function, a socket…): that call fails, the worker is fine.
      w.call = null;
      this.#settle(call, err instanceof Error ? err : new Error(String(err)), false);
      this.#release(w);
    }
  }

  #settle(call: Call, value: unknown, ok: boolean): void {
    this.#finish(call);
    const d = call.deferred;
    if (d.called) return; // cancelled while running: the result is dropped
    if (ok) d.callback(value);
    else d.errback(value);
  }

  #onMessage(w: PoolWorker, msg: WorkerMessage): void {
    if (msg === null || typeof msg !== "object" || msg.weft !== 1) return;
    switch (msg.t) {
      case "ok":
      case "err": {
        const call = w.call;
        if (call === null || call.id !== msg.id) return;
        w.call = null;
        if (msg.t === "ok") this.#settle(call, msg.value, true);
        else this.#settle(call, rebuildError(msg.error ?? {}, this.#classes), false);
        this.#release(w);
        return;
      }
      case "call": {
        const name = msg.name ?? "";
        const fn = this.#handlers.get(name);
        if (fn === undefined) {
          this.#logger(`callFromThread: no handler named ${JSON.stringify(name)}:`, null);
          return;
        }
        try {
          const out = fn(...(msg.args ?? []));
          if (out instanceof Promise) {
            out.catch((err: unknown) => this.#logger(`Error in callFromThread ${name}:`, err));
          }
        } catch (err) {
          this.#logger(`Error in callFromThread ${JSON.stringify(name)}:`, err);
        }
        return;
      }
      case "fatal":
        w.bootError = new WorkerStartError(
          `A worker of the thread pool ${JSON.stringify(this.name)} could not import its bootstrap module.`,
          { cause: rebuildError(msg.error ?? {}, this.#classes) },
        );
        return;
      default:
        return;
    }
  }

  /** A worker is free: give it the next call, or let it idle (unref'd), or retire it. */
  #release(w: PoolWorker): void {
    if (w.retiring) return;
    if (this.#state === "started" || this.#state === "stopping") {
      const call = this.#nextCall();
      if (call !== null) {
        this.#assign(w, call);
        return;
      }
    }
    if (this.#state === "stopping" || this.#state === "stopped" || this.#workers.size > this.#max) {
      this.#retire(w);
      return;
    }
    w.worker.unref();
    this.#idle.push(w);
    if (this.#workers.size > this.#min) {
      w.idleTimer = setTimeout(() => {
        w.idleTimer = null;
        const i = this.#idle.indexOf(w);
        if (i >= 0 && this.#workers.size > this.#min) {
          this.#idle.splice(i, 1);
          this.#retire(w);
        }
      }, this.#idleTimeout * 1000);
      w.idleTimer.unref();
    }
  }

  #retire(w: PoolWorker): void {
    if (w.retiring) return;
    w.retiring = true;
    if (w.idleTimer !== null) {
      clearTimeout(w.idleTimer);
      w.idleTimer = null;
    }
    void w.worker.terminate();
  }

  #onExit(w: PoolWorker, code: number): void {
    liveWorkers--;
    this.#workers.delete(w);
    const i = this.#idle.indexOf(w);
    if (i >= 0) this.#idle.splice(i, 1);
    if (w.idleTimer !== null) clearTimeout(w.idleTimer);
    const call = w.call;
    w.call = null;
    if (w.bootError !== null) {
      // A bootstrap that fails once fails every time: fail the queued calls too, not one by one.
      if (call !== null) this.#settle(call, w.bootError, false);
      for (let c = this.#nextCall(); c !== null; c = this.#nextCall()) {
        this.#settle(c, w.bootError, false);
      }
    } else if (call !== null) {
      const cause = w.crashError;
      const detail = cause instanceof Error ? `: ${cause.message}` : ` with exit code ${code}`;
      this.#settle(
        call,
        new WorkerCrashedError(`The worker running ${call.name} died${detail}.`, code, {
          cause,
        }),
        false,
      );
    }
    if (this.#state === "started" || this.#state === "stopping") this.#dispatch();
    if (w.bootError === null) this.#fillToMin();
    if (this.#state === "stopping" && this.#workers.size === 0 && this.#queued === 0) {
      this.#state = "stopped";
      this.#resolveStopped?.();
    }
  }

  /**
   * Stops taking calls, lets queued and running calls finish, then terminates every worker;
   * resolves once all have exited. A pool that never started fails its queued calls with
   * ThreadPoolStoppedError. Idempotent.
   */
  stop(): Promise<void> {
    if (this.#stopped !== null) return this.#stopped;
    if (this.#state === "new") {
      this.#state = "stopped";
      for (let c = this.#nextCall(); c !== null; c = this.#nextCall()) {
        this.#settle(c, new ThreadPoolStoppedError(), false);
      }
      this.#stopped = Promise.resolve();
      return this.#stopped;
    }
    this.#state = "stopping";
    this.#stopped = new Promise<void>((resolve) => {
      this.#resolveStopped = resolve;
    });
    for (const w of this.#idle.splice(0)) this.#retire(w);
    if (this.#workers.size === 0 && this.#queued === 0) {
      this.#state = "stopped";
      this.#resolveStopped?.();
    } else {
      this.#dispatch();
    }
    return this.#stopped;
  }
}

function failed<T>(err: Error): Deferred<T> {
  const d = new Deferred<T>();
  d.errback(err);
  return d;
}

function toSpecifier(path: string): string {
  return /^[a-z][a-z0-9+.-]*:/i.test(path) ? path : new URL(`file://${path}`).href;
}
