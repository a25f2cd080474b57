/**
 * Shared pieces of the receivers benchmark (bench/receivers/run.ts): the row every suite returns,
 * input builders, a best-of-N timer and the bridge to Twisted's receivers
 * (bench/receivers/twisted_receivers.py).
 *
 * Env:
 * - `BENCH_SAMPLES` — timed runs per implementation and scenario, best reported (default 3).
 * - `BENCH_ROW_BUDGET` — seconds of timed runs per row before sampling stops (default 1).
 * - `BENCH_SCALE` — multiplies the frame counts of every scenario (default 1; e.g. 0.1 for a smoke run).
 * - `BENCH_TWISTED=0` — skip the Twisted figures; `BENCH_TWISTED_SAMPLES` — Twisted runs per
 *   scenario (default 1: CPython has no JIT to warm up, and it is the slow one).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** One measured line of the results table. */
export interface Row {
  /** `"lines"`, `"netstring"` or `"length-prefixed"`. */
  framing: string;
  /** Scenario label, e.g. `"1M x 64 B / 64 KiB chunks"`; rows of one scenario are compared. */
  scenario: string;
  /** Implementation, e.g. `"limit"`, `"weft push"`, `"weft Transform"`, `"split2"`, `"twisted"`. */
  impl: string;
  /** Frames delivered per run (checked against the expected count). */
  frames: number;
  /** Input bytes per run. */
  bytes: number;
  /** Seconds of the best run. */
  seconds: number;
  /** Free text: a correctness fault seen, "n/a" reasons, … */
  note?: string;
}

/** Label of the reference row each scenario's ratios are computed against. */
export const LIMIT = "limit";

export const SAMPLES = Math.max(1, Number(process.env["BENCH_SAMPLES"] ?? 3) || 3);
export const SCALE = Math.max(0.001, Number(process.env["BENCH_SCALE"] ?? 1) || 1);
export const TWISTED = process.env["BENCH_TWISTED"] !== "0";
/** Seconds of timed runs per row before sampling stops (`BENCH_ROW_BUDGET`, default 1). */
export const ROW_BUDGET = Math.max(0.01, Number(process.env["BENCH_ROW_BUDGET"] ?? 1) || 1);
export const TWISTED_SAMPLES = Math.max(1, Number(process.env["BENCH_TWISTED_SAMPLES"] ?? 1) || 1);

/** The three standard scenarios: frame count, payload size, chunk size. */
export interface Scenario {
  label: string;
  frames: number;
  payload: number;
  chunk: number;
  /** Timed runs (best kept); more for the short 16 MiB scenario, whose runs last milliseconds. */
  samples: number;
}

export function scenarios(): Scenario[] {
  return [
    {
      label: "1M x 64 B / 64 KiB chunks",
      frames: Math.round(1_000_000 * SCALE),
      payload: 64,
      chunk: 65536,
      samples: SAMPLES,
    },
    {
      label: "100k x 64 B / 7 B chunks",
      frames: Math.round(100_000 * SCALE),
      payload: 64,
      chunk: 7,
      samples: SAMPLES,
    },
    {
      label: "1 x 16 MiB / 64 KiB chunks",
      frames: 1,
      payload: 16 * 1024 * 1024,
      chunk: 65536,
      samples: SAMPLES * 10,
    },
  ];
}

/** A payload of `size` printable bytes (no `\r`, `\n`, `,` or `:`), deterministic. */
export function payload(size: number, seed = 0): Uint8Array {
  const out = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) out[i] = 97 + ((i + seed) % 26);
  return out;
}

/** Concatenates `count` copies of one framed message. */
export function repeat(frame: Uint8Array, count: number): Buffer {
  const out = Buffer.allocUnsafe(frame.length * count);
  for (let i = 0; i < count; i++) out.set(frame, i * frame.length);
  return out;
}

/**
 * For the limit loops: a frame assembled across chunks, zero-filled `new Uint8Array` for small
 * ones, no zero-fill for big ones (what a hand-written loop would do; the fill would double the
 * 16 MiB frame's cost).
 */
export function allocFrame(len: number): Uint8Array {
  return len < 4096 ? new Uint8Array(len) : Buffer.allocUnsafeSlow(len);
}

/** For the limit loops: copies `len` bytes of `src` from `from` into `dst` at `at`: a byte loop
 * for a few bytes (a view + `set` costs more), `set` of a plain view otherwise. */
export function copyInto(
  dst: Uint8Array,
  at: number,
  src: Uint8Array,
  from: number,
  len: number,
): void {
  if (len < 32) for (let k = 0; k < len; k++) dst[at + k] = src[from + k]!;
  else dst.set(new Uint8Array(src.buffer, src.byteOffset + from, len), at);
}

/** Splits `input` into Buffer views of `size` bytes (the last may be shorter). */
export function chunk(input: Uint8Array, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < input.length; off += size) {
    out.push(Buffer.from(input.buffer, input.byteOffset + off, Math.min(size, input.length - off)));
  }
  return out;
}

