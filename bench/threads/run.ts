/**
 * Thread pool benchmark (`node --import tsx bench/threads/run.ts`, part of `npm run bench`).
 *
 * Round trips per second of a tiny task (a + b), in the same run:
 * - `weft`: `deferToThreadPool` on a weft ThreadPool;
 * - `raw`: a bare `worker_threads` postMessage/on("message") loop (the floor any pool pays);
 * - `piscina`: piscina 5 (bench-only dependency), `pool.run`.
 * Each with 2 workers, sequential (one call in flight) and with 64 calls in flight. Median of
 * BENCH_SAMPLES (default 5) runs of N calls (BENCH_SCALE scales N).
 */
import { Worker } from "node:worker_threads";
import { Piscina } from "piscina";
import { deferToThreadPool } from "../../src/core/threads/defer.js";
import { ThreadPool } from "../../src/core/threads/pool.js";
import { threadTask } from "../../src/core/threads/task.js";

const SAMPLES = Math.max(1, Number(process.env["BENCH_SAMPLES"] ?? 5) || 5);
const SCALE = Number(process.env["BENCH_SCALE"] ?? 1) || 1;
const N = Math.max(1000, Math.round(20_000 * SCALE));
const TASK = new URL("./task.mjs", import.meta.url);

type Call = (i: number) => PromiseLike<number>;

async function measure(call: Call, inFlight: number): Promise<number> {
  const run = async (): Promise<void> => {
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < N) await call(next++);
    };
    await Promise.all(Array.from({ length: inFlight }, lane));
  };
  await run(); // warm-up
  const times: number[] = [];
  for (let s = 0; s < SAMPLES; s++) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return (N / (times[Math.floor(times.length / 2)] as number)) * 1000;
}

/** Two bare workers, round-robin, one pending map per worker. */
function rawPool(): { call: Call; close(): Promise<void> } {
  const workers = [0, 1].map(() => {
    const w = new Worker(new URL("./raw-worker.mjs", import.meta.url));
    const pending: Array<(v: number) => void> = [];
    w.on("message", (v: number) => pending.shift()?.(v));
    return { w, pending };
  });
  let rr = 0;
  return {
    call: (i) =>
      new Promise<number>((resolve) => {
        const x = workers[rr++ % 2] as (typeof workers)[number];
        x.pending.push(resolve);
        x.w.postMessage({ a: i, b: 1 });
      }),
    close: async () => {
      await Promise.all(workers.map((x) => x.w.terminate()));
    },
  };
}

const weft = new ThreadPool({ minThreads: 2, maxThreads: 2 });
weft.start();
const add = threadTask<(a: number, b: number) => number>(TASK, "add");
const piscina = new Piscina({ filename: TASK.href, minThreads: 2, maxThreads: 2 });
const raw = rawPool();

const rows: string[][] = [
  ["in flight", "weft", "raw postMessage", "piscina", "weft/raw", "weft/piscina"],
];
for (const inFlight of [1, 64]) {
  const w = await measure((i) => deferToThreadPool(null, weft, add, i, 1), inFlight);
  const r = await measure(raw.call, inFlight);
  const p = await measure((i) => piscina.run({ a: i, b: 1 }) as Promise<number>, inFlight);
  const k = (x: number): string => `${Math.round(x / 1000)} k/s`;
  rows.push([String(inFlight), k(w), k(r), k(p), (w / r).toFixed(2), (w / p).toFixed(2)]);
}
await Promise.all([weft.stop(), raw.close(), piscina.destroy()]);
const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
for (const row of rows) console.log(row.map((cell, c) => cell.padEnd(widths[c]!)).join("  "));
console.log(`(${N} calls per sample, median of ${SAMPLES}; 2 workers each)`);
