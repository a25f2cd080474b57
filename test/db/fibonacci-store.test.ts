/**
 * PoolFibonacciStore: processes sharing one database claim disjoint blocks of positions.
 * PostgreSQL (the run's server, 3 processes × 20 concurrent claimers) and SQLite (one file, one
 * host, 2 processes).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/core/errors.js";
import { DbUnavailableError } from "../../src/db/errors.js";
import { PoolFibonacciStore } from "../../src/services/fibonacci/pool-store.js";
import { collectOutput } from "../helpers/children.js";
import { failureOf, testPostgres, uniqueTable } from "./helpers.js";

const CLAIMER = new URL("./fixtures/claimer.ts", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "weft-fib-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `processes` claimer processes at once; resolves with every position they printed. */
async function claimAcross(
  url: string,
  name: string,
  processes: number,
  clients: number,
  claims: number,
  count: number,
): Promise<string[]> {
  const outputs = await Promise.all(
    Array.from({ length: processes }, () =>
      collectOutput(
        spawn(
          process.execPath,
          ["--import", "tsx", CLAIMER, url, name, String(clients), String(claims), String(count)],
          { stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 },
        ),
      ),
    ),
  );
  return outputs.flatMap((o) => {
    expect(o.stderr).toBe("");
    expect(o.code).toBe(0);
    return JSON.parse(o.stdout) as string[];
  });
}

function expectDistinctRun(positions: string[], total: number): void {
  expect(positions).toHaveLength(total);
  expect(new Set(positions).size).toBe(total);
  // Nothing was lost either: the claims are exactly positions 0 .. total-1.
  const sorted = positions.map(BigInt).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  expect(sorted[0]).toBe(0n);
  expect(sorted.at(-1)).toBe(BigInt(total - 1));
}

describe("PoolFibonacciStore", () => {
  it("3 processes × 20 claimers on one PostgreSQL never get the same position", async () => {
    const name = uniqueTable("seq");
    const positions = await claimAcross(testPostgres().url, name, 3, 20, 5, 3);
    expectDistinctRun(positions, 3 * 20 * 5 * 3);
  });

  it("2 processes on one SQLite file never get the same position", async () => {
    const url = `sqlite:${join(dir, "fib.db")}`;
    const positions = await claimAcross(url, "default", 2, 5, 4, 2);
    expectDistinctRun(positions, 2 * 5 * 4 * 2);
  });

  it("continues where the sequence stopped after a restart, and keeps sequences apart", async () => {
    const url = testPostgres().url;
    const a = new PoolFibonacciStore({ database: url, name: uniqueTable("a") });
    expect(await a.claim(10)).toBe(0n);
    expect(await a.claim(1)).toBe(10n);
    await a.close();
    await a.close(); // idempotent
    const name = uniqueTable("b");
    const b = new PoolFibonacciStore({ database: url, name });
    expect(await b.claim(5)).toBe(0n);
    await b.close();
    const again = new PoolFibonacciStore({ database: url, name });
    expect(await again.claim(1)).toBe(5n);
    expect(await failureOf(again.claim(0))).toBeInstanceOf(InvalidArgumentError);
    await again.close();
  });

  it("fails a claim with a typed error when the database is unreachable", async () => {
    const store = new PoolFibonacciStore({
      database: { database: { kind: "postgres", host: "/nonexistent-weft", user: "weft" }, min: 0 },
    });
    expect(await failureOf(store.claim(1))).toBeInstanceOf(DbUnavailableError);
    await store.close();
  });
});
