/**
 * The Fibonacci service's state in a database, through a `weft/db` ConnectionPool: processes and
 * hosts sharing one PostgreSQL (or processes of one host sharing one SQLite file) hand out
 * distinct numbers.
 *
 * Reserved blocks, not a transaction per number: the service claims `count` positions at a time
 * and hands them out from memory, and one claim is one statement,
 * `UPDATE weft_fibonacci SET next = next + $1 WHERE name = $2 RETURNING next - $1 AS first`, which
 * the database runs atomically (the row lock serializes concurrent claims; no explicit transaction,
 * one round trip). A transaction per number would cost a round trip and a commit per number and
 * make every process wait on the one row lock for every number; with blocks the database sees
 * numbers/count claims. The price: a process that stops or dies leaves the rest of its block
 * unused (a gap of at most `count` positions per process), which the contract allows.
 *
 * The table holds one row per sequence `name` (default `"default"`), created on first use.
 */

import { InvalidArgumentError } from "../../core/errors.js";
import { QueryFailedError } from "../../db/errors.js";
import { ConnectionPool, type ConnectionPoolOptions } from "../../db/pool.js";
import type { FibonacciStore } from "./store.js";

/** Options of {@link PoolFibonacciStore}. */
export interface PoolFibonacciStoreOptions {
  /** The database URL (`postgres://…`, `sqlite:/path`) or pool options. */
  database: string | ConnectionPoolOptions;
  /** The sequence's name: stores with different names share a database independently. Default "default". */
  name?: string;
}

// PostgreSQL's race on concurrent CREATE TABLE IF NOT EXISTS: the loser may see one of these.
const ALREADY_CREATED = new Set(["23505", "42P07"]);

/** See the module documentation. */
export class PoolFibonacciStore implements FibonacciStore {
  readonly #pool: ConnectionPool;
  readonly #name: string;
  #ready: Promise<void> | null = null;
  #closed = false;

  constructor(options: PoolFibonacciStoreOptions) {
    const db = options.database;
    this.#pool = new ConnectionPool(typeof db === "string" ? { database: db, min: 1, max: 2 } : db);
    this.#name = options.name ?? "default";
  }

  /**
   * A store whose table and row are ready: fails (and closes its pool) when the database cannot be
   * reached, so a server configured with a database store refuses to start rather than fail each
   * request.
   */
  static async open(options: PoolFibonacciStoreOptions): Promise<PoolFibonacciStore> {
    const store = new PoolFibonacciStore(options);
    try {
      await store.#ensureTable();
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  /** The pool it claims through (its `kind` says which database). */
  get pool(): ConnectionPool {
    return this.#pool;
  }

  #p(n: number): string {
    return this.#pool.kind === "postgres" ? `$${n}` : "?";
  }

  #ensureTable(): Promise<void> {
    this.#ready ??= (async () => {
      try {
        await this.#pool.runOperation(
          "CREATE TABLE IF NOT EXISTS weft_fibonacci (name TEXT PRIMARY KEY, next BIGINT NOT NULL)",
        );
      } catch (err) {
        if (!(err instanceof QueryFailedError && ALREADY_CREATED.has(err.dbCode))) throw err;
      }
      await this.#pool.runOperation(
        `INSERT INTO weft_fibonacci (name, next) VALUES (${this.#p(1)}, 0) ON CONFLICT (name) DO NOTHING`,
        [this.#name],
      );
    })().catch((err: unknown) => {
      this.#ready = null; // the next claim tries again (the database may be back)
      throw err;
    });
    return this.#ready;
  }

  async claim(count: number): Promise<bigint> {
    if (!Number.isSafeInteger(count) || count < 1) {
      throw new InvalidArgumentError(`claim(count): a positive integer expected, got ${count}.`);
    }
    await this.#ensureTable();
    const rows = await this.#pool.runQuery<{ first: unknown }>(
      this.#pool.kind === "postgres"
        ? "UPDATE weft_fibonacci SET next = next + $1 WHERE name = $2 RETURNING next - $1 AS first"
        : "UPDATE weft_fibonacci SET next = next + ? WHERE name = ? RETURNING next - ? AS first",
      this.#pool.kind === "postgres" ? [count, this.#name] : [count, this.#name, count],
    );
    const first = rows[0]?.first;
    if (typeof first !== "string" && typeof first !== "number" && typeof first !== "bigint") {
      throw new QueryFailedError(
        `The Fibonacci row ${JSON.stringify(this.#name)} is missing from weft_fibonacci.`,
        "NO_ROW",
      );
    }
    return BigInt(first);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.close();
  }
}
