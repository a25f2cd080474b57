/**
 * `npm run bench -- hardening`: issue 10's attacks at full size against a suite in another process
 * (server.ts) with the default connection limits, each bounded in count and time:
 *
 * - amp: 200 connections each holding an unfinished AMP box just under the 1 MiB box limit;
 * - netstring: 1,000 connections each holding an unfinished 99,992-byte netstring;
 * - slowloris: 1,000 + 1,000 connections to the netstring and line front-ends, one byte every 3 s,
 *   until the server has closed them all (at most 45 s).
 *
 * For each: what the server closed, the protocol bytes it holds (its accounting), a request from
 * another client answered during the attack (round-trip ms), and RSS before / at the peak / after
 * the attackers left / after a full GC — whether memory comes back.
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as net from "node:net";
import { createInterface, type Interface } from "node:readline";

interface Stats {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  held: number;
  connections: number;
  logLines: number;
  logBytes: number;
}

const MB = 1e6;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function startServer(): Promise<{
  child: ChildProcess;
  rl: Interface;
  ports: Record<string, number>;
}> {
  const child = spawn(
    process.execPath,
    ["--expose-gc", "--import", "tsx", "bench/hardening/server.ts"],
    {
      stdio: ["pipe", "pipe", "pipe"],
    },
  );
  let errLines = 0;
  child.stderr?.on("data", (d: Buffer) => {
    for (const l of d.toString().split("\n"))
      if (l !== "" && errLines++ < 40) process.stderr.write(`  server: ${l}\n`);
  });
  const rl = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  return new Promise((resolve, reject) => {
    rl.once("line", (l) =>
      resolve({ child, rl, ports: (JSON.parse(l) as { ports: Record<string, number> }).ports }),
    );
    child.once("exit", (code) => reject(new Error(`server exited ${code}`)));
  });
}

function ask(child: ChildProcess, rl: Interface, what: "stats" | "gc"): Promise<Stats> {
  return new Promise((resolve) => {
    rl.once("line", (l) => resolve(JSON.parse(l) as Stats));
    child.stdin?.write(`${what}\n`);
  });
}

interface Attacker {
  socket: net.Socket;
  closed: boolean;
}

async function connect(port: number): Promise<Attacker> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    const a: Attacker = { socket, closed: false };
    socket.on("error", () => {});
    socket.on("close", () => {
      a.closed = true;
    });
    socket.once("connect", () => resolve(a));
    socket.once("close", () => resolve(a));
  });
}

/** One netstring request from a fresh client; resolves with the round-trip ms (or -1 after 5 s). */
async function probe(port: number): Promise<number> {
  const t0 = performance.now();
  const s = net.connect({ port, host: "127.0.0.1" });
  s.on("error", () => {});
  s.write("11:upper.hello,");
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      s.destroy();
      resolve(-1);
    }, 5000);
    s.on("data", () => {
      clearTimeout(timer);
      s.destroy();
      resolve(Math.round((performance.now() - t0) * 10) / 10);
    });
  });
}

function ampBox(): Buffer {
  const pairs: Buffer[] = [];
  for (let i = 0; i < 15; i++) {
    const key = Buffer.from(`k${i}`);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(65535);
    pairs.push(Buffer.from([0, key.length]), key, len, Buffer.alloc(65535, 97));
  }
  return Buffer.concat(pairs); // ≈ 983 KB, no terminator: never completes
}

const fmt = (s: Stats) =>
  `rss ${(s.rss / MB).toFixed(0)} MB, heap ${(s.heapUsed / MB).toFixed(0)} MB, arrayBuffers ${(s.arrayBuffers / MB).toFixed(0)} MB, held ${(s.held / MB).toFixed(1)} MB, ${s.connections} conns`;

async function scenario(
  name: string,
  attack: (ports: Record<string, number>) => Promise<Attacker[]>,
  settle: (attackers: Attacker[], server: { child: ChildProcess; rl: Interface }) => Promise<void>,
): Promise<void> {
  const server = await startServer();
  const { child, rl, ports } = server;
  const before = await ask(child, rl, "gc");
  const t0 = Date.now();
  const attackers = await attack(ports);
  await settle(attackers, server);
  const peak = await ask(child, rl, "stats");
  const rtt = await probe(ports["transform-netstring"] ?? 0);
  const closedByServer = attackers.filter((a) => a.closed).length;
  for (const a of attackers) a.socket.destroy();
  await sleep(500);
  const after = await ask(child, rl, "stats");
  const afterGc = await ask(child, rl, "gc");
  await sleep(1000);
  const later = await ask(child, rl, "gc");
  process.stdout.write(
    [
      `\n${name}: ${attackers.length} attackers, ${closedByServer} closed by the server in ${((Date.now() - t0) / 1000).toFixed(1)} s; another client answered in ${rtt} ms`,
      `  before:        ${fmt(before)}`,
      `  attack:        ${fmt(peak)}; limit log ${peak.logLines} lines / ${peak.logBytes} bytes`,
      `  attackers gone:${fmt(after)}`,
      `  after gc:      ${fmt(afterGc)}`,
      `  +1 s, gc:      ${fmt(later)}`,
      "",
    ].join("\n"),
  );
  child.stdin?.end();
  await new Promise((r) => child.once("exit", r));
}

const wanted = new Set(process.argv.slice(2));
const run = (n: string) => wanted.size === 0 || wanted.has(n);

if (run("amp")) {
  const box = ampBox();
  await scenario(
    "amp (unfinished ~1 MB boxes)",
    async (ports) => {
      const out: Attacker[] = [];
      for (let i = 0; i < 200; i++) {
        const a = await connect(ports["calculator-amp"] ?? 0);
        a.socket.write(box);
        out.push(a);
      }
      return out;
    },
    async () => sleep(2500),
  );
}

if (run("netstring")) {
  const body = Buffer.alloc(99_992 - 8, 120);
  await scenario(
    "netstring (unfinished 99,992-byte frames)",
    async (ports) => {
      const out: Attacker[] = [];
      for (let i = 0; i < 1000; i++) {
        const a = await connect(ports["transform-netstring"] ?? 0);
        a.socket.write(Buffer.concat([Buffer.from("99992:"), body]));
        out.push(a);
      }
      return out;
    },
    async () => sleep(2500),
  );
}

if (run("slowloris")) {
  await scenario(
    "slowloris (1 byte / 3 s on netstring and line)",
    async (ports) => {
      const out: Attacker[] = [];
      for (let i = 0; i < 2000; i++) {
        const a = await connect(
          (i % 2 === 0 ? ports["transform-netstring"] : ports["transform-line"]) ?? 0,
        );
        a.socket.write(i % 2 === 0 ? "9999:u" : "u");
        out.push(a);
      }
      return out;
    },
    async (attackers) => {
      const until = Date.now() + 45_000;
      const t0 = Date.now();
      let probes = "";
      while (Date.now() < until && attackers.some((a) => !a.closed)) {
        await sleep(3000);
        for (const a of attackers) if (!a.closed) a.socket.write("p");
        const open = attackers.filter((a) => !a.closed).length;
        probes += ` ${Math.round((Date.now() - t0) / 1000)}s:${open}`;
      }
      process.stdout.write(`\n  slowloris still open over time:${probes}\n`);
    },
  );
}
