/**
 * Twisted's `adbapi.ConnectionPool`, for PostgreSQL (`pg`) and SQLite (on worker threads): a pool
 * of connections handing back Deferreds.
 *
 * - `runQuery(sql, params)` fires with the rows; `runOperation(sql, params)` with the number of
 *   rows changed; `runInteraction(fn, ...args)` runs `fn(tx, ...args)` in a transaction (BEGIN,
 *   then COMMIT when what `fn` returns succeeds, ROLLBACK when it fails: the Deferred fails with
 *   `fn`'s own error); `runWithConnection(fn, ...args)` lends a connection without a transaction.
 * - Connections are opened on demand up to `max`; `min` are opened when the pool starts (when the
 *   reactor runs, or at once without a reactor) and kept. A call waits (FIFO) while all `max` are
 *   busy. Idle connections are never closed by the pool.
 * - Reconnection (adbapi's `reconnect=True`): a connection that drops is discarded, the call that
 *   was using it fails with DbConnectionLostError, and the next call opens a fresh connection. A
 *   call made while the database is down fails with DbUnavailableError; calls are never retried
 *   behind the caller's back (a statement may have run before the connection dropped).
 * - `close()` refuses new calls, fails the waiting ones with PoolClosedError, lets the running
 *   ones finish, then closes every connection. With a reactor, it runs during the reactor's
 *   shutdown.
 *
 * Differences from adbapi, on purpose: `fn` runs on the event loop, not in a thread, and gets an
 * asynchronous handle whose `query`/`execute` return Deferreds (for SQLite, each statement is one
 * round trip to the connection's worker: see sqlite.ts); `runOperation` fires with the row count
 * instead of None; `runWithConnection` does not commit for you (the connection is in autocommit
 * mode, each statement its own transaction, unless you send BEGIN yourself).
 */
import { Deferred } from "../core/deferred.js";
import type { SystemEventTrigger, TriggerPhase } from "../core/lifecycle.js";
import type { Backend, BackendConnection, Row, SqlValue } from "./backend.js";
import { type DatabaseConfig, parseDatabaseConfig } from "./config.js";
import { PoolClosedError, PoolMisuseError } from "./errors.js";
import { PostgresBackend } from "./postgres.js";
import { SqliteBackend } from "./sqlite.js";

/** What the pool needs from a reactor: start with it, close during its shutdown. */
export interface PoolReactor {
  /** Runs `fn` once the reactor runs. */
  callWhenRunning(fn: () => unknown): unknown;
  /** Adds a shutdown trigger (the pool's `close`). */
  addSystemEventTrigger(phase: TriggerPhase, event: string, fn: () => unknown): SystemEventTrigger;
  /** Removes it when the pool is closed first. */
  removeSystemEventTrigger(trigger: SystemEventTrigger): void;
}

/** Options of a {@link ConnectionPool}. */
export interface ConnectionPoolOptions {
  /**
   * The database: a URL (`postgres://…`, `postgresql://…`, `sqlite:/path/to/file.db`,
   * `sqlite::memory:`) or a {@link DatabaseConfig} object.
   */
  database: string | DatabaseConfig;
  /** Connections opened at start and kept. Default 1. */
  min?: number;
  /** Most connections at once. Default 4; 1 for SQLite `:memory:` (more is refused). */
  max?: number;
  /** Starts the pool when it runs and closes it during its shutdown. Without it the pool starts at once. */
  reactor?: PoolReactor;
}

/**
 * What `runInteraction` and `runWithConnection` hand to their function: one connection's
 * statements, in order. Inside `runInteraction` they run in its transaction. The handle is valid
 * until the function's result settles; a call after that fails with PoolMisuseError.
 */
export interface DbHandle {
  /** Runs a statement and fires with its rows. */
  query<R extends Row = Row>(sql: string, params?: readonly SqlValue[]): Deferred<R[]>;
  /** Runs a statement and fires with the number of rows it changed. */
  execute(sql: string, params?: readonly SqlValue[]): Deferred<number>;
}

/** Counts of a pool's connections and calls. */
export interface PoolStats {
  /** Connections open or opening. */
  size: number;
  /** Connections lent to a call. */
  busy: number;
  /** Connections waiting for a call. */
  idle: number;
  /** Calls waiting for a connection. */
  waiting: number;
}

interface Waiter {
  resolve(conn: BackendConnection): void;
  reject(err: Error): void;
}

class Handle implements DbHandle {
  #conn: BackendConnection | null;
  constructor(conn: BackendConnection) {
    this.#conn = conn;
  }

