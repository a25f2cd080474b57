/**
 * Database pool benchmark (`node --import tsx bench/db/run.ts`, part of `npm run bench`).
 *
 * In the same run, weft's ConnectionPool against the bare driver:
 * - PostgreSQL (a throwaway server on a Unix socket, as the tests start it): `pool.runQuery` vs
 *   `pg.Client#query`. Round trips/s of a one-row primary-key SELECT with 1 call in flight (one
 *   connection each) and with 16 in flight (pool max 4 vs `pg.Pool` max 4); rows/s of
 *   a 1,000-row SELECT.
 * - SQLite (a WAL file): `pool.runQuery` (each statement a round trip to the connection's worker
 *   thread) vs better-sqlite3 called directly on the main thread (prepared statement, no hop, but
 *   blocking the loop). The ratio is the cost of the thread hop.
 * Median of BENCH_SAMPLES (default 5) runs of N calls (BENCH_SCALE scales N).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConnectionPool } from "../../src/db/pool.js";
import { startTestPostgres } from "../../test/helpers/postgres.js";

const SAMPLES = Math.max(1, Number(process.env["BENCH_SAMPLES"] ?? 5) || 5);
const SCALE = Number(process.env["BENCH_SCALE"] ?? 1) || 1;
const N = Math.max(500, Math.round(5_000 * SCALE));
const SCANS = Math.max(5, Math.round(50 * SCALE));
const TABLE_ROWS = 1_000;

type Call = (i: number) => PromiseLike<unknown>;

/**
 * Calls per second of `weft` and of `bare`: `count` calls, `inFlight` at a time; their samples
 * alternate (weft, bare, weft, …) so that a slow spell of the shared machine hits both; median of
 * SAMPLES runs each.
 */
async function measure(
  weft: Call,
  bare: Call,
  inFlight: number,
  count: number,
): Promise<[number, number]> {
  const run = async (call: Call): Promise<number> => {
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < count) await call(next++);
    };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: inFlight }, lane));
    return performance.now() - t0;
  };
  await run(weft); // warm-up
  await run(bare);
  const times: [number[], number[]] = [[], []];
  for (let s = 0; s < SAMPLES; s++) {
    times[0].push(await run(weft));
    times[1].push(await run(bare));
  }
  const rate = (t: number[]): number => {
    t.sort((a, b) => a - b);
    return (count / (t[Math.floor(t.length / 2)] as number)) * 1000;
  };
  return [rate(times[0]), rate(times[1])];
}

const require = createRequire(import.meta.url);

interface PgClient {
  connect(): Promise<void>;
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
  end(): Promise<void>;
}
const pg = require("pg") as {
  Client: new (config: Record<string, unknown>) => PgClient;
  Pool: new (config: Record<string, unknown>) => PgClient;
};

interface BetterStatement {
  all(...params: unknown[]): unknown[];
}
interface BetterDatabase {
  prepare(sql: string): BetterStatement;
  pragma(source: string): unknown;
  exec(sql: string): void;
  close(): void;
}
const Better = require("better-sqlite3") as new (filename: string) => BetterDatabase;

const k = (x: number): string =>
  x >= 100_000 ? `${Math.round(x / 1000)} k/s` : `${(x / 1000).toFixed(1)} k/s`;
const table: string[][] = [["backend", "measure", "weft pool", "bare driver", "weft/bare"]];
const row = (backend: string, what: string, [w, b]: [number, number], perCall = 1): void => {
  table.push([backend, what, k(w * perCall), k(b * perCall), (w / b).toFixed(2)]);
};

