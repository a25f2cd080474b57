/**
 * Process benchmark (`node --import tsx bench/process/run.ts`, part of `npm run bench`).
 *
 * Processes per second, one at a time and 8 at once: weft's `getProcessOutput` of `/bin/true`
 * (spawnProcess + ProcessProtocol + Deferred) against `child_process.execFile` of the same, in the
 * same run. Median of BENCH_SAMPLES (default 3) runs of N processes (BENCH_SCALE scales N).
 */
import { execFile } from "node:child_process";
import { getProcessOutput } from "../../src/core/process-output.js";
import { createReactor } from "../../src/core/reactor.js";

const SAMPLES = Math.max(1, Number(process.env["BENCH_SAMPLES"] ?? 3) || 3);
const SCALE = Number(process.env["BENCH_SCALE"] ?? 1) || 1;
const N = Math.max(20, Math.round(300 * SCALE));
const reactor = createReactor();

type Run = () => PromiseLike<unknown>;

async function measure(run: Run, inFlight: number): Promise<number> {
  const batch = async (): Promise<void> => {
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next++ < N) await run();
    };
    await Promise.all(Array.from({ length: inFlight }, lane));
  };
  await batch();
  const times: number[] = [];
  for (let s = 0; s < SAMPLES; s++) {
    const t0 = performance.now();
    await batch();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return (N / (times[Math.floor(times.length / 2)] as number)) * 1000;
}

const weft: Run = () => getProcessOutput(reactor, "/bin/true");
const peer: Run = () =>
  new Promise((resolve, reject) =>
    execFile("/bin/true", [], { env: {} }, (err, out) => (err ? reject(err) : resolve(out))),
  );

console.log("in flight  weft getProcessOutput  execFile  weft/execFile");
for (const inFlight of [1, 8]) {
  const w = await measure(weft, inFlight);
  const p = await measure(peer, inFlight);
  console.log(
    `${String(inFlight).padEnd(9)}  ${`${w.toFixed(0)} /s`.padEnd(21)}  ${`${p.toFixed(0)} /s`.padEnd(8)}  ${(w / p).toFixed(2)}`,
  );
}
console.log(`(${N} processes per sample, median of ${SAMPLES})`);
await reactor.stop();
