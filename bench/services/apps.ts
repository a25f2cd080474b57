/**
 * Applications benchmark: the Fibonacci line front-end (numbers/s with 64 closed-loop connections)
 * in default and strict (fsync per claim, group-committed) mode beside a raw `node:net` server
 * handing out the same sequence from memory; and the weblog push front-end: hits/s delivered to
 * 1,000 subscribed clients while the log grows at 10,000 lines/s, with the delay from append to
 * delivery (p50/p99). Servers run in child processes (apps-server.ts); load and the appender here.
 *
 * Env: `BENCH_SECONDS` per measurement (default 3), `BENCH_WEBLOG_CLIENTS` (default 1000),
 * `BENCH_WEBLOG_RATE` lines/s (default 10000). Writes bench/services/APPS-RESULTS.md.
 * Run: `node --import tsx bench/services/apps.ts` (run.ts runs it too).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

const SECONDS = Number(process.env["BENCH_SECONDS"] ?? "3");
const CLIENTS = Number(process.env["BENCH_WEBLOG_CLIENTS"] ?? "1000");
const RATE = Number(process.env["BENCH_WEBLOG_RATE"] ?? "10000");

interface Server {
  port: number;
  fromDist: boolean;
  cpu(): Promise<number>;
  stop(): void;
}

async function startServer(kind: string, ...args: string[]): Promise<Server> {
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", "bench/services/apps-server.ts", kind, ...args],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  const rl = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const queue: string[] = [];
  const waiters: Array<(l: string) => void> = [];
  rl.on("line", (l) => {
    const w = waiters.shift();
    if (w !== undefined) w(l);
    else queue.push(l);
  });
  const next = (): Promise<string> =>
    new Promise((r) => {
      const l = queue.shift();
      if (l !== undefined) r(l);
      else waiters.push(r);
    });
  const { port, fromDist } = JSON.parse(await next()) as { port: number; fromDist: boolean };
  return {
    port,
    fromDist,
    async cpu() {
      child.stdin?.write("cpu\n");
      return (JSON.parse(await next()) as { cpu: number }).cpu;
    },
    stop: () => child.stdin?.end("exit\n"),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted: number[], p: number): number =>
  sorted.length === 0
    ? Number.NaN
    : (sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] as number);

// ---------------------------------------------------------------------------------------------
// Fibonacci: 64 closed-loop connections, one number in flight each

async function fibonacci(
  kind: string,
): Promise<{ rate: number; p50: number; p99: number; cpuPer: number; digits: number }> {
  const server = await startServer(kind);
  const sockets: net.Socket[] = [];
  let count = 0;
  let counting = false;
  let digits = 0;
  const lat: number[] = [];
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      const s = net.connect(server.port, "127.0.0.1");
      s.setNoDelay(true);
      await new Promise((r) => s.once("connect", r));
      sockets.push(s);
      let sent = performance.now();
      s.on("data", (chunk: Buffer) => {
        let n = 0;
        for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) n++;
        if (n === 0) return;
        const now = performance.now();
        if (counting) {
          count += n;
          lat.push((now - sent) * 1000);
          digits = Math.max(digits, chunk.indexOf(13));
        }
        sent = now;
        s.write("n\r\n");
      });
      s.on("error", () => undefined);
      s.write("n\r\n");
    }),
  );
  await sleep(300); // warm-up
  counting = true;
  const cpu0 = await server.cpu();
  const t0 = performance.now();
  await sleep(SECONDS * 1000);
  counting = false;
  const elapsed = (performance.now() - t0) / 1000;
  const cpu1 = await server.cpu();
  for (const s of sockets) s.destroy();
  server.stop();
  lat.sort((a, b) => a - b);
  return {
    rate: count / elapsed,
    p50: pct(lat, 0.5),
    p99: pct(lat, 0.99),
    cpuPer: (cpu1 - cpu0) / Math.max(1, count),
    digits,
  };
}

// ---------------------------------------------------------------------------------------------
// Weblog push: CLIENTS subscribers, the log growing at RATE lines/s; each line carries its append
// time, so a client measures append → delivery on the newest hit of each chunk it reads.

async function weblog(): Promise<{
  appended: number;
  delivered: number;
  dropped: number;
  perClient: number;
  p50: number;
  p99: number;
  cpuPer: number;
}> {
  const dir = mkdtempSync(join(tmpdir(), "weft-bench-weblog-"));
  const log = join(dir, "access.log");
  writeFileSync(log, "");
  const server = await startServer("weblog-push", log);
  let delivered = 0;
  let dropped = 0;
  let counting = false;
  const lat: number[] = [];
  const sockets: net.Socket[] = [];
  for (let i = 0; i < CLIENTS; i++) {
    const s = net.connect(server.port, "127.0.0.1");
    sockets.push(s);
    s.on("error", () => undefined);
    let rest = "";
    s.setEncoding("latin1");
    s.on("data", (chunk: string) => {
      const text = rest + chunk;
      const end = text.lastIndexOf("\n");
      rest = text.slice(end + 1);
      if (!counting || end < 0) return;
      const now = performance.timeOrigin + performance.now();
      for (let at = text.indexOf("HIT ", 0); at >= 0 && at < end; at = text.indexOf("HIT ", at + 4))
        delivered++;
      for (
        let at = text.indexOf("DROPPED ", 0);
        at >= 0 && at < end;
        at = text.indexOf("DROPPED ", at + 8)
      )
        dropped += Number.parseInt(text.slice(at + 8, text.indexOf("\r", at)), 10);
      const t = text.lastIndexOf("GET /t/", end);
      if (t >= 0)
        lat.push((now - Number.parseFloat(text.slice(t + 7, text.indexOf(" ", t + 7)))) * 1000);
    });
  }
  await Promise.all(
    sockets.map((s) => new Promise((r) => (s.connecting ? s.once("connect", r) : r(null)))),
  );
  await sleep(500);
  // Append RATE lines/s in 10 ms batches, from a child of its own (the clients saturate this one).
  const appender = spawn(process.execPath, ["-e", APPENDER, log, String(RATE)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let appended = 0;
  appender.stdout?.setEncoding("utf8").on("data", (d: string) => {
    const last = d.trim().split("\n").at(-1);
    if (last !== undefined && last !== "") appended = Number(last);
  });
  await sleep(500); // warm-up
  counting = true;
  const appended0 = appended;
  const cpu0 = await server.cpu();
  const t0 = performance.now();
  await sleep(SECONDS * 1000);
  counting = false;
  const elapsed = (performance.now() - t0) / 1000;
  const cpu1 = await server.cpu();
  appender.kill();
  for (const s of sockets) s.destroy();
  server.stop();
  rmSync(dir, { recursive: true, force: true });
  lat.sort((a, b) => a - b);
  return {
    appended: (appended - appended0) / elapsed,
    delivered: delivered / elapsed,
    dropped: dropped / elapsed,
    perClient: delivered / elapsed / CLIENTS,
    p50: pct(lat, 0.5),
    p99: pct(lat, 0.99),
    cpuPer: (cpu1 - cpu0) / Math.max(1, delivered),
  };
}

/** The appender child: RATE lines/s in 10 ms batches, each stamped with its append time; prints its count. */
const APPENDER = `
const { appendFileSync } = require("node:fs");
const [log, rate] = [process.argv[1], Number(process.argv[2])];
const start = performance.now();
let appended = 0;
setInterval(() => {
  const due = Math.round(((performance.now() - start) / 1000) * rate) - appended;
  if (due <= 0) return;
  const stamp = (performance.timeOrigin + performance.now()).toFixed(3);
  const line = '203.0.113.9 - - [03/Dec/2026:19:00:00 +0000] "GET /t/' + stamp + ' HTTP/1.1" 200 512 "-" "bench"\\n';
  appendFileSync(log, line.repeat(due));
  appended += due;
  process.stdout.write(appended + "\\n");
}, 10);
`;

