/**
 * Cases: bytes to send and a delivery plan (chunk sizes, delays before chunks, half-close or not).
 * A case is generated from fast-check arbitraries, so it shrinks with fast-check: the body first
 * (fewest bytes), then the plan (fewest chunks, no delays, no half-close).
 */
import fc from "fast-check";
import { concat } from "../testing/bytes.js";
import type { FramingModel } from "./framing.js";

/** One case: what is sent on one connection, and how. */
export interface FuzzCase {
  /** Every byte sent, in order. */
  bytes: Uint8Array;
  /** Chunk sizes (each written separately; they add up to `bytes.length`). */
  chunks: number[];
  /** Milliseconds to wait before writing each chunk (same length as `chunks`). */
  delays: number[];
  /** Whether the write side is shut (half-close, `end()`) after the last chunk. */
  halfClose: boolean;
  /** What the generator made (for logs; oracles judge the bytes themselves). */
  label: string;
}

/** How a body is split up and delivered. */
export interface PlanSpec {
  /** `whole`: one chunk; `cuts`: cut at `cuts` (positions modulo length + 1); `drip`: one byte a chunk. */
  mode: "whole" | "cuts" | "drip";
  cuts: number[];
  /** Delays before chunks 1, 2, … in ms (missing ones are 0). */
  delays: number[];
  halfClose: boolean;
}

/** Bytes and a label. */
export interface Body {
  bytes: Uint8Array;
  label: string;
}

/** At most this many bytes are dripped one by one; the rest of a longer case goes in one chunk. */
const DRIP_LIMIT = 256;

/** The chunk sizes of `length` bytes under `plan`. */
export function chunkSizes(length: number, plan: PlanSpec): number[] {
  if (length === 0) return [];
  if (plan.mode === "whole") return [length];
  if (plan.mode === "drip") {
    const n = Math.min(length, DRIP_LIMIT);
    const out = new Array<number>(n).fill(1);
    if (length > n) out[n - 1] = 1 + length - n;
    return out;
  }
  const points = [...new Set(plan.cuts.map((c) => c % (length + 1)))]
    .filter((p) => p > 0 && p < length)
    .sort((a, b) => a - b);
  const out: number[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(p - prev);
    prev = p;
  }
  out.push(length - prev);
  return out;
}

/** The case `body` delivered with `plan`. */
export function materialize(body: Body, plan: PlanSpec): FuzzCase {
  const chunks = chunkSizes(body.bytes.length, plan);
  const delays = chunks.map((_, i) => (i === 0 ? 0 : (plan.delays[i - 1] ?? 0)));
  return { bytes: body.bytes, chunks, delays, halfClose: plan.halfClose, label: body.label };
}

/** Delivery plans; `maxDelay` (ms) bounds each delay. */
export function planArb(maxDelay: number): fc.Arbitrary<PlanSpec> {
  // Selectors are integers so that fast-check shrinks them towards 0: one chunk, no delay, no
  // half-close (a weighted `oneof` would not cross-shrink to its first branch).
  const delays =
    maxDelay <= 0
      ? fc.constant<number[]>([])
      : fc
          .tuple(
            fc.integer({ min: 0, max: 6 }),
            fc.array(fc.integer({ min: 0, max: maxDelay }), { minLength: 1, maxLength: 4 }),
          )
          .map(([sel, d]) => (sel < 6 ? [] : d));
  return fc.record({
    mode: fc
      .integer({ min: 0, max: 8 })
      .map((i): PlanSpec["mode"] => (i < 3 ? "whole" : i < 8 ? "cuts" : "drip")),
    cuts: fc.array(fc.nat({ max: 0xffff }), { minLength: 1, maxLength: 6 }),
    delays,
    halfClose: fc.integer({ min: 0, max: 2 }).map((i) => i === 2),
  });
}

/** What the generators start from besides the framing itself. */
export interface Seeds {
  /** The decoded frames of the probe request (its valid frames), if any. */
  probeFrames: readonly unknown[];
  /** Saved cases (from `--corpus`), as bytes. */
  corpus: readonly Uint8Array[];
}

/** A byte-level mutation of a saved case (it may or may not stay valid: the oracles decide). */
function mutateRaw(bytes: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(fc.nat(), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 255 }))
    .map(([at, op, byte]) => {
      if (bytes.length === 0) return Uint8Array.of(byte);
      const i = at % bytes.length;
      if (op === 0) return concat([bytes.subarray(0, i), bytes.subarray(i + 1)]);
      if (op === 1) return concat([bytes.subarray(0, i), Uint8Array.of(byte), bytes.subarray(i)]);
      if (op === 2) return concat([bytes.subarray(0, i + 1), bytes.subarray(i)]);
      const out = bytes.slice();
      out[i] = byte;
      return out;
    });
}