  query<R extends Row = Row>(sql: string, params: readonly SqlValue[] = []): Deferred<R[]> {
    return Deferred.fromPromise(this.#run(sql, params).then((r) => r.rows as R[]));
  }

  execute(sql: string, params: readonly SqlValue[] = []): Deferred<number> {
    return Deferred.fromPromise(this.#run(sql, params).then((r) => r.rowCount));
  }

  #run(sql: string, params: readonly SqlValue[]) {
    if (this.#conn === null) {
      return Promise.reject(
        new PoolMisuseError(
          "This database handle is no longer valid: its interaction has finished (await every statement inside the function).",
        ),
      );
    }
    return this.#conn.run(sql, params);
  }

  end(): void {
    this.#conn = null;
  }
}

/** See the module documentation. */
export class ConnectionPool {
  /** `"postgres"` or `"sqlite"`. */
  readonly kind: "postgres" | "sqlite";
  /** Connections opened at start and kept. */
  readonly min: number;
  /** Most connections at once. */
  readonly max: number;
  readonly #backend: Backend;
  readonly #idle: BackendConnection[] = [];
  #waiters: Waiter[] = [];
  #size = 0;
  #opening = 0;
  #busy = 0;
  #state: "open" | "closing" | "closed" = "open";
  #closed: Promise<void> | null = null;
  #drained: (() => void) | null = null;
  #trigger: SystemEventTrigger | null = null;
  readonly #closing = new Set<Promise<void>>();
  readonly #reactor: PoolReactor | null;

  constructor(options: ConnectionPoolOptions) {
    const config = parseDatabaseConfig(options.database);
    const memory = config.kind === "sqlite" && config.filename === ":memory:";
    this.min = options.min ?? 1;
    this.max = options.max ?? (memory ? 1 : 4);
    if (
      !Number.isInteger(this.min) ||
      !Number.isInteger(this.max) ||
      this.min < 0 ||
      this.max < 1 ||
      this.min > this.max
    ) {
      throw new PoolMisuseError(
        `Invalid pool size min=${this.min} max=${this.max}: integers with 0 <= min <= max and max >= 1 expected.`,
      );
    }
    if (memory && this.max > 1) {
      throw new PoolMisuseError(
        `An SQLite :memory: database lives in one connection: a pool of max=${this.max} would be ${this.max} separate, empty databases. Use max: 1, or a file.`,
      );
    }
    this.kind = config.kind;
    this.#backend =
      config.kind === "sqlite" ? new SqliteBackend(config) : new PostgresBackend(config);
    this.#reactor = options.reactor ?? null;
    if (this.#reactor !== null) {
      this.#reactor.callWhenRunning(() => this.start());
      this.#trigger = this.#reactor.addSystemEventTrigger("during", "shutdown", () => this.close());
    } else {
      this.start();
    }
  }

  /**
   * Opens connections up to `min` (errors are not reported here: the first call that needs a
   * connection reports them). Called for you; idempotent.
   */
  start(): void {
    while (this.#state === "open" && this.#size < this.min) this.#open();
  }

  /** Counts of connections and waiting calls. */
  stats(): PoolStats {
    return {
      size: this.#size,
      busy: this.#busy,
      idle: this.#idle.length,
      waiting: this.#waiters.length,
    };
  }

  /** Runs one statement and fires with its rows (adbapi's `runQuery`). */
  runQuery<R extends Row = Row>(sql: string, params: readonly SqlValue[] = []): Deferred<R[]> {
    return Deferred.fromPromise(
      this.#withConnection(async (conn) => (await conn.run(sql, params)).rows as R[]),
    );
  }

  /** Runs one statement and fires with the number of rows it changed (adbapi's `runOperation`). */
  runOperation(sql: string, params: readonly SqlValue[] = []): Deferred<number> {
    return Deferred.fromPromise(
      this.#withConnection(async (conn) => (await conn.run(sql, params)).rowCount),
    );
  }

  /**
   * Runs `fn(tx, ...args)` in a transaction (adbapi's `runInteraction`): COMMIT once what it
   * returns has succeeded, ROLLBACK when it throws or rejects, and then the Deferred fails with
   * that same error (a statement's QueryFailedError carries the database's code).
   */
  runInteraction<A extends unknown[], R>(
    fn: (tx: DbHandle, ...args: A) => R | PromiseLike<R>,
    ...args: A
  ): Deferred<Awaited<R>> {
    return Deferred.fromPromise(
      this.#withConnection(async (conn): Promise<Awaited<R>> => {
        await conn.run(this.#backend.kind === "sqlite" ? "BEGIN IMMEDIATE" : "BEGIN", []);
        const handle = new Handle(conn);
        let result: Awaited<R>;
        try {
          result = await fn(handle, ...args);
        } catch (err) {
          handle.end();
          if (!conn.broken) {
            // A failing ROLLBACK means the connection is gone: the backend has marked it broken,
            // and the caller still gets fn's error, which is what went wrong first.
            await conn.run("ROLLBACK", []).catch(() => undefined);
          }
          throw err;
        }
        handle.end();
        await conn.run("COMMIT", []);
        return result;
      }),
    );
  }

