/**
 * `weft serve` exactly as a newcomer starts it: no `--config` (the default configuration: every
 * service on its default ports), shifted by `--port-offset` onto ports probed free first. Runs from
 * a foreign working directory that has its own `poems/` folder (weft must serve its bundled poems,
 * not that folder). Self-contained: starts its own server and stops it with SIGTERM while a client
 * connection is still open.
 */
import { type ChildProcess, spawn } from "node:child_process";
import dgram from "node:dgram";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClientEndpoint, connectProtocol } from "../../src/core/endpoints.js";
import { AMP } from "../../src/protocols/amp/protocol.js";
import { CalculatorClient } from "../../src/services/calculator/client.js";
import { CalculatorPBClient } from "../../src/services/calculator/pb-client.js";
import { CalculatorXmlRpcClient } from "../../src/services/calculator/xmlrpc-client.js";
import { Next } from "../../src/services/fibonacci/amp.js";
import { getPoem } from "../../src/services/poetry/clients.js";
import { bundledPoemsDirectory, PoetryService } from "../../src/services/poetry/service.js";
import { defaultSuiteConfig } from "../../src/services/suite/index.js";
import { TransformProxy, type TransformVia } from "../../src/services/transform/clients.js";
import { Subscribe } from "../../src/services/weblog/amp.js";
import { collectOutput } from "../helpers/children.js";
import { endpoint, exchange, lines } from "../services/helpers.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** tsx by absolute URL: the child's working directory is a temp folder without node_modules. */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
const MAIN = join(ROOT, "src", "cli", "main.ts");
/** Seconds the server gives open connections on SIGTERM before aborting them. */
const GRACE = 10;

/** What the default config serves: `service/protocol` and the default port, in config order. */
const DEFAULTS = (() => {
  const out: Array<{ key: string; port: number; udp: boolean }> = [];
  const services = defaultSuiteConfig().services;
  for (const service of Object.keys(services)) {
    for (const entry of services[service]?.listen ?? []) {
      const m = /^(tcp|udp):(\d+)$/.exec(entry.endpoint);
      out.push({
        key: `${service}/${entry.protocol}`,
        port: Number(m?.[2]),
        udp: m?.[1] === "udp",
      });
    }
  }
  return out;
})();

/** Sends one datagram to 127.0.0.1:`port` and resolves with the first reply (2 s at most). */
function datagram(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket("udp4");
    const timer = setTimeout(() => {
      s.close();
      reject(new Error(`no UDP reply from port ${port}`));
    }, 2000);
    s.once("message", (msg) => {
      clearTimeout(timer);
      s.close();
      resolve(msg.toString("utf8"));
    });
    s.send(text, port, "127.0.0.1");
  });
}

function canBind(port: number, udp = false): Promise<boolean> {
  if (udp) {
    return new Promise((resolve) => {
      const s = dgram.createSocket("udp4");
      s.once("error", () => resolve(false));
      s.bind(port, "127.0.0.1", () => s.close(() => resolve(true)));
    });
  }
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

/** A random offset in 20000..40000 such that every default port + offset can be bound now. */
async function freeOffset(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const offset = 20000 + Math.floor(Math.random() * 20001);
    let free = true;
    for (const d of DEFAULTS) {
      if (!(await canBind(d.port + offset, d.udp))) {
        free = false;
        break;
      }
    }
    if (free) return offset;
  }
  throw new Error("no port offset in 20000..40000 with every default port free");
}

