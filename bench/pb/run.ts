/**
 * PB benchmark (`node --import tsx bench/pb/run.ts`, part of `npm run bench`):
 *
 * 1. calculate calls/s over loopback against three servers, each in its own child process:
 *    weft's calculator over PB, the same calculator over AMP, and Twisted's PB server (the
 *    article's Calculator, when /usr/bin/python3 has Twisted). The PB servers get the same client
 *    (weft's Broker, `callRemote("calculate", a, b)`); AMP gets weft's AMP client. Loads: 1
 *    connection and 64 connections each waiting for its answer (closed loop), and 64 calls
 *    pipelined on one connection. Each server reports its own CPU time: CPU µs per call is the
 *    steadier number on a shared machine.
 * 2. banana decoding, in memory: tokens/s for a stream of 20 000 calculate messages, weft's
 *    BananaDecoder vs Twisted's Banana.dataReceived (64 KiB chunks).
 *
 * The same file is the child server: `run.ts --serve pb|amp`.
 * Env: BENCH_SCALE (multiplies call counts), BENCH_SAMPLES (default 3, best reported),
 * BENCH_TWISTED=0 (skip Twisted). Every load is bounded by a call count and 20 s.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { clientFromString, connectProtocol } from "../../src/core/endpoints.js";
import { createReactor } from "../../src/core/reactor.js";
import { AMP } from "../../src/protocols/amp/protocol.js";
import { BananaDecoder, BananaEncoder, PBClientFactory } from "../../src/protocols/pb/index.js";
import { Calculate, CalculatorAMPFactory } from "../../src/services/calculator/amp.js";
import { CalculatorPBFactory } from "../../src/services/calculator/pb.js";
import { CalculatorService } from "../../src/services/calculator/service.js";
import { SAMPLES, SCALE, TWISTED } from "../amp/common.js";

const here = dirname(fileURLToPath(import.meta.url));
const thisFile = fileURLToPath(import.meta.url);
const PYTHON = "/usr/bin/python3";
const MAX_MS = 20_000;
const CALLS = Math.max(64, Math.round(20_000 * SCALE));

// ---------------------------------------------------------------- child servers

async function serve(kind: string): Promise<void> {
  const reactor = createReactor();
  const service = new CalculatorService();
  const factory =
    kind === "amp"
      ? new CalculatorAMPFactory(service, { serverId: 0 })
      : new CalculatorPBFactory(service);
  const port = await reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
  process.stdout.write(`listening ${port.getHost().port}\n`);
  let buf = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (c: string) => {
    buf += c;
    if (buf.includes("cpu\n")) {
      buf = "";
      const u = process.cpuUsage();
      process.stdout.write(`cpu ${u.user + u.system}\n`);
    }
  });
  process.stdin.on("end", () => process.exit(0));
}

interface Server {
  readonly port: number;
  cpu(): Promise<number>;
  stop(): void;
}

function startServer(cmd: string, args: string[]): Promise<Server> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(cmd, args, { stdio: ["pipe", "pipe", "inherit"] });
    let out = "";
    let cpuWaiter: ((us: number) => void) | null = null;
    child.stdout?.setEncoding("utf8");
    child.stdout?.on("data", (c: string) => {
      out += c;
      const m = /listening (\d+)\n/.exec(out);
      if (m !== null && out.indexOf("listening") >= 0) {
        out = out.slice((m.index ?? 0) + m[0].length);
        resolve({
          port: Number(m[1]),
          cpu: () =>
            new Promise((r) => {
              cpuWaiter = r;
              child.stdin?.write("cpu\n");
            }),
          stop: () => child.stdin?.end(),
        });
      }
      const cm = /cpu (\d+)\n/.exec(out);
      if (cm !== null && cpuWaiter !== null) {
        out = out.slice((cm.index ?? 0) + cm[0].length);
        const w = cpuWaiter as (us: number) => void;
        cpuWaiter = null;
        w(Number(cm[1]));
      }
    });
    child.on("error", reject);
  });
}

// ---------------------------------------------------------------- clients

type Call = () => PromiseLike<unknown>;

async function pbCalls(
  port: number,
  connections: number,
): Promise<{ calls: Call[]; close(): void }> {
  const reactor = createReactor();
  const factories: PBClientFactory[] = [];
  const calls: Call[] = [];
  for (let i = 0; i < connections; i++) {
    const f = new PBClientFactory();
    factories.push(f);
    reactor.connectTCP("127.0.0.1", port, f);
    const root = await f.getRootObject();
    calls.push(() => root.callRemote("calculate", 42, 47));
  }
  return {
    calls,
    close: () => {
      for (const f of factories) f.disconnect();
    },
  };
}

async function ampCalls(
  port: number,
  connections: number,
): Promise<{ calls: Call[]; close(): void }> {
  const reactor = createReactor();
  const protos: AMP[] = [];
  const calls: Call[] = [];
  for (let i = 0; i < connections; i++) {
    const amp = await connectProtocol(
      clientFromString(reactor, `tcp:127.0.0.1:${port}`),
      new AMP(),
    );
    protos.push(amp);
    calls.push(() => amp.callRemote(Calculate, { a: 42, b: 47 }));
  }
  return {
    calls,
    close: () => {
      for (const p of protos) p.transport.loseConnection();
    },
  };
}

/** Closed loop: each connection makes its next call when the last answered; or `window` in flight on one. */
async function load(calls: Call[], total: number, window: number): Promise<number> {
  const t0 = performance.now();
  let started = 0;
  const lane = async (call: Call): Promise<void> => {
    while (started < total && performance.now() - t0 < MAX_MS) {
      started++;
      await call();
    }
  };
  const lanes: Promise<void>[] = [];
  for (const c of calls) for (let w = 0; w < window; w++) lanes.push(lane(c));
  await Promise.all(lanes);
  return started / ((performance.now() - t0) / 1000);
}

