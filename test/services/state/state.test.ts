import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Clock } from "../../../src/core/clock.js";
import {
  AutoSaver,
  defaultStateDir,
  StateCorruptError,
  StateDirectory,
  StateLockedError,
  StateVersionError,
} from "../../../src/services/state/index.js";
import { startSuite } from "../../../src/services/suite/index.js";
import { reactor } from "../helpers.js";

const counter = {
  version: 1,
  parse(data: unknown): { n: number } {
    if (
      typeof data !== "object" ||
      data === null ||
      typeof (data as { n?: unknown }).n !== "number"
    )
      throw new Error("expected { n: number }");
    return { n: (data as { n: number }).n };
  },
};

let dir = "";
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "weft-state-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("state directory and files", () => {
  it("a first start loads nothing; a save is loaded back; no temp file is left", async () => {
    const state = await StateDirectory.open(join(dir, "s"));
    const file = state.file("counter", counter);
    expect(await file.load()).toBeUndefined();
    await file.save({ n: 41 });
    await file.save({ n: 42 });
    expect(await file.load()).toEqual({ n: 42 });
    expect((await readdir(state.path)).sort()).toEqual(["counter.json", "weft.lock"]);
    const envelope = JSON.parse(await readFile(file.path, "utf8"));
    expect(envelope).toEqual({
      format: "weft-state",
      name: "counter",
      version: 1,
      data: { n: 42 },
    });
    await state.close();
    expect(await readdir(state.path)).toEqual(["counter.json"]);
  });

  it("refuses truncated, empty, foreign and malformed files with the path in the message", async () => {
    const state = await StateDirectory.open(dir);
    const file = state.file("counter", counter);
    await file.save({ n: 7 });
    const good = await readFile(file.path, "utf8");
    const bad = [
      "",
      good.slice(0, good.length - 5),
      "[1,2]",
      JSON.stringify({ format: "x", name: "counter", version: 1, data: { n: 1 } }),
      JSON.stringify({ format: "weft-state", name: "other", version: 1, data: { n: 1 } }),
      JSON.stringify({ format: "weft-state", name: "counter", version: 1, data: { n: "1" } }),
      JSON.stringify({ format: "weft-state", name: "counter", version: 1 }),
    ];
    for (const text of bad) {
      await writeFile(file.path, text);
      const err = await file.load().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, text).toBeInstanceOf(StateCorruptError);
      expect((err as StateCorruptError).code).toBe("ERR_STATE_CORRUPT");
      expect((err as Error).message).toContain(file.path);
      expect((err as StateCorruptError).path).toBe(file.path);
    }
    await writeFile(
      file.path,
      JSON.stringify({ format: "weft-state", name: "counter", version: 2, data: { n: 1 } }),
    );
    const err = await file.load().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StateVersionError);
    expect((err as Error).message).toMatch(/version 2, this weft reads version 1/);
    expect((err as Error).message).toContain(file.path);
    await state.close();
  });

  it("locks the directory: a second open (same process) is refused until the first closes", async () => {
    const a = await StateDirectory.open(dir);
    const err = await StateDirectory.open(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StateLockedError);
    expect((err as StateLockedError).ownerPid).toBe(process.pid);
    expect((err as Error).message).toContain(dir);
    await a.close();
    const b = await StateDirectory.open(dir);
    await b.close();
  });

  it("a lock left by a dead process (kill -9) is stale and taken over", async () => {
    // A child takes the lock and is killed before it can release it.
    const script = `import { StateDirectory } from ${JSON.stringify(new URL("../../../src/services/state/index.ts", import.meta.url).pathname)};
await StateDirectory.open(process.argv[1]); console.log("locked"); setInterval(() => {}, 1000);`;
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", script, dir],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (d: Buffer) => d.toString().includes("locked") && resolve());
      child.on("exit", () => reject(new Error("child exited")));
    });
    const live = await StateDirectory.open(dir).catch((e: unknown) => e);
    expect(live).toBeInstanceOf(StateLockedError);
    expect((live as StateLockedError).ownerPid).toBe(child.pid);
    const exited = new Promise((r) => child.on("exit", r));
    child.kill("SIGKILL");
    await exited;
    const taken = await StateDirectory.open(dir);
    expect(JSON.parse(await readFile(join(dir, "weft.lock"), "utf8")).pid).toBe(process.pid);
    await taken.close();
  });

  it("a lock whose pid now belongs to another process (start time differs) is stale", async () => {
    await writeFile(
      join(dir, "weft.lock"),
      JSON.stringify({ pid: process.pid, start: "1", host: (await import("node:os")).hostname() }),
    );
    const s = await StateDirectory.open(dir);
    await s.close();
  });

  it("the default directory follows XDG_STATE_HOME, else ~/.local/state", () => {
    expect(defaultStateDir({ XDG_STATE_HOME: "/x/state" }, "/home/u")).toBe("/x/state/weft");
    expect(defaultStateDir({ XDG_STATE_HOME: "relative" }, "/home/u")).toBe(
      "/home/u/.local/state/weft",
    );
    expect(defaultStateDir({}, "/home/u")).toBe("/home/u/.local/state/weft");
  });

  it("AutoSaver saves on the interval only when changed, and once more on stop", async () => {
    const state = await StateDirectory.open(dir);
    const file = state.file("counter", counter);
    const clock = new Clock();
    let n = 0;
    let dirty = false;
    const saver = new AutoSaver({
      file,
      clock,
      interval: 5,
      snapshot: () => {
        if (!dirty) return undefined;
        dirty = false;
        return { n };
      },
    });
    n = 1;
    dirty = true;
    clock.advance(4);
    await new Promise((r) => setTimeout(r, 20));
    expect(await file.load()).toBeUndefined();
    clock.advance(1);
    await new Promise((r) => setTimeout(r, 50));
    expect(await file.load()).toEqual({ n: 1 });
    n = 2;
    dirty = true;
    await saver.stop();
    expect(await file.load()).toEqual({ n: 2 });
    await state.close();
  });

  it("startSuite locks stateDir for the suite's lifetime and unlocks it after stop", async () => {
    const config = {
      services: { transform: { listen: [{ protocol: "line", endpoint: "tcp:0" }] } },
    };
    const suite = await startSuite(reactor, config, { stateDir: dir });
    await expect(startSuite(reactor, config, { stateDir: dir })).rejects.toBeInstanceOf(
      StateLockedError,
    );
    await suite.stop();
    const again = await startSuite(reactor, config, { stateDir: dir });
    await again.stop();
  });
});
