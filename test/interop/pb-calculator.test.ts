/**
 * The article's calculator across weft and Twisted: the article's Python client against weft's PB
 * front-end on three ports (and against examples/pb-calculator-server.ts), weft's clients against
 * the article's Python server, and Python's xmlrpc.client against the XML-RPC front-end.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { clientFromString } from "../../src/core/endpoints.js";
import type { ListeningPort } from "../../src/core/reactor.js";
import { createReactor } from "../../src/core/reactor.js";
import { CalculatorPBFactory } from "../../src/services/calculator/pb.js";
import { CalculatorPBClient } from "../../src/services/calculator/pb-client.js";
import { CalculatorService } from "../../src/services/calculator/service.js";
import { CalculatorXmlRpcServer } from "../../src/services/calculator/xmlrpc.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const PYTHON = "/usr/bin/python3";
const reactor = createReactor();
const ports: ListeningPort[] = [];
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill();
  for (const p of ports.splice(0)) await p.stopListening({ closeConnections: true });
});

function run(cmd: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], cwd: root });
    children.push(child);
    let out = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, out }));
  });
}

/** Start a server program; resolves with the ports it prints as `listening P1 P2 P3`. */
function start(cmd: string, args: string[]): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], cwd: root });
    children.push(child);
    let out = "";
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /listening ([\d ]+)\n/.exec(out);
      if (m) resolve((m[1] as string).trim().split(" ").map(Number));
    });
    child.on("error", reject);
    child.on("exit", (code) => reject(new Error(`${args.join(" ")} exited (${code}): ${out}`)));
  });
}

/** The article client's output: three tuples (any order) and the total of 89 + 110 + 131. */
function expectArticleOutput(out: string): void {
  const lines = out.trim().split("\n");
  expect(lines[0]).toBe("Connecting to Servers...");
  expect(lines.filter((l) => l === "connected")).toHaveLength(3);
  const tuples = lines.filter((l) => l.startsWith("("));
  expect(tuples.map((t) => Number(/^\((\d+),/.exec(t)?.[1])).sort()).toEqual([110, 131, 89]);
  expect(tuples.map((t) => Number(/, (\d)\)$/.exec(t)?.[1])).sort()).toEqual([0, 1, 2]);
  expect(lines.at(-1)).toBe("total: 330");
}

describe("the article's PB calculator, weft and Twisted", () => {
  it("the article's Twisted client totals the answers of weft's three PB servers", async () => {
    const service = new CalculatorService();
    const list: number[] = [];
    for (const serverId of [0, 1, 2]) {
      const p = await reactor.listenTCP(0, new CalculatorPBFactory(service, { serverId }), {
        interface: "127.0.0.1",
      });
      ports.push(p);
      list.push(p.getHost().port);
    }
    const r = await run(PYTHON, [
      join(here, "pb_article.py"),
      "client",
      "127.0.0.1",
      ...list.map(String),
    ]);
    expect(r.code).toBe(0);
    expectArticleOutput(r.out);
  });

  it("the article's Twisted client against examples/pb-calculator-server.ts", async () => {
    const list = await start(process.execPath, [
      "--import",
      "tsx",
      "examples/pb-calculator-server.ts",
      "0",
    ]);
    const r = await run(PYTHON, [
      join(here, "pb_article.py"),
      "client",
      "127.0.0.1",
      ...list.map(String),
    ]);
    expectArticleOutput(r.out);
  });

  it("examples/pb-calculator-client.ts and weft's PB client against the article's Twisted server", async () => {
    const list = await start(PYTHON, [join(here, "pb_article.py"), "server"]);
    const r = await run(process.execPath, [
      "--import",
      "tsx",
      "examples/pb-calculator-client.ts",
      "127.0.0.1",
      ...list.map(String),
    ]);
    expect(r.code).toBe(0);
    expectArticleOutput(r.out);
    const client = new CalculatorPBClient(
      list.map((p) => clientFromString(reactor, `tcp:127.0.0.1:${p}`)),
    );
    try {
      const answers = await client.calculateAll([
        [1, 2],
        [3, 4],
        [2n ** 70n, 1],
      ]);
      expect(answers).toEqual([
        { result: 3, server: 0 },
        { result: 7, server: 1 },
        { result: 2n ** 70n + 1n, server: 2 },
      ]);
    } finally {
      client.close();
    }
  });

  it("Python's xmlrpc.client calls calculate over XML-RPC and gets faults for bad requests", async () => {
    const xmlrpc = new CalculatorXmlRpcServer(new CalculatorService(), { serverId: 0 });
    const port = await xmlrpc.listen({ port: 0 });
    ports.push(port);
    const r = await run(PYTHON, [join(here, "pb_xmlrpc_client.py"), String(port.getHost().port)]);
    expect(r.out.trim().split("\n")).toEqual([
      "calculate [89, 0]",
      `calculate-big [${2 ** 31}, 0]`,
      "params -32602",
      "params -32602",
      "params -32602",
      "method -32601",
      "malformed 200 -32700",
      "malformed 200 -32700",
      "malformed 200 -32700",
      "after [3, 0]",
    ]);
  });
});
