/**
 * ConnectionPool on a real PostgreSQL (started by the vitest global setup): queries, transactions
 * that commit and roll back with the database's own error, pool sizes, close and the reactor's
 * shutdown, typed errors for every failure kind.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createReactor } from "../../src/core/reactor.js";
import { loadDriver } from "../../src/db/driver.js";
import {
  DatabaseError,
  DbUnavailableError,
  DriverNotInstalledError,
  PoolClosedError,
  PoolMisuseError,
  QueryFailedError,
} from "../../src/db/errors.js";
import { ConnectionPool, type ConnectionPoolOptions, type DbHandle } from "../../src/db/pool.js";
import { failureOf, testPostgres, uniqueTable } from "./helpers.js";

const pools: ConnectionPool[] = [];
function makePool(options: Partial<ConnectionPoolOptions> = {}): ConnectionPool {
  const pool = new ConnectionPool({ database: testPostgres().url, ...options });
  pools.push(pool);
  return pool;
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

describe("ConnectionPool on PostgreSQL", () => {
  it("runs queries and operations with positional parameters", async () => {
    const pool = makePool();
    const t = uniqueTable("q");
    await pool.runOperation(`CREATE TABLE ${t} (id INT PRIMARY KEY, name TEXT, ok BOOLEAN)`);
    expect(
      await pool.runOperation(`INSERT INTO ${t} VALUES ($1, $2, $3), ($4, $5, $6)`, [
        1,
        "one",
        true,
        2,
        "two",
        false,
      ]),
    ).toBe(2);
    const rows = await pool.runQuery<{ id: number; name: string; ok: boolean }>(
      `SELECT id, name, ok FROM ${t} WHERE id >= $1 ORDER BY id`,
      [1],
    );
    expect(rows).toEqual([
      { id: 1, name: "one", ok: true },
      { id: 2, name: "two", ok: false },
    ]);
    expect(await pool.runOperation(`DELETE FROM ${t} WHERE id = $1`, [2])).toBe(1);
  });

  it("commits an interaction and hands back what the function returned", async () => {
    const pool = makePool();
    const t = uniqueTable("tx");
    await pool.runOperation(`CREATE TABLE ${t} (id INT PRIMARY KEY)`);
    const result = await pool.runInteraction(
      async (tx: DbHandle, a: number, b: number) => {
        await tx.execute(`INSERT INTO ${t} VALUES ($1), ($2)`, [a, b]);
        const [row] = await tx.query<{ n: string }>(`SELECT count(*) AS n FROM ${t}`);
        return Number(row?.n);
      },
      1,
      2,
    );
    expect(result).toBe(2);
    expect(await pool.runQuery(`SELECT id FROM ${t} ORDER BY id`)).toEqual([{ id: 1 }, { id: 2 }]);
  });

  it("rolls an interaction back on error; the failure is the database's error, with its SQLSTATE", async () => {
    const pool = makePool();
    const t = uniqueTable("rb");
    await pool.runOperation(`CREATE TABLE ${t} (id INT PRIMARY KEY)`);
    await pool.runOperation(`INSERT INTO ${t} VALUES (1)`);
    const err = await failureOf(
      pool.runInteraction(async (tx) => {
        await tx.execute(`INSERT INTO ${t} VALUES (2)`);
        await tx.execute(`INSERT INTO ${t} VALUES (1)`); // duplicate key
      }),
    );
    expect(err).toBeInstanceOf(QueryFailedError);
    expect(err).toBeInstanceOf(DatabaseError);
    expect((err as QueryFailedError).code).toBe("ERR_DB_QUERY_FAILED");
    expect((err as QueryFailedError).dbCode).toBe("23505"); // unique_violation
    expect(err.message).toMatch(/duplicate key/);
    expect((err.cause as { code?: string }).code).toBe("23505");
    // Row 2 was rolled back with the failed transaction; the connection is reusable at once.
    expect(await pool.runQuery(`SELECT id FROM ${t} ORDER BY id`)).toEqual([{ id: 1 }]);
  });

  it("rolls back when the function throws, and fails with that very error", async () => {
    const pool = makePool({ max: 1 });
    const t = uniqueTable("th");
    await pool.runOperation(`CREATE TABLE ${t} (id INT)`);
    const mine = new RangeError("changed my mind");
    const err = await failureOf(
      pool.runInteraction(async (tx) => {
        await tx.execute(`INSERT INTO ${t} VALUES (7)`);
        throw mine;
      }),
    );
    expect(err).toBe(mine);
    expect(await pool.runQuery(`SELECT * FROM ${t}`)).toEqual([]);
    // The one connection is out of the transaction: this commits by itself.
    await pool.runOperation(`INSERT INTO ${t} VALUES (8)`);
    expect(await pool.runQuery(`SELECT * FROM ${t}`)).toEqual([{ id: 8 }]);
  });

  it("refuses a handle used after its interaction ended", async () => {
    const pool = makePool();
    let leaked: DbHandle | null = null;
    await pool.runInteraction((tx) => {
      leaked = tx;
    });
    const err = await failureOf((leaked as unknown as DbHandle).query("SELECT 1"));
    expect(err).toBeInstanceOf(PoolMisuseError);
  });

  it("runWithConnection lends one connection without a transaction", async () => {
    const pool = makePool();
    const pids = await pool.runWithConnection(async (conn) => {
      const a = await conn.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
      const b = await conn.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
      const [tx] = await conn.query<{ s: string }>(
        "SELECT current_setting('transaction_isolation') AS s",
      );
      return [a[0]?.pid, b[0]?.pid, tx?.s];
    });
    expect(pids[0]).toBe(pids[1]);
  });

  it("opens min connections at start and never more than max", async () => {
    const pool = makePool({ min: 2, max: 3 });
    for (let i = 0; i < 500 && pool.stats().idle < 2; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(pool.stats()).toMatchObject({ size: 2, idle: 2, busy: 0 });
    let peak = 0;
    const pids = new Set<number>();
    await Promise.all(
      Array.from({ length: 12 }, () =>
        pool.runInteraction(async (tx) => {
          peak = Math.max(peak, pool.stats().busy);
          const [row] = await tx.query<{ pid: number }>(
            "SELECT pg_backend_pid() AS pid, pg_sleep(0.01)",
          );
          pids.add(row?.pid ?? 0);
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(pids.size).toBe(3);
    expect(pool.stats()).toMatchObject({ size: 3, busy: 0, waiting: 0 });
  });

  it("close() fails waiting calls, lets the running one finish, then refuses calls", async () => {
    const pool = makePool({ max: 1 });
    const running = pool.runQuery<{ v: number }>("SELECT 1 AS v, pg_sleep(0.2)");
    for (let i = 0; i < 400 && pool.stats().busy < 1; i++)
      await new Promise((r) => setTimeout(r, 5));
    const waiting = pool.runQuery("SELECT 2");
    expect(pool.stats()).toMatchObject({ busy: 1, waiting: 1 });
    const closed = pool.close();
    expect(await failureOf(waiting)).toBeInstanceOf(PoolClosedError);
    expect((await running)[0]?.v).toBe(1);
    await closed;
    const err = await failureOf(pool.runQuery("SELECT 3"));
    expect(err).toBeInstanceOf(PoolClosedError);
    expect((err as PoolClosedError).code).toBe("ERR_DB_POOL_CLOSED");
    expect(pool.stats().size).toBe(0);
  });

  it("closes during the reactor's shutdown", async () => {
    const reactor = createReactor();
    const pool = new ConnectionPool({ database: testPostgres().url, reactor });
    expect(await pool.runQuery("SELECT 1 AS one")).toEqual([{ one: 1 }]);
    await reactor.stop();
    expect(pool.stats().size).toBe(0);
    expect(await failureOf(pool.runQuery("SELECT 1"))).toBeInstanceOf(PoolClosedError);
  });

  it("fails with DbUnavailableError when the server cannot be reached", async () => {
    const pool = makePool({
      database: { kind: "postgres", host: "/nonexistent-weft-socket-dir", user: "weft" },
      min: 0,
    });
    const errs = await Promise.all([1, 2, 3].map(() => failureOf(pool.runQuery("SELECT 1"))));
    for (const err of errs) {
      expect(err).toBeInstanceOf(DbUnavailableError);
      expect((err as DbUnavailableError).code).toBe("ERR_DB_UNAVAILABLE");
    }
    expect(pool.stats()).toMatchObject({ size: 0, waiting: 0 });
  });

  it("refuses bad URLs and sizes with PoolMisuseError", () => {
    expect(() => new ConnectionPool({ database: "mysql://x" })).toThrow(PoolMisuseError);
    expect(() => makePool({ min: 3, max: 2 })).toThrow(PoolMisuseError);
  });

  it("a driver that is not installed fails with DriverNotInstalledError naming it", async () => {
    const err = await failureOf(loadDriver("weft-no-such-driver"));
    expect(err).toBeInstanceOf(DriverNotInstalledError);
    expect((err as DriverNotInstalledError).driver).toBe("weft-no-such-driver");
    expect(err.message).toContain("npm install weft-no-such-driver");
  });
});
