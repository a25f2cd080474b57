/**
 * `weft serve --config FILE` with `"modules"`, through the built command (`node dist/cli.js`) as a
 * user runs it: a user's module (test/cli/fixtures/my-protocols.mjs, copied next to the config in a
 * foreign folder whose `node_modules/weft` is this checkout) serves (a) its own service over weft's
 * line receiver and (b) weft's transform service over its own protocol, with real clients on
 * 127.0.0.1 and a graceful SIGTERM. Also: what a broken module or config does (exit 2, the JSON
 * path in the message), and that the library entries load neither commander nor pino.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TransformProxy } from "../../src/services/transform/clients.js";
import { collectOutput } from "../helpers/children.js";
import { endpoint, lines } from "../services/helpers.js";
import { portIn, readServeTable, type ServePorts } from "./serve-table.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CLI = join(ROOT, "dist", "cli.js");
const FIXTURE = fileURLToPath(new URL("./fixtures/my-protocols.mjs", import.meta.url));

let dir = "";

/** Write `config` as `name` in the temp folder; returns its path. */
async function configFile(name: string, config: unknown): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, JSON.stringify(config, null, 2));
  return file;
}

/** `weft serve` with `args`, in the temp folder, until it exits. */
function serveToExit(args: string[]) {
  return collectOutput(
    spawn(process.execPath, [CLI, "serve", "--log-level", "silent", ...args], {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
}

beforeAll(async () => {
  // Builds dist/ only when it is missing or older than src/ (as test/package does).
  execFileSync(process.execPath, ["scripts/ensure-build.mjs"], { cwd: ROOT, stdio: "pipe" });
  dir = await mkdtemp(join(tmpdir(), "weft-serve-modules-"));
  await writeFile(join(dir, "package.json"), JSON.stringify({ name: "a-user-project" }));
  await mkdir(join(dir, "node_modules"));
  await symlink(ROOT, join(dir, "node_modules", "weft"), "dir");
  await mkdir(join(dir, "lib"));
  await copyFile(FIXTURE, join(dir, "lib", "my-protocols.mjs"));
}, 300_000);

afterAll(async () => {
  if (dir !== "") await rm(dir, { recursive: true, force: true });
});

describe("weft serve with a config that loads a module", () => {
  let child: ChildProcess | null = null;
  let exited: Promise<number | null> = Promise.resolve(null);
  const ports: ServePorts = new Map();
  const port = (key: string, i = 0): number => portIn(ports, key, i);

  beforeAll(async () => {
    // The config lives in conf/, the module in lib/: "modules" is relative to the config file.
    await mkdir(join(dir, "conf"));
    const file = await configFile(join("conf", "suite.json"), {
      modules: ["../lib/my-protocols.mjs"],
      services: {
        tally: {
          start: 100,
          stateFile: "tally-state.json",
          listen: [{ protocol: "line", endpoint: "tcp:0" }],
        },
        transform: {
          listen: [
            { protocol: "colon", endpoint: "tcp:0" },
            { protocol: "line", endpoint: "tcp:0" },
          ],
        },
      },
    });
    const c = spawn(process.execPath, [CLI, "serve", "--config", file, "--log-level", "info"], {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = c;
    exited = new Promise((r) => c.on("exit", (code) => r(code)));
    let stderr = "";
    c.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const table = await new Promise<string>((resolve, reject) => {
      let out = "";
      c.stdout?.setEncoding("utf8").on("data", (d: string) => {
        out += d;
        if (out.split("\n").filter((l) => l.trim() !== "").length >= 4) resolve(out);
      });
      c.on("exit", (code) => reject(new Error(`weft serve exited ${code}: ${stderr}`)));
    });
    readServeTable(table, ports);
  }, 60_000);

  afterAll(() => {
    if (child !== null && child.exitCode === null && child.signalCode === null)
      child.kill("SIGKILL");
  });

  it("lists the module's service and protocol in the table, in registry order", () => {
    expect([...ports.keys()]).toEqual(["transform/colon", "transform/line", "tally/line"]);
    for (const list of ports.values()) for (const p of list) expect(p).toBeGreaterThan(0);
  });

  it("(a) serves the user's own service over weft's line receiver, with its settings", async () => {
    expect(await lines(port("tally/line"), "apples\r\nbananas\r\napples\r\n", 3)).toEqual([
      "apples 101",
      "bananas 101",
      "apples 102",
    ]);
  });

  it("(b) serves the built-in transform service over the user's protocol, beside its own", async () => {
    expect(
      await lines(port("transform/colon"), "upper:o rose\r\nreverse:abc\r\nnope:x\r\n", 3),
    ).toEqual(["O ROSE", "cba", "! ERR_UNKNOWN_TRANSFORM"]);
    const proxy = new TransformProxy(endpoint(port("transform/line")), { via: "line" });
    try {
      await expect(proxy.xform("upper", "same service")).resolves.toBe("SAME SERVICE");
    } finally {
      proxy.close();
    }
  });

  it("SIGTERM stops it (exit 0) and the user service's stop hook saves its state", async () => {
    child?.kill("SIGTERM");
    expect(await exited).toBe(0);
    const state = JSON.parse(await readFile(join(dir, "conf", "tally-state.json"), "utf8"));
    expect(state).toEqual({ apples: 102, bananas: 101 });
  });
});

describe("a broken module or config is exit 2 with the JSON path", () => {
  const user = { tally: { listen: [{ protocol: "line", endpoint: "tcp:0" }] } };

  it.each([
    [
      "the user's schema rejects a setting",
      { modules: ["./lib/my-protocols.mjs"], services: { tally: { ...user.tally, start: "x" } } },
      "config.services.tally.start: must be an integer",
    ],
    [
      "the user's service is named without its module",
      { services: user },
      'config.services.tally: unknown key "tally" (allowed: poetry, transform, calculator',
    ],
    [
      "the module file does not exist",
      { modules: ["./lib/nope.mjs"], services: user },
      'config.modules[0]: cannot load "./lib/nope.mjs"',
    ],
    [
      "a module path that is not a path",
      { modules: ["my-protocols"], services: user },
      'config.modules[0]: cannot load "my-protocols": must be a path relative to the config file',
    ],
  ])(
    "%s",
    async (_what, config, message) => {
      const r = await serveToExit(["--config", await configFile("bad.json", config)]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`weft serve: invalid configuration: ${join(dir, "bad.json")}: `);
      expect(r.stderr).toContain(message);
      expect(r.stdout).toBe("");
    },
    30_000,
  );

  it.each([
    [
      "a front-end without a build function",
      "export default { services: [{ name: 'x', create: () => ({}), frontEnds: { line: { description: 'x', build: 5 } } }] };",
      "config.modules[0].services[0].frontEnds.line.build: must be a function",
    ],
    [
      "a mistyped key",
      "export default { services: [{ name: 'x', create: () => ({}), frontEnds: { line: { description: 'x', build() {}, defaultEndpoint: 'tcp:1' } } }] };",
      'config.modules[0].services[0].frontEnds.line.defaultEndpoint: unknown key "defaultEndpoint"',
    ],
    [
      "no default export",
      "export const services = [];",
      'config.modules[0]: "./broken.mjs" has no default export',
    ],
  ])(
    "a module with %s",
    async (_what, source, message) => {
      await writeFile(join(dir, "broken.mjs"), source);
      const file = await configFile("broken.json", {
        modules: ["./broken.mjs"],
        services: { transform: { listen: [{ protocol: "line", endpoint: "tcp:0" }] } },
      });
      const r = await serveToExit(["--config", file]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(message);
    },
    30_000,
  );
});

describe("the library entries", () => {
  /** Every file `entry` imports, transitively, among dist's own chunks. */
  function closure(entry: string): string[] {
    const seen = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file) || !existsSync(file)) return;
      seen.add(file);
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(/(?:from|import|require)\s*\(?\s*["'](\.\.?\/[^"']+)["']/g))
        visit(join(file, "..", m[1] as string));
    };
    visit(entry);
    return [...seen];
  }

  it("load neither commander nor pino (only the CLI does), in ESM and CJS", () => {
    const entries = ["index", "testing", "services"].flatMap((e) =>
      [`${e}.js`, `${e}.cjs`].map((f) => join(ROOT, "dist", f)).filter((f) => existsSync(f)),
    );
    expect(entries.length).toBeGreaterThanOrEqual(4);
    for (const entry of entries) {
      for (const file of closure(entry))
        expect(readFileSync(file, "utf8"), file).not.toMatch(/["'](commander|pino)["']/);
    }
    // And at run time, under require: nothing from either package is in the module cache.
    const loaded = execFileSync(
      process.execPath,
      [
        "-e",
        `require(${JSON.stringify(join(ROOT, "dist", "index.cjs"))});
         console.log(Object.keys(require.cache).filter((k) => /node_modules[\\\\/](commander|pino)[\\\\/]/.test(k)).length)`,
      ],
      { encoding: "utf8" },
    );
    expect(loaded.trim()).toBe("0");
    // The CLI does load them.
    expect(readFileSync(CLI, "utf8")).toMatch(/from "commander"/);
  });
});
