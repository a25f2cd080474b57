import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { NonErrorFailure } from "../../src/core/deferred.js";
import { CancelledError, InvalidArgumentError } from "../../src/core/errors.js";
import { createReactor } from "../../src/core/reactor.js";
import { deferToThread, deferToThreadPool } from "../../src/core/threads/defer.js";
import {
  TaskNotFoundError,
  ThreadPoolFullError,
  ThreadPoolStoppedError,
  WorkerCrashedError,
  WorkerStartError,
} from "../../src/core/threads/errors.js";
import { callFromThread } from "../../src/core/threads/in-worker.js";
import { ThreadPool, type ThreadPoolOptions } from "../../src/core/threads/pool.js";
import { threadTask } from "../../src/core/threads/task.js";
import type * as Tasks from "./fixtures/thread-tasks.mjs";
import { TaskError } from "./fixtures/thread-tasks.mjs";
import type * as TsTasks from "./fixtures/thread-tasks.ts";

const BOOTSTRAP = new URL("./fixtures/tsx-bootstrap.mjs", import.meta.url);
const TASKS = new URL("./fixtures/thread-tasks.mjs", import.meta.url);
const TS_TASKS = new URL("./fixtures/thread-tasks.ts", import.meta.url);
const task = <K extends keyof typeof Tasks>(name: K) =>
  threadTask<(typeof Tasks)[K] extends (...a: never[]) => unknown ? (typeof Tasks)[K] : never>(
    TASKS,
    name,
  );
const add = task("add");
const spin = task("spin");
const count = task("count");
const fail = task("fail");
const whoAmI = task("whoAmI");

const baseline = ThreadPool.liveWorkers;
const pools: ThreadPool[] = [];
function makePool(options: ThreadPoolOptions = {}): ThreadPool {
  const pool = new ThreadPool({ maxThreads: 2, ...options });
  pools.push(pool);
  return pool;
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.stop()));
  // The pool never leaks workers: every one it started has exited.
  expect(ThreadPool.liveWorkers).toBe(baseline);
});

async function failureOf(p: PromiseLike<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a failure");
}

