/**
 * `weft serve --workers 2` as real processes: both workers answer on the one shared port (port 0:
 * the table comes from worker 1's report), their log lines reach the primary's log file tagged with
 * their pids, a worker killed with SIGKILL is forked again and the port keeps answering, and SIGTERM
 * drains every worker and exits 0 with the pidfile removed.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { restartDelay } from "../../src/cli/serve/cluster-primary.js";
import { ask, portOf, weft } from "./serve-process.js";

/** Opens a connection to `port`, sends `count` request lines at once, resolves with the replies. */
function fibonacci(port: number, count: number): Promise<bigint[]> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    let got = "";
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`only ${got.split("\n").length - 1} of ${count} numbers in 10 s`));
    }, 10_000);
    s.setEncoding("utf8");
    s.on("data", (d: string) => {
      got += d;
      const lines = got.split("\r\n");
      if (lines.length > count) {
        clearTimeout(timer);
        s.end();
        resolve(lines.slice(0, count).map((l) => BigInt(l)));
      }
    });
    s.on("error", reject);
    s.write("next\r\n".repeat(count));
  });
}

/** Whether `n` is in the article's sequence (2, 3, 5, 8, …). */
function fibonacciSet(max: bigint): Set<bigint> {
  const set = new Set<bigint>();
  let a = 1n;
  let b = 2n;
  while (b <= max) {
    set.add(b);
    [a, b] = [b, a + b];
  }
  return set;
}

let dir = "";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "weft-workers-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Rec {
  msg: string;
  pid: number;
  role?: string;
}

function records(logs: string): Rec[] {
  return readdirSync(logs)
    .filter((f) => f.endsWith(".log"))
    .flatMap((f) =>
      readFileSync(join(logs, f), "utf8")
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as Rec),
    );
}

describe("restart backoff", () => {
  it("doubles for quick deaths up to 30 s and falls back once a worker lived a minute", () => {
    let d = 0;
    const seen: number[] = [];
    for (let i = 0; i < 9; i++) seen.push((d = restartDelay(d, 100)));
    expect(seen).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    expect(restartDelay(30000, 60_000)).toBe(500);
  });
});

describe("weft serve --workers 2", () => {
  it("both workers answer, a killed worker is replaced, SIGTERM drains them and exits 0", async () => {
    const config = join(dir, "suite.json");
    await writeFile(
      config,
      JSON.stringify({
        services: { transform: { listen: [{ protocol: "line", endpoint: "tcp:0" }] } },
      }),
    );
    const logs = join(dir, "logs");
    const pidfile = join(dir, "weft.pid");
    const server = weft([
      "serve",
      "-c",
      config,
      "--workers",
      "2",
      "--pidfile",
      pidfile,
      "--log-file",
      join(logs, "weft.log"),
      "--log-rotate",
      "never",
    ]);
    try {
      const port = portOf((await server.waitFor(/transform.*\n/)).input, "transform", "line");
      expect(readFileSync(pidfile, "utf8")).toBe(`${server.child.pid}\n`);
      for (let i = 0; i < 10; i++) expect(await ask(port, `upper w${i}`)).toBe(`OK W${i}`);
      const served = () =>
        records(logs).filter((r) => r.msg === "connection made" && r.role === "worker");
      const workers = new Set(served().map((r) => r.pid));
      expect(workers.size).toBe(2);
      expect(workers.has(server.child.pid as number)).toBe(false);

      // Kill one worker: the primary forks another, the port answers throughout.
      const [victim] = [...workers];
      process.kill(victim as number, "SIGKILL");
      // A connection node:cluster hands to the worker in the instant it dies is lost with it; the
      // primary stops handing it out once it has seen the exit.
      for (
        let i = 0;
        i < 200 && !records(logs).some((r) => r.msg === "worker died: restarting it");
        i++
      )
        await new Promise((r) => setTimeout(r, 25));
      const newServing = async () => {
        for (let i = 0; i < 200; i++) {
          const serving = records(logs).filter(
            (r) => r.msg === "serving" && r.role === "worker" && !workers.has(r.pid),
          );
          if (serving.length > 0) return serving[0]?.pid;
          expect(await ask(port, "upper still")).toBe("OK STILL");
          await new Promise((r) => setTimeout(r, 50));
        }
        throw new Error("no replacement worker");
      };
      const replacement = await newServing();
      for (let i = 0; i < 6; i++) await ask(port, `upper again${i}`);
      expect(served().some((r) => r.pid === replacement)).toBe(true);

      server.child.kill("SIGTERM");
      expect((await server.exited).code).toBe(0);
      expect(existsSync(pidfile)).toBe(false);
      const all = records(logs);
      expect(all.at(-1)).toMatchObject({ msg: "stopped", role: "primary" });
      // Each live worker ran its own stop.
      const stoppedWorkers = new Set(
        all.filter((r) => r.msg === "stopped" && r.role === "worker").map((r) => r.pid),
      );
      expect(stoppedWorkers.size).toBe(2);
    } finally {
      await server.kill();
    }
  }, 60_000);
});

describe("weft serve --workers 2 with the Fibonacci service", () => {
  it("hands out one sequence across both workers (no duplicate), continued after a restart", async () => {
    const config = join(dir, "fib.json");
    await writeFile(
      config,
      JSON.stringify({
        services: {
          fibonacci: { strict: true, listen: [{ protocol: "line", endpoint: "tcp:0" }] },
        },
      }),
    );
    const state = join(dir, "fib-state");
    const logs = join(dir, "fib-logs");
    const server = weft([
      "serve",
      "-c",
      config,
      "--workers",
      "2",
      "--state-dir",
      state,
      "--log-file",
      join(logs, "weft.log"),
    ]);
    const numbers: bigint[] = [];
    try {
      const port = portOf((await server.waitFor(/fibonacci.*\n/)).input, "fibonacci", "line");
      const CLIENTS = 8;
      const EACH = 25;
      for (const batch of await Promise.all(
        Array.from({ length: CLIENTS }, () => fibonacci(port, EACH)),
      ))
        numbers.push(...batch);
      expect(numbers).toHaveLength(CLIENTS * EACH);
      expect(new Set(numbers).size).toBe(numbers.length);
      const max = numbers.reduce((a, b) => (a > b ? a : b));
      const valid = fibonacciSet(max);
      expect(numbers.every((n) => valid.has(n))).toBe(true);
      // Both workers served some of them.
      const servedBy = new Set(
        records(logs)
          .filter((r) => r.msg === "connection made" && r.role === "worker")
          .map((r) => r.pid),
      );
      expect(servedBy.size).toBe(2);
      server.child.kill("SIGTERM");
      expect((await server.exited).code).toBe(0);
    } finally {
      await server.kill();
    }
    // One process on the same state folder continues after every number handed out.
    const single = weft(["serve", "-c", config, "--state-dir", state, "--log-level", "warn"]);
    try {
      const port = portOf((await single.waitFor(/fibonacci.*\n/)).input, "fibonacci", "line");
      const [next] = await fibonacci(port, 1);
      const max = numbers.reduce((a, b) => (a > b ? a : b));
      expect(next as bigint).toBeGreaterThan(max);
      single.child.kill("SIGTERM");
      expect((await single.exited).code).toBe(0);
    } finally {
      await single.kill();
    }
  }, 60_000);
});
