/**
 * The pool survives a PostgreSQL restart: a statement running when the server stops fails with
 * DbConnectionLostError, calls during the outage fail promptly with DbUnavailableError, and once
 * the server is back the pool reconnects by itself. Uses a server of its own (not the shared one).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DatabaseError, DbConnectionLostError, DbUnavailableError } from "../../src/db/errors.js";
import { ConnectionPool } from "../../src/db/pool.js";
import { startTestPostgres, type TestPostgres } from "../helpers/postgres.js";
import { failureOf } from "./helpers.js";

let server: TestPostgres;
beforeAll(() => {
  server = startTestPostgres();
});
afterAll(() => server?.dispose());

describe("ConnectionPool across a PostgreSQL restart", () => {
  it("fails calls with typed errors during the outage and recovers afterwards", async () => {
    const pool = new ConnectionPool({ database: server.url, min: 2, max: 2 });
    try {
      await pool.runOperation("CREATE TABLE counter (n INT)");
      await pool.runOperation("INSERT INTO counter VALUES (1)");
      expect(await pool.runQuery("SELECT n FROM counter")).toEqual([{ n: 1 }]);

      // A statement in flight when the server stops.
      const inFlight = failureOf(pool.runQuery("SELECT pg_sleep(30)"));
      await new Promise((r) => setTimeout(r, 100));
      server.stop();
      const lost = await inFlight;
      expect(lost).toBeInstanceOf(DbConnectionLostError);
      expect((lost as DbConnectionLostError).code).toBe("ERR_DB_CONNECTION_LOST");

      // During the outage: every call fails promptly with a typed error (none hangs). A call
      // that gets the other idle connection before its drop was noticed fails as a lost
      // connection; the pool discards it, and from then on new connections are refused.
      const t0 = Date.now();
      const during: Error[] = [];
      for (let i = 0; i < 5; i++)
        during.push(await failureOf(pool.runQuery("SELECT n FROM counter")));
      expect(Date.now() - t0).toBeLessThan(5000);
      for (const err of during) {
        expect(err).toBeInstanceOf(DatabaseError);
        expect([DbUnavailableError, DbConnectionLostError]).toContain(err.constructor);
      }
      expect(during.at(-1)).toBeInstanceOf(DbUnavailableError);
      expect((during.at(-1) as DbUnavailableError).code).toBe("ERR_DB_UNAVAILABLE");
      expect(pool.stats()).toMatchObject({ busy: 0, waiting: 0 });

      server.start();
      // After the restart: new connections, the data is there, transactions work.
      expect(await pool.runQuery("SELECT n FROM counter")).toEqual([{ n: 1 }]);
      await pool.runInteraction(async (tx) => {
        await tx.execute("UPDATE counter SET n = n + 1");
      });
      const rows = await Promise.all(
        [1, 2, 3, 4].map(() => pool.runQuery("SELECT n FROM counter")),
      );
      for (const r of rows) expect(r).toEqual([{ n: 2 }]);
    } finally {
      await pool.close();
    }
  });
});
