/**
 * Deferred and timer benchmark (`node --import tsx bench/deferred/run.ts`, part of `npm run bench`).
 *
 * weft's Deferred against the native Promise (the peer every Node user would otherwise use), and
 * NodeClock.callLater/cancel against raw setTimeout/clearTimeout, in the same run:
 *
 * - `fire+1cb`: create, add one callback, fire (Deferred: synchronous; Promise: resolve + then,
 *   microtasks drained before the clock stops);
 * - `chain10`: ten callbacks on one result;
 * - `nested`: a callback returning a not-yet-fired inner Deferred/Promise, fired afterwards;
 * - `await`: `await` of an already-fired Deferred / resolved Promise inside an async function;
 * - `timers`: schedule then cancel (NodeClock vs setTimeout/clearTimeout), nothing fires.
 *
 * Each figure is the median of BENCH_SAMPLES (default 5) runs of N operations (scaled by
 * BENCH_SCALE, default 1). Loops are bounded; the whole suite takes a few seconds.
 */
import { NodeClock } from "../../src/core/clock.js";
import { Deferred } from "../../src/core/deferred.js";

const SAMPLES = Math.max(1, Number(process.env["BENCH_SAMPLES"] ?? 5) || 5);
const SCALE = Number(process.env["BENCH_SCALE"] ?? 1) || 1;
const N = Math.max(1000, Math.round(200_000 * SCALE));

type Job = () => void | Promise<void>;

async function measure(job: Job): Promise<number> {
  const times: number[] = [];
  await job(); // warm-up
  for (let s = 0; s < SAMPLES; s++) {
    const t0 = performance.now();
    await job();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const ms = times[Math.floor(times.length / 2)]!;
  return (N / ms) * 1000; // ops/s
}

const inc = (v: number): number => v + 1;

const cases: Array<{ name: string; weft: Job; peer: Job; peerName: string }> = [
  {
    name: "fire+1cb",
    peerName: "Promise",
    weft: () => {
      for (let i = 0; i < N; i++) {
        const d = new Deferred<number>();
        d.addCallback(inc);
        d.callback(i);
      }
    },
    peer: async () => {
      let last: Promise<number> | null = null;
      for (let i = 0; i < N; i++) {
        let resolve!: (v: number) => void;
        const p = new Promise<number>((r) => (resolve = r));
        last = p.then(inc);
        resolve(i);
      }
      await last;
    },
  },
  {
    name: "chain10",
    peerName: "Promise",
    weft: () => {
      for (let i = 0; i < N / 10; i++) {
        const d = new Deferred<number>();
        for (let k = 0; k < 10; k++) d.addCallback(inc);
        d.callback(i);
      }
    },
    peer: async () => {
      let last: Promise<number> | null = null;
      for (let i = 0; i < N / 10; i++) {
        let p: Promise<number> = Promise.resolve(i);
        for (let k = 0; k < 10; k++) p = p.then(inc);
        last = p;
      }
      await last;
    },
  },
  {
    name: "nested",
    peerName: "Promise",
    weft: () => {
      for (let i = 0; i < N; i++) {
        const inner = new Deferred<number>();
        const outer = new Deferred<number>();
        outer.addCallback(() => inner).addCallback(inc);
        outer.callback(0);
        inner.callback(i);
      }
    },
    peer: async () => {
      let last: Promise<number> | null = null;
      for (let i = 0; i < N; i++) {
        let resolveInner!: (v: number) => void;
        const inner = new Promise<number>((r) => (resolveInner = r));
        last = Promise.resolve(0)
          .then(() => inner)
          .then(inc);
        resolveInner(i);
      }
      await last;
    },
  },
  {
    name: "await",
    peerName: "Promise",
    weft: async () => {
      const d = new Deferred<number>();
      d.callback(1);
      let sum = 0;
      for (let i = 0; i < N / 4; i++) sum += await d;
      if (sum < 0) throw new Error("unreachable");
    },
    peer: async () => {
      const p = Promise.resolve(1);
      let sum = 0;
      for (let i = 0; i < N / 4; i++) sum += await p;
      if (sum < 0) throw new Error("unreachable");
    },
  },
  {
    name: "timers",
    peerName: "setTimeout",
    weft: () => {
      const clock = new NodeClock();
      const noop = () => {};
      for (let i = 0; i < N / 4; i++) clock.callLater(60, noop).cancel();
    },
    peer: () => {
      const noop = () => {};
      for (let i = 0; i < N / 4; i++) clearTimeout(setTimeout(noop, 60_000));
    },
  },
];

const rows: string[] = [];
rows.push(
  `${"case".padEnd(10)} ${"weft ops/s".padStart(14)} ${"peer".padEnd(11)} ${"peer ops/s".padStart(14)} ${"weft/peer".padStart(10)}`,
);
for (const c of cases) {
  const w = await measure(c.weft);
  const p = await measure(c.peer);
  // "await" and "timers" count N/4 operations, "chain10" N/10 chains; ops/s is per loop body.
  const per = c.name === "await" || c.name === "timers" ? 4 : c.name === "chain10" ? 10 : 1;
  rows.push(
    `${c.name.padEnd(10)} ${Math.round(w / per)
      .toLocaleString("en-US")
      .padStart(14)} ${c.peerName.padEnd(11)} ${Math.round(p / per)
      .toLocaleString("en-US")
      .padStart(14)} ${(w / p).toFixed(2).padStart(10)}`,
  );
}
process.stdout.write(
  `Deferred vs Promise, NodeClock vs Node timers (N=${N}, median of ${SAMPLES})\n`,
);
process.stdout.write(`${rows.join("\n")}\n`);