interface Server {
  child: ChildProcess;
  offset: number;
  table: string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Start `weft serve --port-offset N` (no config) in `cwd`; resolves once the whole table is printed. */
function startServe(cwd: string, offset: number): Promise<Server> {
  const child = spawn(
    process.execPath,
    ["--import", TSX, MAIN, "serve", "--port-offset", String(offset), "--grace", String(GRACE)],
    { cwd, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.on("exit", (code, signal) => r({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      if (out.split("\n").filter((l) => l.trim() !== "").length >= DEFAULTS.length + 1)
        resolve({ child, offset, table: out, stderr: () => stderr, exited });
    });
    child.on("exit", (code) =>
      reject(Object.assign(new Error(`weft serve exited ${code}: ${stderr}`), { code, stderr })),
    );
  });
}

let dir = "";
let server: Server | null = null;
/** Rows of the printed table. */
const rows: Array<{ key: string; host: string; port: number }> = [];
const portOf = (key: string, i = 0): number => {
  const p = rows.filter((r) => r.key === key)[i]?.port;
  if (p === undefined) throw new Error(`no ${key} #${i} in the table`);
  return p;
};

beforeAll(async () => {
  // A foreign project: its own package.json and a poems/ folder whose poem sorts first.
  dir = await mkdtemp(join(tmpdir(), "weft-serve-default-"));
  await writeFile(join(dir, "package.json"), JSON.stringify({ name: "someone-else" }));
  await mkdir(join(dir, "poems"));
  await writeFile(join(dir, "poems", "aaa-not-weft.txt"), "NOT ONE OF WEFT'S POEMS\n");
  // A port may be taken between the probe and the bind: try again with another offset.
  for (let attempt = 1; ; attempt++) {
    try {
      server = await startServe(dir, await freeOffset());
      break;
    } catch (err) {
      const e = err as { code?: number; stderr?: string };
      if (attempt >= 3 || e.code !== 1 || !/ERR_CANNOT_LISTEN/.test(e.stderr ?? "")) throw err;
    }
  }
  const lines = server.table.trim().split("\n");
  expect(lines[0]).toMatch(/^SERVICE\s+PROTOCOL\s+ADDRESS$/);
  for (const line of lines.slice(1)) {
    const [service, protocol, address] = line.trim().split(/\s+/);
    const m = /^(127\.0\.0\.1):(\d+)$/.exec(address ?? "");
    if (m === null) throw new Error(`unexpected table row ${JSON.stringify(line)}`);
    rows.push({ key: `${service}/${protocol}`, host: m[1] as string, port: Number(m[2]) });
  }
}, 60_000);

afterAll(async () => {
  if (server !== null && server.child.exitCode === null && server.child.signalCode === null) {
    server.child.kill("SIGKILL");
    await server.exited;
  }
  await rm(dir, { recursive: true, force: true });
});

describe("weft serve without --config", () => {
  it("prints every default front-end on its default port + offset, loopback only", () => {
    const offset = server?.offset as number;
    // The list, at least…
    for (const key of [
      "poetry/fast",
      "poetry/slow",
      "poetry/netstring",
      "poetry/amp",
      "transform/netstring",
      "transform/line",
      "transform/amp",
    ])
      expect(rows.map((r) => r.key)).toContain(key);
    expect(rows.filter((r) => r.key === "calculator/amp")).toHaveLength(3);
    expect(rows.filter((r) => r.key === "calculator/pb")).toHaveLength(3);
    // …and exactly what the default configuration names, in order.
    expect(rows.map((r) => ({ key: r.key, port: r.port }))).toEqual(
      DEFAULTS.map((d) => ({ key: d.key, port: d.port + offset })),
    );
    expect(new Set(rows.map((r) => r.host))).toEqual(new Set(["127.0.0.1"]));
  });

  it("answers on every listed port with the matching client", async () => {
    const poetry = await PoetryService.bundled();
    const poem = poetry.defaultPoem.text;
    const checked = new Set<string>();
    for (const row of rows) {
      switch (row.key) {
        case "poetry/fast":
          expect((await exchange(row.port)).toString()).toBe(poem);
          break;
        case "poetry/slow":
          await expect(getPoem(endpoint(row.port))).resolves.toBe(poem);
          break;
        case "poetry/netstring":
          await expect(
            getPoem(endpoint(row.port), { via: "netstring", name: "dickinson-hope" }),
          ).resolves.toBe(poetry.getPoem("dickinson-hope").text);
          break;
        case "poetry/amp":
          await expect(
            getPoem(endpoint(row.port), { via: "amp", name: "shelley-ozymandias" }),
          ).resolves.toBe(poetry.getPoem("shelley-ozymandias").text);
          break;
        case "transform/netstring":
        case "transform/line":
        case "transform/amp": {
          const via = row.key.slice("transform/".length) as TransformVia;
          const proxy = new TransformProxy(endpoint(row.port), { via });
          try {
            await expect(proxy.xform("upper", "o rose, thou art sick")).resolves.toBe(
              "O ROSE, THOU ART SICK",
            );
            await expect(proxy.xform("reverse", "abc")).resolves.toBe("cba");
          } finally {
            proxy.close();
          }
          break;
        }
        case "calculator/pb":
        case "calculator/amp": {
          if (checked.has(row.key)) break; // all three ports at once
          const ends = [0, 1, 2].map((i) => endpoint(portOf(row.key, i)));
          const calc =
            row.key === "calculator/pb" ? new CalculatorPBClient(ends) : new CalculatorClient(ends);
          try {
            // The article's servers: ids 0, 1, 2 on the three ports.
            await expect(
              calc.calculateAll([
                [1, 2],
                [3, 4],
                [5, 6],
              ]),
            ).resolves.toEqual([
              { result: 3, server: 0 },
              { result: 7, server: 1 },
              { result: 11, server: 2 },
            ]);
          } finally {
            calc.close();
          }
          break;
        }
        case "calculator/xmlrpc": {
          const calc = new CalculatorXmlRpcClient([{ host: "127.0.0.1", port: row.port }]);
          try {
            await expect(calc.calculateAll([[40, 2]])).resolves.toEqual([
              { result: 42, server: 0 },
            ]);
          } finally {
            calc.close();
          }
          break;
        }
        case "transform/udp":
          expect(await datagram(row.port, "upper o rose")).toBe("OK O ROSE");
          break;
        case "calculator/line":
          expect(await lines(row.port, "40 2\r\n", 1)).toEqual(["OK 42 0"]);
          break;
        case "weblog/line": {
          const [first] = await lines(row.port, "NEW?\r\n", 1);
          expect(first).toMatch(/^(NONE|HIT \{.*)$/);
          break;
        }
        case "weblog/push":
          // It pushes every 5 s (the demo log grows every second); here: it accepts a client.
          await new Promise<void>((resolve, reject) => {
            const c = net.connect(row.port, "127.0.0.1", () => {
              c.destroy();
              resolve();
            });
            c.on("error", reject);
          });
          break;
        case "weblog/amp": {
          const amp = await connectProtocol(endpoint(row.port) as ClientEndpoint, new AMP());
          try {
            expect(await amp.callRemote(Subscribe, {})).toEqual({});
          } finally {
            amp.transport.loseConnection();
          }
          break;
        }
        case "fibonacci/line":
          expect((await lines(row.port, "next\r\n", 1))[0]).toMatch(/^[1-9][0-9]*$/);
          break;
        case "fibonacci/amp": {
          const amp = await connectProtocol(endpoint(row.port) as ClientEndpoint, new AMP());
          try {
            expect((await amp.callRemote(Next, {})).number).toBeGreaterThan(1n);
          } finally {
            amp.transport.loseConnection();
          }
          break;
        }
        default:
          throw new Error(`no check for the default front-end ${row.key}: add one`);
      }
      checked.add(row.key);
    }
    expect([...checked].sort()).toEqual([...new Set(DEFAULTS.map((d) => d.key))].sort());
  }, 30_000);

  it("serves weft's bundled poems, not the poems/ folder of the directory it runs in", async () => {
    const served = (await exchange(portOf("poetry/fast"))).toString();
    expect(served).not.toMatch(/NOT ONE OF WEFT'S POEMS/);
    expect(served).toBe((await PoetryService.bundled()).defaultPoem.text);
    expect(bundledPoemsDirectory()).toBe(join(ROOT, "poems"));
  });

  it("weft get-poetry fetches from it and transforms through it", async () => {
    const r = await collectOutput(
      spawn(
        process.execPath,
        [
          "--import",
          TSX,
          MAIN,
          "get-poetry",
          "--transform",
          `cummingsify@${portOf("transform/netstring")}`,
          String(portOf("poetry/fast")),
          `127.0.0.1:${portOf("poetry/slow")}`,
        ],
        { cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
      ),
    );
    expect(r.code).toBe(0);
    const poem = (await PoetryService.bundled()).defaultPoem.text.toLowerCase();
    expect(r.stdout).toBe(poem + poem);
    expect(r.stderr).toMatch(/Task 1: got \d+ bytes of poetry/);
    expect(r.stderr).toMatch(/Task 2: got \d+ bytes of poetry/);
    expect(r.stderr).toMatch(/Got 2 poems of 2/);
  }, 30_000);

  it("a second weft serve on the same ports exits 1 naming the busy port", async () => {
    const s = server as Server;
    const second = await startServe(dir, s.offset).then(
      (started) => {
        started.child.kill("SIGKILL");
        throw new Error("a second weft serve started on ports already in use");
      },
      (err: { code?: number; stderr?: string }) => err,
    );
    expect(second.code).toBe(1);
    const first = DEFAULTS[0] as { port: number };
    expect(second.stderr).toContain(
      `weft serve: ERR_CANNOT_LISTEN: Cannot listen on 127.0.0.1:${first.port + s.offset}:`,
    );
    expect(second.stderr).toMatch(/EADDRINUSE/);
  }, 30_000);

  it("SIGTERM with a client still connected: the client is closed and weft exits 0 within the grace period", async () => {
    const s = server as Server;
    // A raw client on the persistent line front-end that never closes its side.
    const client = net.connect(portOf("transform/line"), "127.0.0.1");
    client.setEncoding("utf8");
    let received = "";
    let sawEnd = false;
    const closed = new Promise<{ hadError: boolean }>((r) =>
      client.on("close", (hadError) => r({ hadError })),
    );
    client.on("end", () => {
      sawEnd = true;
    });
    client.on("error", () => undefined);
    // The connection is live: one request answered, and it stays open afterwards.
    await new Promise<void>((resolve, reject) => {
      client.on("data", (d: string) => {
        received += d;
        if (received.includes("\r\n")) resolve();
      });
      client.once("error", reject);
      client.write("upper still here\r\n");
    });
    expect(received).toBe("OK STILL HERE\r\n");
    expect(client.destroyed).toBe(false);

    s.child.kill("SIGTERM");
    let graceTimer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<"grace over">((r) => {
      graceTimer = setTimeout(() => r("grace over"), GRACE * 1000);
    });
    const outcome = await Promise.race([s.exited, graceOver]);
    clearTimeout(graceTimer);
    expect(outcome).toEqual({ code: 0, signal: null });
    // The server closed the connection (a clean FIN, not an abort after the grace period).
    expect(await closed).toEqual({ hadError: false });
    expect(sawEnd).toBe(true);
    client.destroy();
    expect(s.stderr()).toMatch(/"msg":"stopped"/);
    expect(s.stderr()).not.toMatch(/still open after the grace period/);
    // Nothing listens any more.
    for (const row of rows) expect([row.key, await canBind(row.port)]).toEqual([row.key, true]);
  }, 30_000);
});