/**
 * Runs `fn` once to warm up, then up to `samples` times; returns the best (fastest) run's seconds
 * and the frame count `fn` reported on its last run. Best, not median: the machine is shared, and
 * the least disturbed run is the one that measures the code rather than the neighbours.
 * With `--expose-gc`, one full GC runs before the warm-up, so no row pays for the previous row's
 * garbage. Not before every sample: a forced full GC makes V8 discard optimised code that embeds
 * objects the GC freed ("weak objects" in `--trace-deopt`), so every sample would start in
 * unoptimised code (measured: weft's length-prefixed decoder on 7-byte chunks at 33–37 MB/s with a
 * GC per sample, 154–158 MB/s without, the same code), which measures recompilation, not the loop.
 * Bounded: timed runs stop once they add up to `ROW_BUDGET` seconds (at least one is made), and a
 * warm-up slower than that counts as the only run (a quadratic peer on the 16 MiB frame).
 */
export async function measure(
  fn: () => number | Promise<number>,
  samples = SAMPLES,
): Promise<{ seconds: number; frames: number; runs: number }> {
  const clock = () => Number(process.hrtime.bigint()) / 1e9;
  (globalThis as { gc?: () => void }).gc?.();
  const w0 = clock();
  let frames = await fn();
  const warm = clock() - w0;
  if (warm > ROW_BUDGET) return { seconds: warm, frames, runs: 1 };
  const times: number[] = [];
  let spent = 0;
  for (let i = 0; i < samples && (i === 0 || spent < ROW_BUDGET); i++) {
    const t0 = clock();
    frames = await fn();
    const dt = clock() - t0;
    times.push(dt);
    spent += dt;
  }
  return { seconds: Math.min(...times), frames, runs: times.length };
}

/** Measures `fn` and builds a row; a frame count differing from `expected` is noted. */
export async function row(
  framing: string,
  scenario: Scenario,
  impl: string,
  bytes: number,
  fn: () => number | Promise<number>,
  expected = scenario.frames,
): Promise<Row> {
  try {
    const m = await measure(fn, scenario.samples);
    const r: Row = {
      framing,
      scenario: scenario.label,
      impl,
      frames: m.frames,
      bytes,
      seconds: m.seconds,
    };
    if (m.frames !== expected) r.note = `delivered ${m.frames} of ${expected} frames`;
    return r;
  } catch (err) {
    return {
      framing,
      scenario: scenario.label,
      impl,
      frames: 0,
      bytes,
      seconds: Number.NaN,
      note: `failed: ${(err as Error).message}`,
    };
  }
}

/** Feeds an array of chunks through a Node Transform and counts `data` events. */
export function throughTransform(
  stream: NodeJS.ReadWriteStream,
  chunks: readonly Uint8Array[],
): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0;
    stream.on("data", () => {
      n++;
    });
    stream.on("end", () => resolve(n));
    stream.on("error", reject);
    for (const c of chunks) stream.write(c);
    stream.end();
  });
}

const TWISTED_SCRIPT = fileURLToPath(new URL("./twisted_receivers.py", import.meta.url));

/**
 * Twisted's receiver on the same bytes in memory (CPython, bench/receivers/twisted_receivers.py):
 * `receiver` is `"line"` (LineReceiver, delimiter `\n`), `"lineonly"`, `"netstring"`, `"int32"`,
 * `"int16"` or `"int8"`. `maxLength` is set on the receiver. Returns null when Twisted is
 * unavailable or disabled (`BENCH_TWISTED=0`).
 */
export function twisted(
  framing: string,
  scenario: Scenario,
  receiver: string,
  input: Uint8Array,
  maxLength: number,
): Row | null {
  if (!TWISTED) return null;
  const dir = mkdtempSync(join(tmpdir(), "weft-bench-"));
  try {
    const file = join(dir, "input.bin");
    writeFileSync(file, input);
    const res = spawnSync(
      "/usr/bin/python3",
      [
        TWISTED_SCRIPT,
        receiver,
        file,
        String(scenario.chunk),
        String(maxLength),
        String(TWISTED_SAMPLES),
      ],
      { encoding: "utf8", maxBuffer: 1 << 20 },
    );
    if (res.status !== 0) {
      return {
        framing,
        scenario: scenario.label,
        impl: "twisted",
        frames: 0,
        bytes: input.length,
        seconds: Number.NaN,
        note: `twisted unavailable: ${(res.stderr || String(res.error)).trim().split("\n").pop()}`,
      };
    }
    const out = JSON.parse(res.stdout) as { frames: number; seconds: number };
    const r: Row = {
      framing,
      scenario: scenario.label,
      impl: "twisted",
      frames: out.frames,
      bytes: input.length,
      seconds: out.seconds,
    };
    if (out.frames !== scenario.frames)
      r.note = `delivered ${out.frames} of ${scenario.frames} frames`;
    return r;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
