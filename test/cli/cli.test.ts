/**
 * The `weft` command as a user runs it: child processes (`node --import tsx src/cli/main.ts`), a
 * served suite on ephemeral ports (port 0), clients against it, and a graceful SIGTERM.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../src/cli/main.js";
import { CalculatorClient } from "../../src/services/calculator/client.js";
import { getPoem } from "../../src/services/poetry/clients.js";
import { PoetryService } from "../../src/services/poetry/service.js";
import { TransformProxy, type TransformVia } from "../../src/services/transform/clients.js";
import { type ChildOutput, collectOutput } from "../helpers/children.js";
import { deadPort, endpoint, exchange, lines } from "../services/helpers.js";
import { portIn, readServeTable, type ServePorts } from "./serve-table.js";

const CLI = ["--import", "tsx", "src/cli/main.ts"];

type Result = Pick<ChildOutput, "code" | "stdout" | "stderr">;

function runCli(args: string[], stdin?: string): Promise<Result> {
  const child = spawn(process.execPath, [...CLI, ...args], { stdio: ["pipe", "pipe", "pipe"] });
  const out = collectOutput(child);
  child.stdin.end(stdin ?? "");
  return out;
}

let dir = "";
let server: ChildProcess | null = null;
let serverStderr = "";
let exited: Promise<number | null>;
/** `service/protocol` → ports, in table order. */
const ports: ServePorts = new Map();
const port = (key: string, i = 0): number => portIn(ports, key, i);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "weft-cli-"));
  const config = {
    services: {
      poetry: {
        slow: { bytesPerTick: 64, interval: 0.001 },
        listen: ["fast", "slow", "netstring", "amp"].map((protocol) => ({
          protocol,
          endpoint: "tcp:0",
        })),
      },
      transform: {
        listen: ["netstring", "line", "amp"].map((protocol) => ({ protocol, endpoint: "tcp:0" })),
      },
      calculator: {
        listen: [
          ...[1, 2, 3].map(() => ({ protocol: "amp", endpoint: "tcp:0" })),
          { protocol: "line", endpoint: "tcp:0" },
        ],
      },
    },
  };
  const file = join(dir, "suite.json");
  await writeFile(file, JSON.stringify(config));
  const child = spawn(
    process.execPath,
    [...CLI, "serve", "--config", file, "--log-level", "debug"],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  server = child;
  exited = new Promise((r) => child.on("exit", (code) => r(code)));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (serverStderr += d));
  let out = "";
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      if (out.split("\n").filter((l) => l.trim() !== "").length >= 12) resolve();
    });
    child.on("exit", (code) => reject(new Error(`weft serve exited ${code}: ${serverStderr}`)));
  });
  readServeTable(out, ports);
});

afterAll(async () => {
  if (server !== null && server.exitCode === null) server.kill("SIGKILL");
  await rm(dir, { recursive: true, force: true });
});