/**
 * Case bodies: valid frames (one, or several pipelined), malformed frames of every kind, and —
 * given a probe — structure-aware payload mutations of its frames (re-framed valid) and mutations
 * of their framing; given a corpus, its cases as saved and mutated.
 */
export function bodyArb(model: FramingModel, seeds: Seeds): fc.Arbitrary<Body> {
  const enc = (frames: readonly unknown[]) => concat(frames.map((f) => model.encode(f)));
  const valid = fc.array(model.frame(), { minLength: 1, maxLength: 3 }).map(
    (frames): Body => ({
      bytes: enc(frames),
      label: frames.length === 1 ? "valid" : `valid, ${frames.length} pipelined`,
    }),
  );
  const arbs: fc.WeightedArbitrary<Body>[] = [
    { weight: 3, arbitrary: valid },
    {
      weight: 4,
      arbitrary: model
        .malformed()
        .map((b): Body => ({ bytes: b.bytes, label: `malformed: ${b.kind}` })),
    },
  ];
  const probe = seeds.probeFrames;
  if (probe.length > 0) {
    const pick = fc.nat({ max: probe.length - 1 });
    const extra = fc.oneof(
      { weight: 4, arbitrary: fc.constant<unknown[]>([]) },
      { weight: 1, arbitrary: fc.array(fc.constantFrom(...probe), { minLength: 1, maxLength: 2 }) },
    );
    arbs.push({
      weight: 4,
      arbitrary: fc
        .tuple(
          pick.chain((i) => model.mutate(probe[i])),
          extra,
        )
        .map(
          ([f, more]): Body => ({
            bytes: enc([f, ...more]),
            label:
              more.length === 0 ? "probe payload mutation" : "probe payload mutation, pipelined",
          }),
        ),
    });
    arbs.push({
      weight: 3,
      arbitrary: pick
        .chain((i) => model.mutateFraming(probe[i]))
        .map((b): Body => ({ bytes: b.bytes, label: `probe framing mutation: ${b.kind}` })),
    });
    arbs.push({
      weight: 1,
      arbitrary: fc
        .array(fc.constantFrom(...probe), { minLength: 1, maxLength: 3 })
        .map((frames): Body => ({ bytes: enc(frames), label: "probe frames" })),
    });
  }
  if (seeds.corpus.length > 0) {
    const entry = fc.constantFrom(...seeds.corpus);
    arbs.push({ weight: 1, arbitrary: entry.map((bytes): Body => ({ bytes, label: "corpus" })) });
    arbs.push({
      weight: 2,
      arbitrary: entry.chain(mutateRaw).map((bytes): Body => ({ bytes, label: "corpus mutation" })),
    });
  }
  return fc.oneof(...arbs);
}

/** Whole cases: a body and its delivery plan. */
export function caseArb(
  model: FramingModel,
  seeds: Seeds,
  maxDelay: number,
): fc.Arbitrary<FuzzCase> {
  return fc.tuple(bodyArb(model, seeds), planArb(maxDelay)).map(([b, p]) => materialize(b, p));
}

/** The size a shrink minimises: bytes first, then chunks, then delays and half-close. */
export function caseSize(c: FuzzCase): number[] {
  return [
    c.bytes.length,
    c.chunks.length,
    c.delays.reduce((s, d) => s + d, 0),
    c.halfClose ? 1 : 0,
  ];
}

/** `c`'s bytes in one chunk, without delays or half-close. */
export function wholeCase(c: FuzzCase): FuzzCase {
  return {
    bytes: c.bytes,
    chunks: c.bytes.length > 0 ? [c.bytes.length] : [],
    delays: c.bytes.length > 0 ? [0] : [],
    halfClose: false,
    label: `${c.label} (in one chunk)`,
  };
}

/** Whether `a` and `b` deliver alike: as many chunks, no delays, same half-close. */
export function sameDelivery(a: FuzzCase, b: FuzzCase): boolean {
  return (
    a.halfClose === b.halfClose &&
    a.chunks.length === b.chunks.length &&
    a.delays.every((d) => d === 0) &&
    b.delays.every((d) => d === 0)
  );
}