const f = (n: number, d = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d })
    : "–";

async function main(): Promise<void> {
  execFileSync(process.execPath, ["scripts/ensure-build.mjs"], { stdio: "inherit" });
  const fib: string[] = [];
  const raw = await fibonacci("fib-raw");
  for (const [name, kind] of [
    ["raw node:net (memory)", "fib-raw"],
    ["weft default (saved every 1 s)", "fib-default"],
    ["weft strict (fsync per claim)", "fib-strict"],
  ] as const) {
    const r = kind === "fib-raw" ? raw : await fibonacci(kind);
    fib.push(
      `| ${name} | ${f(r.rate)} | **${f(r.rate / raw.rate, 2)}×** | ${f(r.p50)} / ${f(r.p99)} | ${f(r.cpuPer, 1)} | ${f(r.digits)} |`,
    );
  }
  const w = await weblog();
  const md = `# Applications benchmark (bench/services/apps.ts)

Node ${process.version}, ${SECONDS} s per measurement, ${new Date().toISOString()}. Servers in child
processes, load generated here; the machine's 2 cores are shared by both, so compare within a run.

## Fibonacci: 64 connections, closed loop (line front-end)

| server | numbers/s | vs raw | p50 / p99 µs | server CPU µs/number | digits reached |
|---|---:|---:|---:|---:|---:|
${fib.join("\n")}

Every run starts at position 0, and a number's cost grows with its position (BigInt addition and
decimal conversion of ~0.21 digits a position), so a faster server also pays for longer numbers:
compare the rates beside the digits reached. Strict mode claims for every request waiting when a write starts (one fsync for many numbers), so
its rate is bounded by fsync latency × concurrency, not by one fsync per number.

## Weblog push: ${CLIENTS} subscribed clients, the log growing at ${f(RATE)} lines/s

| log lines/s appended | hits/s delivered (all clients) | per client | dropped/s (reported) | append → delivery p50 / p99 ms | server CPU µs/hit delivered |
|---:|---:|---:|---:|---:|---:|
| ${f(w.appended)} | ${f(w.delivered)} | ${f(w.perClient)} | ${f(w.dropped)} | ${f(w.p50 / 1000, 1)} / ${f(w.p99 / 1000, 1)} | ${f(w.cpuPer, 2)} |

Polled and pushed every 20 ms. Every client at one place shares one encoded batch per push; a
client that falls more than 1,000 hits behind is sent a \`DROPPED n\` line and the newest hits.
The load client parses ${CLIENTS} sockets on the same 2 cores, which bounds what it can receive.
`;
  process.stdout.write(md);
  writeFileSync("bench/services/APPS-RESULTS.md", md);
}

await main();
