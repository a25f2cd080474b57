/**
 * Findings: what an oracle found, on which case, shrunk; the replayable file written for each one
 * (`--out`), the JSON shape `--json` prints, and the `weft fuzz replay` command line.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { InvalidArgumentError } from "../core/errors.js";
import type { FuzzCase } from "./cases.js";
import type { FramingName } from "./framing.js";
import type { OracleName, Verdict } from "./oracles.js";

/** How to rebuild the framing model (what the command line said). */
export interface FramingSpec {
  name: FramingName;
  maxLength: number;
  prefix?: 1 | 2 | 3 | 4 | 8 | "varint";
  endian?: "big" | "little";
  /** The `--shape` module, as an absolute path. */
  shape?: string;
  /** The line delimiter, base64. */
  delimiter?: string;
}

/** A deduplicated, shrunk finding. */
export interface Finding extends Verdict {
  /** The failing case (shrunk when `shrunk`). */
  case: FuzzCase;
  /** The campaign's seed and the number of the case that first showed it. */
  seed: number;
  caseNumber: number;
  /** Whether the case was shrunk (a crash without `--spawn` cannot be). */
  shrunk: boolean;
  /** How many cases showed this signature. */
  hits: number;
  /** For `inconsistent`: the same request delivered in one chunk, which got `expected`. */
  baseline?: FuzzCase;
  /** The spawned target's exit, for `crash` (and `memory`). */
  exit?: { code: number | null; signal: string | null; stderrTail: string };
  /** The replayable file, once written. */
  file?: string;
}

/** What a finding file holds: the finding and everything `replay` needs. */
export interface FindingFile {
  weftFuzz: 1;
  oracle: OracleName;
  signature: string;
  observed: string;
  expected: string;
  framing: FramingSpec;
  endpoint: string;
  input: string;
  chunks: number[];
  delays: number[];
  halfClose: boolean;
  label: string;
  seed: number;
  case: number;
  timeoutMs: number;
  lenient: boolean;
  probe?: string;
  expect?: string;
  reference?: string;
  baseline?: { input: string; chunks: number[]; delays: number[]; halfClose: boolean };
  spawn?: string;
  maxRss?: number;
  exit?: { code: number | null; signal: string | null; stderrTail: string };
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");
const unb64 = (s: string) => new Uint8Array(Buffer.from(s, "base64"));

/** The JSON object of one finding in `--json` output. */
export function findingJson(f: Finding, replay: string): Record<string, unknown> {
  const out: Record<string, unknown> = {
    oracle: f.oracle,
    input: b64(f.case.bytes),
    chunks: f.case.chunks,
    delays: f.case.delays,
    halfClose: f.case.halfClose,
    seed: f.seed,
    case: f.caseNumber,
    observed: f.observed,
    expected: f.expected,
    replay,
    signature: f.signature,
    label: f.case.label,
    shrunk: f.shrunk,
    hits: f.hits,
  };
  if (f.file !== undefined) out["file"] = f.file;
  if (f.exit !== undefined) out["exit"] = f.exit;
  return out;
}

/** Shell-quotes `s` for a command line. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

/** The command line that replays a finding file. */
export function replayCommand(file: string, endpoint: string): string {
  return `weft fuzz replay ${shellQuote(file)} ${shellQuote(endpoint)}`;
}

/** Context a finding file records besides the finding. */
export interface FileContext {
  framing: FramingSpec;
  endpoint: string;
  timeoutMs: number;
  lenient: boolean;
  probe?: Uint8Array | undefined;
  expect?: Uint8Array | undefined;
  reference?: string | undefined;
  spawn?: string | undefined;
  maxRss?: number | undefined;
}

/** Writes `f` to `dir` as `NNN-<oracle>.json`; returns the path. */
export function writeFindingFile(dir: string, index: number, f: Finding, ctx: FileContext): string {
  mkdirSync(dir, { recursive: true });
  const file: FindingFile = {
    weftFuzz: 1,
    oracle: f.oracle,
    signature: f.signature,
    observed: f.observed,
    expected: f.expected,
    framing: ctx.framing,
    endpoint: ctx.endpoint,
    input: b64(f.case.bytes),
    chunks: f.case.chunks,
    delays: f.case.delays,
    halfClose: f.case.halfClose,
    label: f.case.label,
    seed: f.seed,
    case: f.caseNumber,
    timeoutMs: ctx.timeoutMs,
    lenient: ctx.lenient,
  };
  if (ctx.probe !== undefined) file.probe = b64(ctx.probe);
  if (ctx.expect !== undefined) file.expect = b64(ctx.expect);
  if (ctx.reference !== undefined) file.reference = ctx.reference;
  if (ctx.spawn !== undefined) file.spawn = ctx.spawn;
  if (ctx.maxRss !== undefined) file.maxRss = ctx.maxRss;
  if (f.exit !== undefined) file.exit = f.exit;
  if (f.baseline !== undefined) {
    file.baseline = {
      input: b64(f.baseline.bytes),
      chunks: f.baseline.chunks,
      delays: f.baseline.delays,
      halfClose: f.baseline.halfClose,
    };
  }
  const path = join(dir, `${String(index).padStart(3, "0")}-${f.oracle}.json`);
  writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`);
  return path;
}

/** Reads a finding file; InvalidArgumentError when it is not one. */
export function readFindingFile(path: string): FindingFile {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new InvalidArgumentError(
      `cannot read finding file ${path}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (
    typeof data !== "object" ||
    data === null ||
    Reflect.get(data, "weftFuzz") !== 1 ||
    typeof Reflect.get(data, "input") !== "string"
  ) {
    throw new InvalidArgumentError(`${path} is not a weft fuzz finding file`);
  }
  return data as FindingFile;
}

/** The case a finding file records. */
export function fileCase(f: FindingFile): FuzzCase {
  return {
    bytes: unb64(f.input),
    chunks: f.chunks,
    delays: f.delays,
    halfClose: f.halfClose,
    label: f.label,
  };
}

/** The baseline case of an `inconsistent` finding file. */
export function fileBaseline(f: FindingFile): FuzzCase | undefined {
  const b = f.baseline;
  if (b === undefined) return undefined;
  return {
    bytes: unb64(b.input),
    chunks: b.chunks,
    delays: b.delays,
    halfClose: b.halfClose,
    label: "baseline",
  };
}

/** Base64 → bytes (for the probe and expect of a finding file). */
export function fromBase64(s: string): Uint8Array {
  return unb64(s);
}
