/**
 * The Fibonacci service with its state in PostgreSQL (`"store": "postgres://…"`): three `weft
 * serve`-like processes sharing one database, 20 line clients on each, never hand out the same
 * number — and, with `block: 1`, hand out exactly the first 600 numbers of the sequence.
 */
import { type ChildProcess, spawn } from "node:child_process";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ConnectionPool } from "../../src/db/pool.js";
import { fibonacciAt } from "../../src/services/fibonacci/sequence.js";
import { postgresUrl } from "../helpers/postgres.js";
import { testPostgres, uniqueTable } from "./helpers.js";

const SERVE = new URL("./fixtures/serve-fibonacci.ts", import.meta.url).pathname;
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill("SIGKILL");
});

/** Starts a server child; resolves with its line port and a promise of its exit code. */
function serve(url: string): Promise<{ port: number; exit: Promise<number | null> }> {
  const proc = spawn(process.execPath, ["--import", "tsx", SERVE, url, "1"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(proc);
  const exit = new Promise<number | null>((r) => proc.on("exit", (code) => r(code)));
  let err = "";
  proc.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  return new Promise((resolve, reject) => {
    let out = "";
    proc.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /PORT (\d+)\n/.exec(out);
      if (m !== null) resolve({ port: Number(m[1]), exit });
    });
    void exit.then(() => reject(new Error(`server exited before listening: ${err}`)));
  });
}

/** One line client asking `count` numbers, one after another. */
function ask(port: number, count: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const got: string[] = [];
    let buf = "";
    const s = net.connect(port, "127.0.0.1", () => s.write("n\r\n"));
    s.setEncoding("utf8");
    s.on("data", (d: string) => {
      buf += d;
      for (let i = buf.indexOf("\r\n"); i >= 0; i = buf.indexOf("\r\n")) {
        got.push(buf.slice(0, i));
        buf = buf.slice(i + 2);
        if (got.length === count) {
          s.end();
          resolve(got);
          return;
        }
        s.write("n\r\n");
      }
    });
    s.on("error", reject);
    s.on("close", () => reject(new Error(`closed after ${got.length} of ${count} numbers`)));
  });
}

describe("fibonacci on one PostgreSQL", () => {
  it("3 processes × 20 clients hand out no number twice", async () => {
    // A database of its own, so the sequence starts at position 0.
    const name = uniqueTable("fib");
    const admin = new ConnectionPool({ database: testPostgres().url, min: 0 });
    await admin.runOperation(`CREATE DATABASE ${name}`);
    await admin.close();
    const url = postgresUrl(testPostgres().dir, name);

    const servers = await Promise.all([1, 2, 3].map(() => serve(url)));
    const perClient = 10;
    const received = (
      await Promise.all(
        servers.flatMap(({ port }) => Array.from({ length: 20 }, () => ask(port, perClient))),
      )
    ).flat();
    const total = 3 * 20 * perClient;
    expect(received).toHaveLength(total);
    expect(new Set(received).size).toBe(total);
    // block 1: every claimed position was handed out, so the numbers are exactly the first 600.
    const expected = new Set(
      Array.from({ length: total }, (_, p) => String(fibonacciAt(BigInt(p)))),
    );
    expect(new Set(received)).toEqual(expected);

    for (const c of children) c.kill("SIGTERM");
    expect(await Promise.all(servers.map((s) => s.exit))).toEqual([0, 0, 0]);
  });
});
