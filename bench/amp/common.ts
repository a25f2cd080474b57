/**
 * Shared pieces of the AMP benchmark (bench/amp/run.ts; the codec part is bench/amp/codec.ts):
 * the row every part returns, the median-of-N timer, and the table printer.
 *
 * Env:
 * - `BENCH_SAMPLES` — timed runs per contender and scenario, median reported (default 3).
 * - `BENCH_SCALE` — multiplies the operation counts (default 1; e.g. 0.1 for a smoke run).
 * - `BENCH_TWISTED=0` — skip the Twisted rows.
 */

/** One measured line of the results table. */
export interface Row {
  /** Scenario label; rows with the same scenario are compared with each other. */
  scenario: string;
  /** Contender, e.g. `"weft"`, `"raw loop"`, `"raw node:net"`, `"twisted"`, `"jayson"`. */
  impl: string;
  /** Operations (boxes or calls) per run, checked by the part that measured them. */
  ops: number;
  /** Median seconds per run. */
  seconds: number;
  /** The reference row of its scenario: ratios are computed against it. */
  baseline?: boolean;
  /** Server process CPU time per operation, in µs (loopback scenarios). */
  cpuUsPerOp?: number;
  /** Free text: "n/a" reasons, faults seen, … */
  note?: string;
}

export const SAMPLES = Math.max(1, Number(process.env["BENCH_SAMPLES"] ?? 3) || 3);
export const SCALE = Math.max(0.001, Number(process.env["BENCH_SCALE"] ?? 1) || 1);
export const TWISTED = process.env["BENCH_TWISTED"] !== "0";

/** Median of `values` (0 for none). */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

/**
 * Runs `fn` once to warm up, then `SAMPLES` times; returns the median seconds and the op count `fn`
 * reported on its last run.
 */
export async function measure(
  fn: () => number | Promise<number>,
): Promise<{ seconds: number; ops: number }> {
  let ops = await fn();
  const times: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    (globalThis as { gc?: () => void }).gc?.();
    const t0 = process.hrtime.bigint();
    ops = await fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return { seconds: median(times), ops };
}

function fmtRate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)} M/s`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)} k/s`;
  return `${perSecond.toFixed(0)} /s`;
}

/** Markdown table of `rows`, grouped by scenario, each rate with its ratio to the scenario's baseline. */
export function table(rows: Row[]): string {
  const out = [
    "| scenario | contender | rate | ratio to baseline | server CPU µs/op | note |",
    "|---|---|---:|---:|---:|---|",
  ];
  const scenarios = [...new Set(rows.map((r) => r.scenario))];
  for (const sc of scenarios) {
    const group = rows.filter((r) => r.scenario === sc);
    const base = group.find((r) => r.baseline === true);
    const baseRate = base !== undefined && base.seconds > 0 ? base.ops / base.seconds : 0;
    for (const r of group) {
      const rate = r.seconds > 0 ? r.ops / r.seconds : 0;
      const ratio = baseRate > 0 && rate > 0 ? `${(rate / baseRate).toFixed(2)}×` : "–";
      const cpu = r.cpuUsPerOp === undefined ? "" : r.cpuUsPerOp.toFixed(1);
      out.push(
        `| ${sc} | ${r.impl}${r.baseline ? " (baseline)" : ""} | ${rate > 0 ? fmtRate(rate) : "n/a"} | ${ratio} | ${cpu} | ${r.note ?? ""} |`,
      );
    }
  }
  return out.join("\n");
}