interface Result {
  rate: number;
  cpuPerCall: number;
}

async function measureServer(
  server: Server,
  connect: (port: number, n: number) => Promise<{ calls: Call[]; close(): void }>,
  connections: number,
  window: number,
): Promise<Result> {
  const conn = await connect(server.port, connections);
  await load(conn.calls, Math.min(2000, CALLS), window);
  let best: Result = { rate: 0, cpuPerCall: Number.POSITIVE_INFINITY };
  for (let s = 0; s < SAMPLES; s++) {
    const cpu0 = await server.cpu();
    const rate = await load(conn.calls, CALLS, window);
    const cpu1 = await server.cpu();
    const r = { rate, cpuPerCall: (cpu1 - cpu0) / CALLS };
    if (r.rate > best.rate) best = r;
  }
  conn.close();
  return best;
}

// ---------------------------------------------------------------- banana decoding

function bananaStream(messages: number): Buffer {
  const enc = new BananaEncoder();
  enc.useVocabulary();
  const parts: Buffer[] = [];
  for (let i = 1; i <= messages; i++) {
    parts.push(
      Buffer.from(
        enc.encode([
          "message",
          i,
          Buffer.from("root"),
          Buffer.from("calculate"),
          1,
          ["tuple", 42, 47],
          ["dictionary"],
        ]),
      ),
    );
    parts.push(Buffer.from(enc.encode(["answer", i, ["tuple", 89, 0]])));
  }
  return Buffer.concat(parts);
}

/** Tokens in one message (12: list, 5 atoms, tuple list + 3, dict list + 1) and one answer (7). */
const TOKENS_PER_PAIR = 19;

function weftBanana(stream: Buffer): number {
  let best = Number.POSITIVE_INFINITY;
  for (let s = 0; s < Math.max(3, SAMPLES); s++) {
    let n = 0;
    const d = new BananaDecoder({
      onFrame: () => n++,
      onError: (e) => {
        throw e;
      },
    });
    d.useVocabulary();
    const t = performance.now();
    for (let i = 0; i < stream.length; i += 65536) d.feed(stream.subarray(i, i + 65536));
    best = Math.min(best, (performance.now() - t) / 1000);
  }
  return best;
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const servers: Array<[string, Server]> = [
    [
      "weft PB",
      await startServer(process.execPath, ["--import", "tsx", thisFile, "--serve", "pb"]),
    ],
    [
      "weft AMP",
      await startServer(process.execPath, ["--import", "tsx", thisFile, "--serve", "amp"]),
    ],
  ];
  if (TWISTED)
    servers.push(["Twisted PB", await startServer(PYTHON, [join(here, "twisted_server.py")])]);
  const loads: Array<[string, number, number]> = [
    ["1 connection", 1, 1],
    ["64 connections", 64, 1],
    ["64 pipelined on 1", 1, 64],
  ];
  const rows: string[] = [
    "| server | load | calls/s | server CPU µs/call |",
    "|---|---|---:|---:|",
  ];
  for (const [loadName, conns, window] of loads) {
    for (const [name, server] of servers) {
      const connect = name === "weft AMP" ? ampCalls : pbCalls;
      const r = await measureServer(server, connect, conns, window);
      rows.push(`| ${name} | ${loadName} | ${Math.round(r.rate)} | ${r.cpuPerCall.toFixed(1)} |`);
      process.stdout.write(`${rows.at(-1)}\n`);
    }
  }
  for (const [, s] of servers) s.stop();

  const pairs = Math.round(20_000 * SCALE);
  const stream = bananaStream(pairs);
  const tokens = pairs * TOKENS_PER_PAIR;
  const weftSeconds = weftBanana(stream);
  rows.push("", "| banana decoder | tokens/s |", "|---|---:|");
  rows.push(`| weft BananaDecoder | ${Math.round(tokens / weftSeconds)} |`);
  if (TWISTED) {
    const dir = mkdtempSync(join(tmpdir(), "pb-bench-"));
    const file = join(dir, "stream.hex");
    writeFileSync(file, stream.toString("hex"));
    const out = await new Promise<string>((resolve) => {
      const c = spawn(PYTHON, [join(here, "twisted_server.py"), "banana", file, "3"]);
      let o = "";
      c.stdout.on("data", (d: Buffer) => {
        o += d.toString();
      });
      c.on("close", () => resolve(o));
    });
    const m = /banana (\d+) ([\d.]+)/.exec(out);
    if (m !== null) rows.push(`| Twisted Banana | ${Math.round(tokens / Number(m[2]))} |`);
  }
  process.stdout.write(`\n${rows.join("\n")}\n`);
}

const serveAt = process.argv.indexOf("--serve");
if (serveAt >= 0) void serve(process.argv[serveAt + 1] ?? "pb");
else await main();