describe("ThreadPool", () => {
  it("runs 10,000 calls across its workers", async () => {
    const pool = makePool();
    pool.start();
    const results = await Promise.all(
      Array.from({ length: 10_000 }, (_, i) => pool.run(add, [i, 1])),
    );
    expect(results.every((r, i) => r === i + 1)).toBe(true);
    expect(pool.stats()).toMatchObject({ workers: 2, queued: 0 });
  });

  it("waits for start(); calls made before it run then", async () => {
    const pool = makePool();
    const d = pool.run(add, [2, 3]);
    expect(d.called).toBe(false);
    expect(pool.stats().queued).toBe(1);
    pool.start();
    expect(await d).toBe(5);
  });

  it("preserves errors: class, message, code, properties, cause and the worker's stack", async () => {
    const pool = makePool({ errorClasses: [TaskError] });
    pool.start();
    const typeErr = await failureOf(pool.run(fail, ["type"]));
    expect(typeErr).toBeInstanceOf(TypeError);
    expect(typeErr.message).toBe("not a number");
    expect(typeErr.stack).toContain("thread-tasks.mjs");

    const taskErr = await failureOf(pool.run(fail, ["task"]));
    expect(taskErr).toBeInstanceOf(TaskError);
    expect(taskErr).toMatchObject({ name: "TaskError", code: "E_TASK", detail: { n: 42 } });
    expect(taskErr.stack).toContain("TaskError: task failed");

    const withCause = await failureOf(pool.run(fail, ["cause"]));
    expect(withCause.cause).toBeInstanceOf(RangeError);
    expect((withCause.cause as Error).message).toBe("inner");

    const nonError = await failureOf(pool.run(fail, ["string"]));
    expect(nonError).toBeInstanceOf(NonErrorFailure);
    expect((nonError as NonErrorFailure).value).toBe("just a string");

    const missing = await failureOf(pool.run(threadTask(TASKS, "nothing"), []));
    expect(missing).toBeInstanceOf(TaskNotFoundError);
  });

  it("an error class the main thread does not know arrives as an Error with its name", async () => {
    const pool = makePool(); // TaskError not listed
    pool.start();
    const err = await failureOf(pool.run(fail, ["task"]));
    expect(err.constructor).toBe(Error);
    expect(err).toMatchObject({ name: "TaskError", code: "E_TASK", message: "task failed" });
  });

  it("cancels queued calls (Deferred.cancel and AbortSignal); they never run", async () => {
    const pool = makePool({ maxThreads: 1 });
    pool.start();
    const busy = pool.run(spin, [150]);
    const cancelled = pool.run(count, []);
    const ac = new AbortController();
    const aborted = pool.run(count, [], { signal: ac.signal });
    expect(pool.stats().queued).toBe(2);
    cancelled.cancel();
    ac.abort();
    expect(pool.stats().queued).toBe(0);
    expect(await failureOf(cancelled)).toBeInstanceOf(CancelledError);
    expect(await failureOf(aborted)).toBeInstanceOf(CancelledError);
    await busy;
    expect(await pool.run(count, [])).toBe(1); // the cancelled calls did not run
    const pre = new AbortController();
    pre.abort();
    expect(await failureOf(pool.run(count, [], { signal: pre.signal }))).toBeInstanceOf(
      CancelledError,
    );
  });

  it("refuses calls beyond maxQueue with a clear error", async () => {
    const pool = makePool({ maxThreads: 1, maxQueue: 2 });
    pool.start();
    const running = pool.run(spin, [50]);
    const q1 = pool.run(add, [1, 1]);
    const q2 = pool.run(add, [1, 2]);
    const refused = await failureOf(pool.run(add, [1, 3]));
    expect(refused).toBeInstanceOf(ThreadPoolFullError);
    expect(refused.message).toContain("maxQueue 2");
    expect(await Promise.all([running.then(() => 0), q1, q2])).toEqual([0, 2, 3]);
  });

  it("replaces a crashed worker and fails only its call", async () => {
    const pool = makePool({ maxThreads: 1 });
    pool.start();
    const before = await pool.run(whoAmI, []);
    const queued = pool.run(add, [20, 22]);
    const crashed = await failureOf(pool.run(task("crash"), [7]));
    expect(crashed).toBeInstanceOf(WorkerCrashedError);
    expect((crashed as WorkerCrashedError).exitCode).toBe(7);
    expect(await queued).toBe(42);
    const after = await pool.run(whoAmI, []);
    expect(after).not.toBe(before);
    const uncaught = await failureOf(pool.run(task("crashLater"), []));
    expect(uncaught).toBeInstanceOf(WorkerCrashedError);
    expect(uncaught.message).toContain("uncaught in worker");
    expect(await pool.run(add, [1, 1])).toBe(2);
  });

  it("fails a call whose arguments or result cannot cross threads, and goes on", async () => {
    const pool = makePool({ maxThreads: 1 });
    pool.start();
    const badArgs = await failureOf(pool.run(threadTask(TASKS, "add"), [() => 1, 2]));
    expect(badArgs.name).toBe("DataCloneError");
    const badResult = await failureOf(pool.run(task("returnsFunction"), []));
    expect(badResult.name).toBe("DataCloneError");
    expect(await pool.run(add, [1, 2])).toBe(3);
  });

  it("a failing bootstrap fails the calls with WorkerStartError", async () => {
    const pool = makePool({
      bootstrap: new URL("./fixtures/no-such-bootstrap.mjs", import.meta.url),
    });
    pool.start();
    const [a, b] = await Promise.all([
      failureOf(pool.run(add, [1, 1])),
      failureOf(pool.run(add, [1, 2])),
    ]);
    expect(a).toBeInstanceOf(WorkerStartError);
    expect(b).toBeInstanceOf(WorkerStartError);
  });

  it("stop() lets queued calls finish, then refuses new ones", async () => {
    const pool = makePool({ maxThreads: 1 });
    pool.start();
    const calls = [pool.run(spin, [20]), pool.run(add, [1, 2]), pool.run(add, [3, 4])];
    const stopped = pool.stop();
    expect(await failureOf(pool.run(add, [0, 0]))).toBeInstanceOf(ThreadPoolStoppedError);
    const results = await Promise.all(calls);
    expect(results.slice(1)).toEqual([3, 7]);
    await stopped;
    expect(pool.stats().workers).toBe(0);
  });

  it("retires idle workers above minThreads after idleTimeout", async () => {
    const pool = makePool({ minThreads: 1, maxThreads: 2, idleTimeout: 0.05 });
    pool.start();
    const calls = Promise.all([pool.run(spin, [30]), pool.run(spin, [30])]);
    expect(pool.stats()).toMatchObject({ workers: 2, busy: 2 });
    await calls;
    await new Promise((r) => setTimeout(r, 300));
    expect(pool.stats()).toMatchObject({ workers: 1, idle: 1 });
  });

  it("runs TypeScript tasks through a bootstrap; weft errors and callFromThread work", async () => {
    const pool = makePool({ bootstrap: BOOTSTRAP, maxThreads: 1 });
    const seen: Array<[number, number]> = [];
    pool.handle("progress", (i: number, n: number) => seen.push([i, n]));
    pool.start();
    expect(await pool.run(threadTask<typeof TsTasks.double>(TS_TASKS, "double"), [21])).toBe(42);
    const weftErr = await failureOf(pool.run(threadTask(TS_TASKS, "failWeft"), []));
    expect(weftErr).toBeInstanceOf(InvalidArgumentError);
    expect(weftErr).toMatchObject({ code: "ERR_INVALID_ARGUMENT", message: "bad argument" });
    expect(weftErr.stack).toContain("thread-tasks.ts");
    const progress = threadTask<typeof TsTasks.withProgress>(TS_TASKS, "withProgress");
    expect(await pool.run(progress, [3])).toBe(3);
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([
      [1, 3],
      [2, 3],
      [3, 3],
    ]);
    expect(() => callFromThread("progress", 1)).toThrow(InvalidArgumentError);
  });

  it("rejects impossible sizes", () => {
    expect(() => new ThreadPool({ minThreads: 3, maxThreads: 2 })).toThrow(InvalidArgumentError);
    expect(() => new ThreadPool({ maxThreads: 0 })).toThrow(InvalidArgumentError);
  });
});