// ---- PostgreSQL ---------------------------------------------------------------------------------
const server = startTestPostgres();
try {
  const setup = new pg.Client({ host: server.dir, user: server.user, database: "postgres" });
  await setup.connect();
  await setup.query("CREATE TABLE bench (id INT PRIMARY KEY, name TEXT, n INT)");
  await setup.query(
    `INSERT INTO bench SELECT i, 'name' || i, i * 2 FROM generate_series(0, ${TABLE_ROWS - 1}) AS i`,
  );
  await setup.end();

  const c0 = new pg.Client({ host: server.dir, user: server.user, database: "postgres" });
  await c0.connect();
  const bare4 = new pg.Pool({ host: server.dir, user: server.user, database: "postgres", max: 4 });
  const one = new ConnectionPool({ database: server.url, min: 1, max: 1 });
  const four = new ConnectionPool({ database: server.url, min: 4, max: 4 });
  const point = "SELECT id, name, n FROM bench WHERE id = $1";
  row(
    "PostgreSQL",
    "round trips, 1 in flight",
    await measure(
      (i) => one.runQuery(point, [i % TABLE_ROWS]),
      (i) => c0.query(point, [i % TABLE_ROWS]),
      1,
      N,
    ),
  );
  row(
    "PostgreSQL",
    "round trips, 16 in flight (4 connections)",
    await measure(
      (i) => four.runQuery(point, [i % TABLE_ROWS]),
      (i) => bare4.query(point, [i % TABLE_ROWS]),
      16,
      N,
    ),
  );
  const scan = "SELECT id, name, n FROM bench";
  row(
    "PostgreSQL",
    `rows/s, ${TABLE_ROWS}-row SELECT`,
    await measure(
      () => one.runQuery(scan),
      () => c0.query(scan),
      1,
      SCANS,
    ),
    TABLE_ROWS,
  );
  await Promise.all([one.close(), four.close(), c0.end(), bare4.end()]);
} finally {
  server.dispose();
}

// ---- SQLite -------------------------------------------------------------------------------------
const dir = mkdtempSync(join(tmpdir(), "weft-bench-sqlite-"));
try {
  const file = join(dir, "bench.db");
  const db = new Better(file);
  db.pragma("journal_mode = WAL");
  db.exec("CREATE TABLE bench (id INTEGER PRIMARY KEY, name TEXT, n INTEGER)");
  db.exec(
    `WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < ${TABLE_ROWS - 1})
     INSERT INTO bench SELECT i, 'name' || i, i * 2 FROM s`,
  );
  const pointStmt = db.prepare("SELECT id, name, n FROM bench WHERE id = ?");
  const scanStmt = db.prepare("SELECT id, name, n FROM bench");
  const one = new ConnectionPool({ database: `sqlite:${file}`, min: 1, max: 1 });
  const two = new ConnectionPool({ database: `sqlite:${file}`, min: 2, max: 2 });
  const point = "SELECT id, name, n FROM bench WHERE id = ?";
  // The bare driver is synchronous: it blocks the loop for each call, and "in flight" cannot apply.
  const bare: Call = async (i) => pointStmt.all(i % TABLE_ROWS);
  row(
    "SQLite",
    "round trips, 1 in flight",
    await measure((i) => one.runQuery(point, [i % TABLE_ROWS]), bare, 1, N),
  );
  row(
    "SQLite",
    "round trips, 16 in flight (2 workers)",
    await measure((i) => two.runQuery(point, [i % TABLE_ROWS]), bare, 16, N),
  );
  row(
    "SQLite",
    `rows/s, ${TABLE_ROWS}-row SELECT`,
    await measure(
      () => one.runQuery("SELECT id, name, n FROM bench"),
      async () => scanStmt.all(),
      1,
      SCANS,
    ),
    TABLE_ROWS,
  );
  await Promise.all([one.close(), two.close()]);
  db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const widths = (table[0] as string[]).map((_, c) =>
  Math.max(...table.map((r) => (r[c] ?? "").length)),
);
for (const [i, r] of table.entries()) {
  console.log(`| ${r.map((cell, c) => cell.padEnd(widths[c] as number)).join(" | ")} |`);
  if (i === 0) console.log(`| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`);
}
console.log(`\nN=${N} calls, ${SCANS} scans, median of ${SAMPLES} samples.`);
