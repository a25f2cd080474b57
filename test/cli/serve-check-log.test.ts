/**
 * `weft serve --check` (validates the config and the modules it loads, opens no port: it passes
 * even while the configured port is taken) and `--log-file` (JSON lines in the file, none on
 * stderr, rolled by size by pino-roll, nothing lost across the rolls, the last line written before
 * the exit).
 */
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ask, portOf, weft } from "./serve-process.js";

let dir = "";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "weft-check-log-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function config(name: string, value: unknown): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, typeof value === "string" ? value : JSON.stringify(value));
  return file;
}

describe("weft serve --check", () => {
  it("exits 0 with the planned endpoints, without binding (the port is taken meanwhile)", async () => {
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", () => r()));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      const file = await config("ok.json", {
        services: {
          transform: { listen: [{ protocol: "line", endpoint: `tcp:${port}` }] },
          poetry: { listen: [{ protocol: "fast", endpoint: "tcp:0" }] },
        },
      });
      const run = weft(["serve", "--check", "-c", file, "--port-offset", "0"]);
      const { code } = await run.exited;
      expect(run.stderr()).toBe("");
      expect(code).toBe(0);
      expect(run.stdout()).toMatch(/^SERVICE\s+PROTOCOL\s+ENDPOINT$/m);
      expect(run.stdout()).toMatch(
        new RegExp(`^transform\\s+line\\s+tcp:${port}:interface=127\\.0\\.0\\.1$`, "m"),
      );
      expect(run.stdout()).toContain("configuration OK: 2 front-ends");
    } finally {
      taken.close();
    }
  }, 30_000);

  it("exits 2 naming the problem: an unknown protocol, a module that fails, a bad endpoint", async () => {
    await writeFile(join(dir, "broken.mjs"), "throw new Error('module exploded');\n");
    const cases: Array<[unknown, RegExp]> = [
      [
        { services: { transform: { listen: [{ protocol: "nope", endpoint: "tcp:0" }] } } },
        /config\.services\.transform\.listen\[0\]/,
      ],
      [{ modules: ["./broken.mjs"], services: {} }, /module exploded/],
      [
        { services: { transform: { listen: [{ protocol: "line", endpoint: "bogus:1" }] } } },
        /config\.services\.transform\.listen\[0\]\.endpoint/,
      ],
    ];
    const runs = await Promise.all(
      cases.map(async ([value], i) => {
        const run = weft(["serve", "--check", "-c", await config(`bad${i}.json`, value)]);
        return { run, exit: await run.exited };
      }),
    );
    runs.forEach(({ run, exit }, i) => {
      expect(exit.code, run.stderr()).toBe(2);
      expect(run.stderr()).toMatch(/invalid configuration/);
      expect(run.stderr()).toMatch(cases[i]?.[1] as RegExp);
      expect(run.stdout()).toBe("");
    });
  }, 30_000);
});

describe("weft serve --log-file", () => {
  it("writes JSON lines to the file (not stderr) and rolls it by size without losing a line", async () => {
    const file = await config("t.json", {
      services: { transform: { listen: [{ protocol: "line", endpoint: "tcp:0" }] } },
    });
    const logs = join(dir, "logs");
    const server = weft([
      "serve",
      "-c",
      file,
      "--log-file",
      join(logs, "weft.log"),
      "--log-max-size",
      "1k",
      "--log-keep",
      "100",
    ]);
    try {
      const port = portOf((await server.waitFor(/transform.*\n/)).input, "transform", "line");
      const CONNECTIONS = 20;
      for (let i = 0; i < CONNECTIONS; i++)
        expect(await ask(port, `upper hi ${i}`)).toBe(`OK HI ${i}`);
      server.child.kill("SIGTERM");
      expect((await server.exited).code).toBe(0);
      expect(server.stderr()).toBe("");
      const files = readdirSync(logs)
        .filter((f) => /^weft\.\d+\.log$/.test(f))
        .sort((a, b) => Number(a.split(".")[1]) - Number(b.split(".")[1]));
      expect(files.length).toBeGreaterThanOrEqual(2);
      const records = files.flatMap((f) =>
        readFileSync(join(logs, f), "utf8")
          .split("\n")
          .filter((l) => l !== "")
          .map((l) => JSON.parse(l) as { msg: string; pid: number }),
      );
      expect(records.filter((r) => r.msg === "connection made")).toHaveLength(CONNECTIONS);
      expect(records.filter((r) => r.msg === "connection lost")).toHaveLength(CONNECTIONS);
      expect(records[0]?.msg).toBe("listening");
      expect(records.at(-1)?.msg).toBe("stopped");
      expect(new Set(records.map((r) => r.pid))).toEqual(new Set([server.child.pid]));
    } finally {
      await server.kill();
    }
  }, 30_000);
});