describe("the reactor's thread pool", () => {
  it("deferToThread runs on the reactor's pool, started when running, stopped at shutdown", async () => {
    const reactor = createReactor({ threadPool: { maxThreads: 2 } });
    const d = deferToThread(reactor, add, 40, 2);
    expect(reactor.getThreadPool().started).toBe(false);
    expect(await d).toBe(42);
    expect(reactor.getThreadPool().started).toBe(true);
    const own = makePool();
    own.start();
    expect(await deferToThreadPool(reactor, own, add, 1, 1)).toBe(2);
    const seen: number[] = [];
    reactor.callFromThread((x: number) => seen.push(x), 5);
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([5]);
    await reactor.stop();
    expect(reactor.getThreadPool().stats().workers).toBe(0);
  });

  it("idle workers do not keep a process alive", async () => {
    const script = join(tmpdir(), `weft-threads-exit-${process.pid}.mts`);
    const pool = fileURLToPath(new URL("../../src/core/threads/pool.ts", import.meta.url));
    const tasks = fileURLToPath(TASKS);
    writeFileSync(
      script,
      [
        `import { ThreadPool } from ${JSON.stringify(pool)};`,
        `import { threadTask } from ${JSON.stringify(pool.replace("pool.ts", "task.ts"))};`,
        "const p = new ThreadPool({ minThreads: 1 });",
        "p.start();",
        `console.log(await p.run(threadTask(${JSON.stringify(tasks)}, "add"), [1, 2]));`,
      ].join("\n"),
    );
    const started = Date.now();
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ["--import", "tsx", script], { timeout: 15_000 }, (err, stdout) =>
        err ? reject(err) : resolve(stdout),
      );
    });
    expect(out.trim()).toBe("3");
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});

describe("the thread pool of a stopped reactor", () => {
  it("refuses calls instead of queueing them forever", async () => {
    const reactor = createReactor();
    await reactor.stop();
    await expect(deferToThread(reactor, add, 1, 2)).rejects.toBeInstanceOf(ThreadPoolStoppedError);
  });
});
