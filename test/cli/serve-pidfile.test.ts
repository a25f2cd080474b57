/**
 * `weft serve --pidfile`: who holds a pidfile is decided by the holder's identity in /proc (its start
 * time against the file's mtime), never by `kill(pid, 0)` alone, which as root succeeds for any pid.
 * Unit cases in-process (live, dead, reused pid, garbage, replaced file), then a real server: a
 * second server is refused while the first lives, and the file is gone after its SIGTERM.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  acquirePidfile,
  holderAlive,
  PidfileHeldError,
  processStartTime,
} from "../../src/cli/serve/pidfile.js";
import { collectOutput } from "../helpers/children.js";
import { weft } from "./serve-process.js";

let dir = "";
let config = "";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "weft-pidfile-"));
  config = join(dir, "suite.json");
  await writeFile(
    config,
    JSON.stringify({
      services: { transform: { listen: [{ protocol: "line", endpoint: "tcp:0" }] } },
    }),
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A child that sleeps; resolves once it runs. */
async function sleeper() {
  const child = spawn("sleep", ["30"], { stdio: "ignore" });
  await new Promise<void>((resolve) => child.once("spawn", () => resolve()));
  return child;
}

describe("pidfile identity", () => {
  it("creates the file with the pid, refuses a second holder, removes it on release", () => {
    const path = join(dir, "a.pid");
    const held = acquirePidfile(path);
    expect(readFileSync(path, "utf8")).toBe(`${process.pid}\n`);
    expect(() => acquirePidfile(path)).toThrow(PidfileHeldError);
    expect(held.release()).toBeNull();
    expect(existsSync(path)).toBe(false);
    expect(held.release()).toBeNull(); // idempotent
  });

  it("a live process that started before the file was written holds it", async () => {
    const child = await sleeper();
    try {
      const path = join(dir, "live.pid");
      writeFileSync(path, `${child.pid}\n`);
      expect(() => acquirePidfile(path)).toThrow(
        expect.objectContaining({ code: "ERR_PIDFILE_HELD", pid: child.pid }),
      );
      expect(readFileSync(path, "utf8")).toBe(`${child.pid}\n`);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("a pid reused by a process younger than the file is stale (what kill(pid, 0) gets wrong as root)", async () => {
    const child = await sleeper();
    try {
      const path = join(dir, "reused.pid");
      writeFileSync(path, `${child.pid}\n`);
      const hourAgo = Date.now() / 1000 - 3600;
      utimesSync(path, hourAgo, hourAgo);
      // kill(pid, 0) would call it alive:
      expect(() => process.kill(child.pid as number, 0)).not.toThrow();
      expect(holderAlive(child.pid as number, hourAgo * 1000)).toBe(false);
      const stale: Array<number | null> = [];
      const held = acquirePidfile(path, (pid) => stale.push(pid));
      expect(stale).toEqual([child.pid]);
      expect(readFileSync(path, "utf8")).toBe(`${process.pid}\n`);
      held.release();
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("a dead holder or content that is not a pid is stale", async () => {
    const gone = spawn("true", { stdio: "ignore" });
    await collectOutput(gone);
    expect(processStartTime(gone.pid as number)).toBe("gone");
    for (const content of [`${gone.pid}\n`, "not a pid\n", ""]) {
      const path = join(dir, "stale.pid");
      writeFileSync(path, content);
      const stale: Array<number | null> = [];
      const held = acquirePidfile(path, (pid) => stale.push(pid));
      expect(stale).toEqual([content === `${gone.pid}\n` ? gone.pid : null]);
      expect(held.release()).toBeNull();
    }
  });

  it("does not remove a file that another process has replaced", () => {
    const path = join(dir, "replaced.pid");
    const held = acquirePidfile(path);
    // Another pidfile put in its place (a new inode).
    unlinkSync(path);
    writeFileSync(path, "1\n");
    expect(held.release()).toMatch(/no longer ours/);
    expect(readFileSync(path, "utf8")).toBe("1\n");
  });
});

describe("weft serve --pidfile", () => {
  it("refuses a second server while the first lives and removes the file on SIGTERM", async () => {
    const pidfile = join(dir, "serve.pid");
    const first = weft(["serve", "-c", config, "--pidfile", pidfile, "--log-level", "warn"]);
    try {
      await first.waitFor(/transform\s+line\s+127\.0\.0\.1:\d+/);
      expect(readFileSync(pidfile, "utf8")).toBe(`${first.child.pid}\n`);
      const second = weft(["serve", "-c", config, "--pidfile", pidfile]);
      const { code } = await second.exited;
      expect(code).toBe(1);
      expect(second.stderr()).toContain(
        `ERR_PIDFILE_HELD: ${pidfile} is held by the running process ${first.child.pid}`,
      );
      expect(second.stdout()).toBe("");
      first.child.kill("SIGTERM");
      expect((await first.exited).code).toBe(0);
      expect(existsSync(pidfile)).toBe(false);
    } finally {
      await first.kill();
    }
  }, 30_000);
});
