/**
 * The SQLite backend: SQLite's drivers block, so, as adbapi runs a DB-API driver in its thread
 * pool, each pooled connection lives in a worker thread of its own (a weft ThreadPool of exactly
 * one thread, so that every statement of a transaction reaches the connection that began it) and
 * the event loop only sends statements and receives rows.
 *
 * The cost, measured in bench/db: every statement is one round trip to the worker (a
 * `postMessage` each way plus the structured clone of the parameters and rows), so
 * `runInteraction` with N statements pays N hops; a transaction that is a single statement
 * (`UPDATE … RETURNING`) pays one. In exchange the loop never waits for the disk or a lock.
 *
 * A worker that crashes fails its call with DbConnectionLostError; the pool discards that
 * connection (an open transaction is rolled back by SQLite when its journal is next read).
 */
import { ThreadPoolStoppedError, WorkerCrashedError } from "../core/threads/errors.js";
import { ThreadPool } from "../core/threads/pool.js";
import { threadTask } from "../core/threads/task.js";
import type { Backend, BackendConnection, SqlValue, StatementResult } from "./backend.js";
import type { SqliteConfig } from "./config.js";
import {
  DbConnectionLostError,
  DbUnavailableError,
  DriverNotInstalledError,
  PoolMisuseError,
  QueryFailedError,
} from "./errors.js";
import type * as Worker from "./sqlite-worker.js";

// From the TypeScript sources (tests, tsx), the worker imports the .ts module after registering
// tsx; from the package, the worker module is its own bundle entry next to this chunk.
const FROM_SOURCE = import.meta.url.endsWith(".ts");
const WORKER_MODULE = new URL(
  FROM_SOURCE ? "./sqlite-worker.ts" : "./db-sqlite-worker.js",
  import.meta.url,
);
const BOOTSTRAP = FROM_SOURCE ? new URL("./tsx-bootstrap.mjs", import.meta.url) : undefined;

const openTask = threadTask<typeof Worker.open>(WORKER_MODULE, "open");
const runTask = threadTask<typeof Worker.run>(WORKER_MODULE, "run");
const closeTask = threadTask<typeof Worker.close>(WORKER_MODULE, "close");

const ERROR_CLASSES = [
  QueryFailedError,
  DbUnavailableError,
  DbConnectionLostError,
  DriverNotInstalledError,
  PoolMisuseError,
];

let nextId = 1;

class SqliteConnection implements BackendConnection {
  readonly #threads: ThreadPool;
  #broken = false;

  constructor(threads: ThreadPool) {
    this.#threads = threads;
  }

  get broken(): boolean {
    return this.#broken;
  }

  run(sql: string, params: readonly SqlValue[]): Promise<StatementResult> {
    if (this.#broken) {
      return Promise.reject(new DbConnectionLostError("This SQLite connection's worker is gone."));
    }
    return this.#threads.run(runTask, [sql, params.slice()]).then(undefined, (err: unknown) => {
      throw this.#classify(err);
    });
  }

  #classify(err: unknown): unknown {
    if (err instanceof QueryFailedError || err instanceof PoolMisuseError) return err;
    if (err instanceof DbConnectionLostError) {
      this.#broken = true;
      return err;
    }
    if (err instanceof WorkerCrashedError || err instanceof ThreadPoolStoppedError) {
      this.#broken = true; // the connection's worker is gone
      return new DbConnectionLostError(`The SQLite connection's worker died: ${err.message}`, {
        cause: err,
      });
    }
    return err;
  }

  async close(): Promise<void> {
    const wasBroken = this.#broken;
    this.#broken = true;
    if (!wasBroken) await this.#threads.run(closeTask, []).then(undefined, () => undefined);
    await this.#threads.stop();
  }
}

/** See the module documentation. */
export class SqliteBackend implements Backend {
  readonly kind = "sqlite";
  readonly #config: SqliteConfig;

  constructor(config: SqliteConfig) {
    this.#config = config;
  }

  async connect(): Promise<BackendConnection> {
    const threads = new ThreadPool({
      name: `weft-sqlite-${nextId++}`,
      minThreads: 1,
      maxThreads: 1,
      errorClasses: ERROR_CLASSES,
      ...(BOOTSTRAP !== undefined ? { bootstrap: BOOTSTRAP } : {}),
    });
    threads.start();
    try {
      await threads.run(openTask, [this.#config.filename, this.#config.busyTimeout ?? 5000]);
    } catch (err) {
      await threads.stop();
      if (err instanceof DbUnavailableError || err instanceof DriverNotInstalledError) throw err;
      const message = err instanceof Error ? err.message : String(err);
      throw new DbUnavailableError(`Cannot open an SQLite connection: ${message}`, { cause: err });
    }
    return new SqliteConnection(threads);
  }
}