describe("weft serve", () => {
  it("prints a table of the actual bound ports", () => {
    expect([...ports.keys()].sort()).toEqual([
      "calculator/amp",
      "calculator/line",
      "poetry/amp",
      "poetry/fast",
      "poetry/netstring",
      "poetry/slow",
      "transform/amp",
      "transform/line",
      "transform/netstring",
    ]);
    expect(ports.get("calculator/amp")).toHaveLength(3);
  });

  it("answers on every listed port", async () => {
    const poetry = await PoetryService.bundled();
    const poem = poetry.defaultPoem.text;
    expect((await exchange(port("poetry/fast"))).toString()).toBe(poem);
    await expect(getPoem(endpoint(port("poetry/slow")))).resolves.toBe(poem);
    await expect(
      getPoem(endpoint(port("poetry/netstring")), { via: "netstring", name: "dickinson-hope" }),
    ).resolves.toBe(poetry.getPoem("dickinson-hope").text);
    await expect(getPoem(endpoint(port("poetry/amp")), { via: "amp" })).resolves.toBe(poem);
    for (const via of ["netstring", "line", "amp"] as TransformVia[]) {
      const proxy = new TransformProxy(endpoint(port(`transform/${via}`)), { via });
      await expect(proxy.xform("upper", "o rose")).resolves.toBe("O ROSE");
      proxy.close();
    }
    const calc = new CalculatorClient([0, 1, 2].map((i) => endpoint(port("calculator/amp", i))));
    const answers = await calc.calculateAll([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    calc.close();
    // the same calculator over another protocol, by configuration only
    expect(await lines(port("calculator/line"), "40 2\r\n", 1)).toEqual(["OK 42 0"]);
    expect(answers).toEqual([
      { result: 3, server: 0 },
      { result: 7, server: 1 },
      { result: 11, server: 2 },
    ]);
  });

  it("logs connections and requests as JSON lines on stderr", () => {
    const records = serverStderr
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { msg: string; service?: string });
    expect(records.some((r) => r.msg === "connection made" && r.service === "poetry")).toBe(true);
    expect(records.some((r) => r.msg === "connection lost")).toBe(true);
    expect(records.some((r) => r.msg === "request" && r.service === "transform")).toBe(true);
  });
});

describe("weft get-poetry", () => {
  it("downloads in parallel and transforms each poem", async () => {
    const r = await runCli([
      "get-poetry",
      "--transform",
      `cummingsify@tcp:127.0.0.1:${port("transform/netstring")}`,
      String(port("poetry/fast")),
      `127.0.0.1:${port("poetry/slow")}`,
    ]);
    expect(r.code).toBe(0);
    const poem = (await PoetryService.bundled()).defaultPoem.text.toLowerCase();
    expect(r.stdout).toBe(poem + poem);
    expect(r.stderr).toMatch(/Task 1: got \d+ bytes of poetry/);
    expect(r.stderr).toMatch(/Task 2: got \d+ bytes of poetry/);
    expect(r.stderr).toMatch(/Got 2 poems of 2/);
  });

  it("falls back to the untransformed poem when the transform server is down", async () => {
    const down = await deadPort();
    const r = await runCli([
      "get-poetry",
      "--via",
      "line",
      "--transform",
      `upper@${down}`,
      String(port("poetry/fast")),
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe((await PoetryService.bundled()).defaultPoem.text);
    expect(r.stderr).toMatch(/warning: transform upper failed \(ERR_CONNECTION_REFUSED/);
    expect(r.stderr).toMatch(/using the untransformed poem/);
  });

  it("exits 1 when every download failed", async () => {
    const down = await deadPort();
    const r = await runCli(["get-poetry", String(down)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Task 1: failed to get a poem .*ERR_CONNECTION_REFUSED/);
    expect(r.stderr).toMatch(/Got 0 poems of 1/);
  });
});

describe("weft transform and weft calc", () => {
  it("transforms stdin over each protocol", async () => {
    for (const via of ["netstring", "line", "amp"]) {
      const r = await runCli(
        ["transform", "reverse", "--via", via, "--to", String(port(`transform/${via}`))],
        "abc\n",
      );
      // stdin's final newline stays out of the transform; the output ends with one.
      expect(r).toMatchObject({ code: 0, stdout: "cba\n" });
    }
  });

  it("an unknown transform exits 1 with the typed error", async () => {
    const r = await runCli(
      ["transform", "nope", "--via", "line", "--to", String(port("transform/line"))],
      "x",
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ERR_UNKNOWN_TRANSFORM/);
  });

  it("calc spreads the calls over the ports", async () => {
    const list = ports.get("calculator/amp")?.join(",") as string;
    const r = await runCli(["calc", "2", "40", "--via", "amp", "--ports", list, "-n", "4"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("(42, 0)\n(42, 1)\n(42, 2)\n(42, 0)\ntotal: 168\n");
  });
});

describe("weft serve shutdown", () => {
  it("SIGTERM stops listening, closes connections and exits 0", async () => {
    server?.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(serverStderr).toMatch(/"msg":"stopped"/);
  });
});

/** In-process runs (no child process needed when nothing listens). */
async function runHere(args: string[]): Promise<Result> {
  let stdout = "";
  let stderr = "";
  const code = await run(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

describe("usage", () => {
  it("--help works on every command", async () => {
    for (const cmd of [[], ["serve"], ["get-poetry"], ["transform"], ["calc"]]) {
      const r = await runHere([...cmd, "--help"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Usage: weft/);
    }
    expect((await runHere(["serve", "--help"])).stdout).toMatch(/transform\s+line\s+10002/);
  });

  it("an invalid config exits 2 with a clear message", async () => {
    const file = join(dir, "bad.json");
    await writeFile(
      file,
      JSON.stringify({
        services: { transform: { listen: [{ protocol: "smtp", endpoint: "tcp:0" }] } },
      }),
    );
    const r = await runHere(["serve", "--config", file, "--log-level", "silent"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /invalid configuration: .*bad\.json: config\.services\.transform\.listen\[0\]\.protocol/,
    );
    const missing = await runHere([
      "serve",
      "--config",
      join(dir, "missing.json"),
      "--log-level",
      "silent",
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read/);
    await writeFile(file, "{ not json");
    expect((await runHere(["serve", "--config", file, "--log-level", "silent"])).stderr).toMatch(
      /not valid JSON/,
    );
  });

  it("a port that cannot be opened exits 1", async () => {
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", r));
    const port = (busy.address() as net.AddressInfo).port;
    const file = join(dir, "busy.json");
    await writeFile(
      file,
      JSON.stringify({
        services: { transform: { listen: [{ protocol: "line", endpoint: `tcp:${port}` }] } },
      }),
    );
    try {
      const r = await runHere(["serve", "--config", file, "--log-level", "silent"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`ERR_CANNOT_LISTEN: Cannot listen on 127.0.0.1:${port}:`);
    } finally {
      await new Promise<void>((r) => busy.close(() => r()));
    }
  });

  it("bad usage exits 2", async () => {
    expect((await runHere(["calc", "x", "1"])).code).toBe(2);
    expect((await runHere(["nonsense"])).code).toBe(2);
    expect((await runHere(["transform", "upper", "--via", "smtp"])).code).toBe(2);
    expect((await runHere(["serve", "--port-offset", "-3"])).code).toBe(2);
    expect((await runHere(["serve", "--log-level", "loud"])).code).toBe(2);
    expect((await runHere([])).code).toBe(2);
  });
});