  /**
   * Lends a connection to `fn(conn, ...args)` (adbapi's `runWithConnection`), without a
   * transaction: each statement commits by itself unless `fn` sends BEGIN and COMMIT. If `fn`
   * fails inside a transaction it opened, the connection is rolled back before it is reused.
   */
  runWithConnection<A extends unknown[], R>(
    fn: (conn: DbHandle, ...args: A) => R | PromiseLike<R>,
    ...args: A
  ): Deferred<Awaited<R>> {
    return Deferred.fromPromise(
      this.#withConnection(async (conn): Promise<Awaited<R>> => {
        const handle = new Handle(conn);
        try {
          return await fn(handle, ...args);
        } catch (err) {
          if (!conn.broken) await conn.run("ROLLBACK", []).catch(() => undefined);
          throw err;
        } finally {
          handle.end();
        }
      }),
    );
  }

  /**
   * Refuses new calls, fails the waiting ones with PoolClosedError, lets running ones finish, then
   * closes every connection. Idempotent; runs during the reactor's shutdown when there is one.
   */
  close(): Promise<void> {
    if (this.#closed !== null) return this.#closed;
    this.#state = "closing";
    if (this.#trigger !== null) {
      this.#reactor?.removeSystemEventTrigger(this.#trigger);
      this.#trigger = null;
    }
    for (const w of this.#waiters.splice(0)) w.reject(new PoolClosedError());
    this.#closed = new Promise<void>((resolve) => {
      this.#drained = resolve;
      this.#maybeDrained();
    }).then(async () => {
      for (const c of this.#idle.splice(0)) this.#discard(c);
      // Connections discarded earlier (dropped, or opened while closing) are closed too.
      await Promise.all(this.#closing);
      this.#size = 0;
      this.#state = "closed";
    });
    return this.#closed;
  }

  async #withConnection<T>(fn: (conn: BackendConnection) => Promise<T>): Promise<T> {
    const conn = await this.#acquire();
    try {
      return await fn(conn);
    } finally {
      this.#release(conn);
    }
  }

  #acquire(): Promise<BackendConnection> {
    if (this.#state !== "open") return Promise.reject(new PoolClosedError());
    for (let c = this.#idle.pop(); c !== undefined; c = this.#idle.pop()) {
      if (!c.broken) {
        this.#busy++;
        return Promise.resolve(c);
      }
      this.#discard(c); // dropped while idle (a server restart): never lent out
    }
    return new Promise<BackendConnection>((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      this.#grow();
    });
  }

  /** Opens connections for the waiting calls, up to `max`. */
  #grow(): void {
    while (this.#size < this.max && this.#opening < this.#waiters.length) {
      this.#open();
    }
  }

  /**
   * Opens one connection. When it fails, the oldest waiting call fails with the error (each
   * waiting call gets its own attempt: during an outage every call fails promptly, none hangs).
   */
  #open(): void {
    this.#size++;
    this.#opening++;
    this.#backend.connect().then(
      (conn) => {
        this.#opening--;
        this.#hand(conn);
        this.#maybeDrained();
      },
      (err: unknown) => {
        this.#opening--;
        this.#size--;
        const w = this.#waiters.shift();
        if (w !== undefined) {
          w.reject(err instanceof Error ? err : new Error(String(err)));
          this.#grow();
        }
        this.#maybeDrained();
      },
    );
  }

  /** A connection is free: to the oldest waiting call, else idle; closed once the pool is closing. */
  #hand(conn: BackendConnection): void {
    if (conn.broken) {
      this.#discard(conn);
      this.#grow();
      return;
    }
    if (this.#state !== "open") {
      this.#discard(conn);
      return;
    }
    const w = this.#waiters.shift();
    if (w !== undefined) {
      this.#busy++;
      w.resolve(conn);
    } else {
      this.#idle.push(conn);
    }
  }

  #release(conn: BackendConnection): void {
    this.#busy--;
    this.#hand(conn);
    this.#maybeDrained();
  }

  #discard(conn: BackendConnection): void {
    this.#size--;
    const closing = conn.close();
    this.#closing.add(closing);
    void closing.then(() => this.#closing.delete(closing));
  }

  #maybeDrained(): void {
    if (this.#state !== "open" && this.#busy === 0 && this.#opening === 0) {
      this.#drained?.();
      this.#drained = null;
    }
  }
}
