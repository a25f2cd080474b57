/**
 * `weft fuzz replay <file> [endpoint]`: sends a finding's case again — same bytes, same chunks,
 * same delays, same half-close — and tells whether its oracle still fires.
 */

import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { InvalidArgumentError } from "../core/errors.js";
import type { Shape } from "../protocols/shapes/shape.js";
import { Shape as ShapeClass, type ShapeSpec } from "../protocols/shapes/shape.js";
import type { FuzzCase } from "./cases.js";
import { compareWithReference, sameOutcome } from "./differential.js";
import { parseTarget, type TargetAddress } from "./endpoint.js";
import { escapeBytes } from "./escapes.js";
import {
  type FramingSpec,
  fileBaseline,
  fileCase,
  fromBase64,
  readFindingFile,
} from "./findings.js";
import { analyze, type FramingModel } from "./framing.js";
import { framingModel } from "./framings/index.js";
import { describeExit, ProcessMonitor } from "./monitor.js";
import { connectTo, runOverNet } from "./net-executor.js";
import { describeOutcome, judge } from "./oracles.js";
import { waitRule } from "./outcome.js";

/** Loads the shape exported by a module (its default export, or its first exported Shape). */
export async function loadShape(path: string): Promise<Shape> {
  const abs = resolve(path);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
  } catch (err) {
    throw new InvalidArgumentError(
      `cannot load the shape module ${path}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const candidates = [mod["default"], mod["shape"], ...Object.values(mod)];
  for (const c of candidates) {
    if (c instanceof ShapeClass) return c;
    // A shape from another copy of weft (the user's module imports the library entry, this
    // command runs from its own bundle): rebuild it from its declaration.
    const spec: unknown = typeof c === "object" && c !== null ? Reflect.get(c, "spec") : undefined;
    if (typeof spec === "object" && spec !== null && Reflect.has(spec, "length")) {
      return new ShapeClass(spec as ShapeSpec);
    }
  }
  throw new InvalidArgumentError(
    `${path} exports no shape: export one made with defineShape (as default or by any name)`,
  );
}

/** The framing model a spec describes. */
export async function modelFromSpec(spec: FramingSpec): Promise<FramingModel> {
  const opts: Parameters<typeof framingModel>[1] = { maxLength: spec.maxLength };
  if (spec.prefix !== undefined) opts.prefix = spec.prefix;
  if (spec.endian !== undefined) opts.endian = spec.endian;
  if (spec.shape !== undefined) opts.shape = await loadShape(spec.shape);
  if (spec.delimiter !== undefined) opts.delimiter = fromBase64(spec.delimiter);
  return framingModel(spec.name, opts);
}

/** What a replay found. */
export interface ReplayResult {
  /** Whether the oracle still fires. */
  fired: boolean;
  /** What happened, in words. */
  message: string;
}

async function run(target: TargetAddress, model: FramingModel, c: FuzzCase, timeoutMs: number) {
  const a = analyze(model, c.bytes);
  return runOverNet(target, model, c, waitRule(a, c.halfClose), timeoutMs);
}

/** Replays the finding in `file` against `endpoint` (default: the one it was found on). */
export async function replayFinding(file: string, endpoint?: string): Promise<ReplayResult> {
  const f = readFindingFile(file);
  const model = await modelFromSpec(f.framing);
  const target = parseTarget(endpoint ?? f.endpoint);
  const c = fileCase(f);
  const timeoutMs = f.timeoutMs;
  let monitor: ProcessMonitor | null = null;
  if (f.spawn !== undefined && endpoint === undefined) {
    monitor = new ProcessMonitor(f.spawn, target);
    if (!(await monitor.start())) {
      await monitor.stop();
      throw new InvalidArgumentError(`the spawned target never accepted on ${target.text}`);
    }
  } else {
    const s = await connectTo(target, Math.max(timeoutMs, 1000));
    if (typeof s === "string")
      throw new InvalidArgumentError(`cannot connect to ${target.text}: ${s}`);
    s.destroy();
  }
  try {
    switch (f.oracle) {
      case "crash": {
        await run(target, model, c, timeoutMs);
        const exit = monitor !== null ? await monitor.waitExit(Math.min(500, timeoutMs)) : null;
        if (exit !== null)
          return { fired: true, message: `the target exited (${describeExit(exit)})` };
        const s = await connectTo(target, timeoutMs);
        if (typeof s === "string")
          return { fired: true, message: `the target stopped accepting (${s})` };
        s.destroy();
        return { fired: false, message: "the target still accepts connections" };
      }
      case "liveness": {
        if (f.probe === undefined) return { fired: false, message: "the file records no probe" };
        await run(target, model, c, timeoutMs);
        const probe = fromBase64(f.probe);
        const pc: FuzzCase = {
          bytes: probe,
          chunks: [probe.length],
          delays: [0],
          halfClose: false,
          label: "probe",
        };
        const expect = f.expect !== undefined ? fromBase64(f.expect) : null;
        const rule =
          expect !== null
            ? { replyFrames: -1, quietStop: false, replyBytes: expect.length }
            : waitRule(analyze(model, probe), false);
        const out = await runOverNet(target, model, pc, rule, timeoutMs);
        const got = Buffer.from(out.reply);
        const ok =
          out.connectError === null &&
          (expect === null
            ? got.length > 0
            : out.closed
              ? got.equals(Buffer.from(expect))
              : got.subarray(0, expect.length).equals(Buffer.from(expect)));
        return ok
          ? { fired: false, message: "the probe still gets its reply" }
          : { fired: true, message: `the probe got ${describeOutcome(out)}` };
      }
      case "memory": {
        if (monitor === null || f.maxRss === undefined)
          return { fired: false, message: "a memory finding replays only with its spawned target" };
        let peak = 0;
        const timer = setInterval(() => {
          peak = Math.max(peak, (monitor as ProcessMonitor).rssMiB());
        }, 20);
        await run(target, model, c, timeoutMs);
        clearInterval(timer);
        peak = Math.max(peak, monitor.rssMiB());
        return peak > f.maxRss
          ? {
              fired: true,
              message: `the target grew to ${peak.toFixed(0)} MiB (limit ${f.maxRss})`,
            }
          : { fired: false, message: `the target stayed at ${peak.toFixed(0)} MiB` };
      }
      case "inconsistent": {
        const base = fileBaseline(f) ?? {
          ...c,
          chunks: [c.bytes.length],
          delays: [0],
          halfClose: false,
        };
        const a = await run(target, model, c, timeoutMs);
        const b = await run(target, model, base, timeoutMs);
        return sameOutcome(a, b)
          ? { fired: false, message: "the same reply either way" }
          : { fired: true, message: `${describeOutcome(a)} instead of ${describeOutcome(b)}` };
      }
      case "differential": {
        if (f.reference === undefined)
          return { fired: false, message: "the file records no reference" };
        const ref = parseTarget(f.reference);
        const [a, b] = await Promise.all([
          run(target, model, c, timeoutMs),
          run(ref, model, c, timeoutMs),
        ]);
        const v = compareWithReference(c, a, b, []);
        return v === null
          ? { fired: false, message: "the target and the reference agree" }
          : { fired: true, message: `target: ${v.observed}; reference: ${v.expected}` };
      }
      default: {
        const out = await run(target, model, c, timeoutMs);
        const v = judge(model, analyze(model, c.bytes), out, { lenient: f.lenient, timeoutMs });
        return v !== null && v.oracle === f.oracle
          ? { fired: true, message: v.observed }
          : {
              fired: false,
              message: `${describeOutcome(out)} (sent "${escapeBytes(c.bytes, 120)}")`,
            };
      }
    }
  } finally {
    await monitor?.stop();
  }
}
