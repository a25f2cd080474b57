/**
 * Real `startSuite` children on a temp state directory: a SIGTERM restart continues the sequence;
 * `kill -9` in a loop of restarts under 20 concurrent clients never hands out a number twice in
 * strict mode (counted over every number received).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fibonacciAt } from "../../../src/services/fibonacci/sequence.js";
import { lines } from "../helpers.js";

const SERVE = new URL("./fixtures/serve.ts", import.meta.url).pathname;

interface Child {
  proc: ChildProcess;
  linePort: number;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(stateDir: string, mode: "strict" | "default"): Promise<Child> {
  const proc = spawn(process.execPath, ["--import", "tsx", SERVE, stateDir, mode], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    proc.on("exit", (code, signal) => r({ code, signal })),
  );
  let err = "";
  proc.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  return new Promise((resolve, reject) => {
    let out = "";
    proc.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /PORTS (\d+) (\d+)\n/.exec(out);
      if (m !== null) resolve({ proc, linePort: Number(m[1]), exit });
    });
    void exit.then(() => reject(new Error(`child exited before listening: ${err}`)));
  });
}

/** A client asking for numbers one after another until the connection ends; collects full lines. */
function asker(port: number, got: string[]): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1", () => s.write("n\r\n"));
    let buf = "";
    s.setEncoding("utf8");
    s.on("data", (d: string) => {
      buf += d;
      let i = buf.indexOf("\r\n");
      while (i >= 0) {
        got.push(buf.slice(0, i));
        buf = buf.slice(i + 2);
        i = buf.indexOf("\r\n");
        s.write("n\r\n");
      }
    });
    s.on("error", () => undefined);
    s.on("close", () => resolve());
  });
}

let dir = "";
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "weft-fib-restart-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("fibonacci across restarts", () => {
  it.each(["default", "strict"] as const)(
    "%s mode: a SIGTERM restart continues the sequence where it stopped",
    async (mode) => {
      let child = await start(dir, mode);
      expect(await lines(child.linePort, "a\r\nb\r\nc\r\nd\r\n", 4)).toEqual(["2", "3", "5", "8"]);
      child.proc.kill("SIGTERM");
      expect(await child.exit).toEqual({ code: 0, signal: null });
      child = await start(dir, mode);
      expect(await lines(child.linePort, "e\r\nf\r\n", 2)).toEqual(["13", "21"]);
      child.proc.kill("SIGTERM");
      expect(await child.exit).toEqual({ code: 0, signal: null });
    },
    30_000,
  );

  it("strict mode: kill -9 in a loop of 5 restarts under 20 clients never repeats a number", async () => {
    const rounds = Number(process.env["WEFT_FIB_SOAK_ROUNDS"] ?? 5);
    const got: string[] = [];
    for (let round = 0; round < rounds; round++) {
      const child = await start(dir, "strict");
      const clients = Array.from({ length: 20 }, () => asker(child.linePort, got));
      const before = got.length;
      // Kill once the clients got going (at least 50 numbers this round, or after 1.5 s).
      for (let waited = 0; got.length - before < 50 && waited < 1500; waited += 10)
        await new Promise((r) => setTimeout(r, 10));
      child.proc.kill("SIGKILL");
      expect((await child.exit).signal).toBe("SIGKILL");
      await Promise.all(clients);
    }
    expect(got.length).toBeGreaterThan(rounds * 20);
    const distinct = new Set(got);
    expect(distinct.size).toBe(got.length); // no number handed out twice
    // Every reply is a number of the sequence (spot-check the smallest ones).
    const sorted = [...got].map(BigInt).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    expect(sorted[0]).toBe(fibonacciAt(0n));
  }, 120_000);
});
