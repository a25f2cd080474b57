/**
 * `weft fuzz` as a user runs it (a child `node --import tsx src/cli/main.ts`): `--spawn` starts a
 * target that crashes, restarts it and keeps going, recording the exit and the tail of its stderr;
 * `--max-rss` finds the server that allocates whatever length is announced; exit code 2 for bad
 * usage, an unreachable target and a probe that fails before fuzzing.
 */
import net from "node:net";
import { describe, expect, it } from "vitest";
import {
  freePort,
  inputOf,
  PROBE,
  report,
  startTarget,
  targetCommand,
  weft,
  weftChild,
} from "./helpers.js";

/** Resolves true when something accepts on 127.0.0.1:`port`. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.on("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}

describe("weft fuzz --spawn", () => {
  it.concurrent("restarts a crashing target, keeps going, and records how it died", async () => {
    const port = await freePort();
    const res = await weftChild([
      ...["fuzz", "netstring", `tcp:127.0.0.1:${port}`, ...PROBE],
      ...["--spawn", targetCommand("crash", port)],
      ...["--seed", "1", "--runs", "25", "--time", "10", "--timeout", "200", "--json"],
    ]);
    expect(res.code, res.stderr).toBe(1);
    const rep = report(res);
    const crash = rep.findings.find((f) => f.oracle === "crash");
    expect(crash, JSON.stringify(rep.findings)).toBeDefined();
    if (crash === undefined) return;
    const exit = crash["exit"] as {
      code: number | null;
      signal: string | null;
      stderrTail: string;
    };
    expect(exit.code).toBe(1);
    expect(exit.signal).toBeNull();
    expect(exit.stderrTail).toContain("TypeError");
    expect(crash["shrunk"]).toBe(true);
    // Shrunk: a short netstring holding a byte that is not valid UTF-8.
    const input = inputOf(crash);
    expect(input.length).toBeLessThanOrEqual(12);
    expect(new TextDecoder().decode(input)).toContain("\uFFFD");
    // It kept going after the crash (restarted, the target crashed again: one finding, several
    // hits), and stopped the target at the end.
    expect(rep.cases).toBeGreaterThan(crash.case + 1);
    expect(crash["hits"]).toBeGreaterThan(1);
    expect(await accepts(port)).toBe(false);
  });

  it.concurrent("--max-rss finds the server that allocates the announced length", async () => {
    const port = await freePort();
    const res = await weftChild([
      ...["fuzz", "netstring", `tcp:127.0.0.1:${port}`, ...PROBE],
      ...["--spawn", targetCommand("alloc", port), "--max-length", String(64 * 1024 * 1024)],
      ...["--max-rss", "80", "--concurrency", "2", "--timeout", "200"],
      ...["--seed", "1", "--time", "3", "--json"],
    ]);
    expect(res.code, res.stderr).toBe(1);
    const rep = report(res);
    const memory = rep.findings.find((f) => f.oracle === "memory" && f["shrunk"] === true);
    expect(memory, JSON.stringify(rep.findings)).toBeDefined();
    if (memory === undefined) return;
    // The reproducer announces more than the server's 64 MiB limit (and fits in its 256 MiB).
    const announced = /^(\d+):/.exec(inputOf(memory).toString("latin1"));
    expect(Number(announced?.[1])).toBeGreaterThan(64 * 1024 * 1024);
    expect(memory.observed).toMatch(/MiB/);
    expect(await accepts(port)).toBe(false);
  });
});

describe("weft fuzz exit code 2", () => {
  it.concurrent("bad usage, as a child process", async () => {
    const res = await weftChild(["fuzz", "morse", "tcp:127.0.0.1:1"]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/framing/);
  });

  it("bad usage: --expect without --probe, --max-rss without --spawn, a bad --runs", async () => {
    const t = "tcp:127.0.0.1:1";
    for (const args of [
      ["fuzz", "netstring", t, "--expect", "x"],
      ["fuzz", "netstring", t, "--max-rss", "10"],
      ["fuzz", "netstring", t, "--runs", "zero"],
      ["fuzz", "netstring"],
    ]) {
      const res = await weft(args);
      expect(res.code, args.join(" ")).toBe(2);
    }
  });

  it("an unreachable target", async () => {
    const port = await freePort();
    const res = await weft(["fuzz", "netstring", `tcp:127.0.0.1:${port}`, "--runs", "5"]);
    expect(res.code).toBe(2);
    expect(res.stderr).not.toBe("");
  });

  it("a probe that fails before fuzzing", async () => {
    const t = await startTarget("correct");
    try {
      const res = await weft([
        ...["fuzz", "netstring", t.endpoint, "--probe", "5:hello,", "--expect", "5:HELLO,"],
        "--runs",
        "5",
      ]);
      expect(res.code).toBe(2);
      expect(res.stderr).toMatch(/probe/);
    } finally {
      await t.close();
    }
  });
});
