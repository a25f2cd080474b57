/**
 * `weft serve --workers 2` against `--workers 1` on the transform line front-end: requests/s and
 * the server's CPU per request (the primary and every worker, from /proc), with 64 connections
 * one request in flight each, and 64 connections with 16 requests pipelined each. The load client
 * (plain `node:net`, in this process) runs on the same machine, so on 2 cores the client takes a
 * core of its own: read the CPU µs/request column beside the req/s one.
 *
 * Env: `BENCH_SECONDS` per measurement (default 2), `BENCH_ROUNDS` (default 2: 1 and 2 workers
 * alternate, best round of each kept). Run: `node --import tsx bench/services/workers.ts`.
 * (Not part of `npm run bench`, which runs `run.ts`; it prints its table, it writes no file.)
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const SECONDS = Number(process.env["BENCH_SECONDS"] ?? "2");
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? "2");
const WARMUP = 0.4;
const REQUEST = Buffer.from("upper hello world, a short line of poetry\r\n");

interface Served {
  child: ChildProcess;
  port: number;
}

const dir = mkdtempSync(join(tmpdir(), "weft-bench-workers-"));
const config = join(dir, "suite.json");
writeFileSync(
  config,
  JSON.stringify({
    services: { transform: { listen: [{ protocol: "line", endpoint: "tcp:0" }] } },
  }),
);

function serve(workers: number): Promise<Served> {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "src/cli/main.ts",
      "serve",
      "-c",
      config,
      "--workers",
      String(workers),
      "--log-level",
      "warn",
      "--state-dir",
      join(dir, `state-${workers}`),
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      const m = /127\.0\.0\.1:(\d+)/.exec(out);
      if (m !== null) resolve({ child, port: Number(m[1]) });
    });
    child.on("exit", (code) => reject(new Error(`weft serve exited ${code}`)));
  });
}

/** CPU seconds used so far by `pid` and its descendants (utime + stime, 100 ticks/s). */
function treeCpu(pid: number): number {
  let ticks = 0;
  const visit = (p: number): void => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "latin1");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(f[11]) + Number(f[12]);
      const children = readFileSync(`/proc/${p}/task/${p}/children`, "latin1").trim();
      for (const c of children === "" ? [] : children.split(" ")) visit(Number(c));
    } catch {
      // exited meanwhile
    }
  };
  visit(pid);
  return ticks / 100;
}

/** Closed-loop load: `conns` connections with `depth` requests in flight each, for `seconds`. */
async function load(port: number, conns: number, depth: number, seconds: number): Promise<number> {
  let done = 0;
  let stop = false;
  const sockets: net.Socket[] = [];
  await Promise.all(
    Array.from(
      { length: conns },
      () =>
        new Promise<void>((resolve, reject) => {
          const s = net.connect(port, "127.0.0.1", () => resolve());
          s.setNoDelay(true);
          s.on("error", reject);
          sockets.push(s);
          s.on("data", (chunk: Buffer) => {
            let n = 0;
            for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
            done += n;
            if (!stop && n > 0) s.write(n === 1 ? REQUEST : Buffer.concat(Array(n).fill(REQUEST)));
          });
        }),
    ),
  );
  const start = done;
  for (const s of sockets) s.write(Buffer.concat(Array(depth).fill(REQUEST)));
  await new Promise((r) => setTimeout(r, seconds * 1000));
  stop = true;
  const count = done - start;
  for (const s of sockets) s.destroy();
  return count;
}

interface Row {
  workers: number;
  mode: string;
  rps: number;
  cpuUs: number;
}

async function measure(workers: number, conns: number, depth: number): Promise<Row> {
  const server = await serve(workers);
  try {
    await load(server.port, conns, depth, WARMUP);
    const cpu0 = treeCpu(server.child.pid as number);
    const t0 = performance.now();
    const count = await load(server.port, conns, depth, SECONDS);
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = treeCpu(server.child.pid as number) - cpu0;
    return {
      workers,
      mode: `${conns} conns × ${depth} in flight`,
      rps: count / elapsed,
      cpuUs: (cpu / count) * 1e6,
    };
  } finally {
    server.child.kill("SIGTERM");
    await new Promise((r) => server.child.once("exit", r));
  }
}

const best = new Map<string, Row>();
for (let round = 0; round < ROUNDS; round++) {
  for (const [conns, depth] of [
    [64, 1],
    [64, 16],
  ] as const) {
    for (const workers of [1, 2]) {
      const row = await measure(workers, conns, depth);
      const key = `${row.mode}/${workers}`;
      const prev = best.get(key);
      if (prev === undefined || row.rps > prev.rps) best.set(key, row);
    }
  }
}
rmSync(dir, { recursive: true, force: true });
const lines = [
  "| load | workers | req/s | server CPU µs/req |",
  "| --- | ---: | ---: | ---: |",
  ...[...best.values()].map(
    (r) =>
      `| ${r.mode} | ${r.workers} | ${Math.round(r.rps).toLocaleString("en")} | ${r.cpuUs.toFixed(1)} |`,
  ),
];
process.stdout.write(`${lines.join("\n")}\n`);
