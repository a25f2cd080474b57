/**
 * Lines benchmark: weft's line decoder (push API, Node Transform, LineReceiver, LineOnlyReceiver)
 * against split2, split, node:readline, Twisted's LineReceiver/LineOnlyReceiver and a hand-written
 * limit loop, on the same input (lines of printable bytes ended by `\n`) in the same run.
 *
 * `benchLines()` is called by bench/receivers/run.ts; `node --import tsx bench/receivers/lines.ts`
 * runs it alone and prints its table. Env: see common.ts (BENCH_SAMPLES, BENCH_SCALE, BENCH_TWISTED).
 *
 * Notes on fairness: split2, split and readline hand out strings (they decode UTF-8), weft and the
 * limit loop bytes; every implementation's per-line work is "count it and add its length".
 */
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { Readable, type Transform } from "node:stream";
import { pathToFileURL } from "node:url";
import {
  LineDecoder,
  LineOnlyReceiver,
  LineReceiver,
  lineTransform,
} from "../../src/protocols/receivers/index.js";
import { MemoryTransport } from "../../src/testing/memory.js";
import {
  chunk,
  LIMIT,
  payload,
  type Row,
  repeat,
  row,
  SAMPLES,
  type Scenario,
  scenarios,
  throughTransform,
  twisted,
} from "./common.js";

const require = createRequire(import.meta.url);
const split2 = require("split2") as (matcher?: string | RegExp) => Transform;
const split = require("split") as (matcher?: string | RegExp) => Transform;

const FRAMING = "lines";
const NL = 10;

/** Sum of line lengths, kept so no implementation's work can be optimised away. */
let sink = 0;

/** Partial lines up to this size are carried in `scratch`; longer ones as a list of views. */
const SCRATCH_MAX = 64 * 1024;
/** The reusable buffer a short partial line is copied into (doubles as needed, up to SCRATCH_MAX). */
let scratch = new Uint8Array(1024);
/** A partial line past SCRATCH_MAX: views of the chunks, joined once by `Buffer.concat`. */
let pieces: Uint8Array[] | null = null;
/** Bytes of the partial line (in `scratch`, or in `pieces`). */
let pending = 0;

/** Keeps `c[from..to)` as the next bytes of the partial line. */
function keep(c: Buffer, from: number, to: number): void {
  const k = to - from;
  if (pieces === null && pending + k <= SCRATCH_MAX) {
    if (pending + k > scratch.length) {
      const grown = new Uint8Array(
        Math.min(SCRATCH_MAX, Math.max(pending + k, scratch.length * 2)),
      );
      grown.set(scratch.subarray(0, pending), 0);
      scratch = grown;
    }
    if (k < 32) for (let j = 0; j < k; j++) scratch[pending + j] = c[from + j]!;
    else scratch.set(new Uint8Array(c.buffer, c.byteOffset + from, k), pending);
  } else {
    if (pieces === null) pieces = [scratch.slice(0, pending)];
    pieces.push(k === c.length ? c : new Uint8Array(c.buffer, c.byteOffset + from, k));
  }
  pending += k;
}

/**
 * The limit: the best simple loop a person would write for `\n` lines over Buffers —
 * `Buffer#indexOf(10)` and a plain `new Uint8Array(buffer, offset, length)` view per line inside
 * a chunk (the same view type weft hands out). A line spanning chunks is carried in a reusable
 * scratch buffer (a byte loop for pieces under 32 bytes) and copied out once; past 64 KiB it is
 * kept as a list of views and joined once by `Buffer.concat` (collect + one concat). Measured
 * alternatives, all slower here: `Uint8Array#indexOf` (0.6× on 64 KiB chunks), a byte loop for
 * the search, a list of views for short partial lines (0.75× on 7-byte chunks), the scratch
 * buffer for the 16 MiB line (0.6×: it copies the line twice).
 */
function limitLoop(chunks: readonly Buffer[]): number {
  let n = 0;
  pending = 0;
  pieces = null;
  for (const c of chunks) {
    const len = c.length;
    const ab = c.buffer;
    const bo = c.byteOffset;
    let off = 0;
    let i = c.indexOf(NL, 0);
    if (i !== -1 && pending > 0) {
      keep(c, 0, i);
      const line: Uint8Array =
        pieces === null ? scratch.slice(0, pending) : Buffer.concat(pieces, pending);
      sink += line.length;
      n++;
      pieces = null;
      pending = 0;
      off = i + 1;
      i = c.indexOf(NL, off);
    }
    while (i !== -1) {
      const line = new Uint8Array(ab, bo + off, i - off);
      sink += line.length;
      n++;
      off = i + 1;
      i = c.indexOf(NL, off);
    }
    if (off < len) keep(c, off, len);
  }
  return n;
}

function weftPush(chunks: readonly Buffer[], maxLength: number): number {
  let n = 0;
  const d = new LineDecoder(
    {
      onFrame(line) {
        sink += line.length;
        n++;
      },
      onError(e) {
        throw e;
      },
    },
    { delimiter: "\n", maxLength },
  );
  for (const c of chunks) d.feed(c);
  d.end();
  return n;
}

class CountingLineReceiver extends LineReceiver {
  n = 0;
  override delimiter = "\n";
  override lineReceived(line: Uint8Array): void {
    sink += line.length;
    this.n++;
  }
}

class CountingLineOnlyReceiver extends LineOnlyReceiver {
  n = 0;
  override delimiter = "\n";
  override lineReceived(line: Uint8Array): void {
    sink += line.length;
    this.n++;
  }
}

function weftProtocol(
  chunks: readonly Buffer[],
  maxLength: number,
  Kind: typeof CountingLineReceiver | typeof CountingLineOnlyReceiver,
): number {
  const p = new Kind();
  p.MAX_LENGTH = maxLength;
  p.makeConnection(new MemoryTransport());
  for (const c of chunks) p.dataReceived(c);
  return p.n;
}

function countStrings(stream: Transform, chunks: readonly Buffer[]): Promise<number> {
  stream.on("data", (line: string) => {
    sink += line.length;
  });
  return throughTransform(stream, chunks);
}

function viaReadline(chunks: readonly Buffer[]): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0;
    const input = Readable.from(chunks, { objectMode: false });
    input.on("error", reject);
    const rl = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
    rl.on("line", (line) => {
      sink += line.length;
      n++;
    });
    rl.on("close", () => resolve(n));
  });
}

/** Twisted is measured on at most this many lines per scenario (its cost per line is constant). */
const TWISTED_MAX_LINES = 100_000;

/**
 * split2, split (string concatenation) and Twisted (re-concatenation per chunk, twisted#6357) are
 * quadratic in the size of a line spanning many chunks: they are measured on QUADRATIC_SCENARIO
 * instead of the 16 MiB line, which would take them minutes.
 */
const QUADRATIC_SCENARIO: Scenario = {
  label: "1 x 2 MiB / 64 KiB chunks",
  frames: 1,
  payload: 2 * 1024 * 1024,
  chunk: 65536,
  samples: SAMPLES * 5,
};
/** Lines longer than this are not given to the quadratic peers. */
const QUADRATIC_LIMIT = 4 * 1024 * 1024;

async function scenarioRows(sc: Scenario): Promise<Row[]> {
  const frame = Buffer.concat([payload(sc.payload), Buffer.of(NL)]);
  const input = repeat(frame, sc.frames);
  const chunks = chunk(input, sc.chunk);
  const max = Math.max(16384, sc.payload);
  const bytes = input.length;
  const quadratic = sc.payload > QUADRATIC_LIMIT;
  const rows: Row[] = [];
  rows.push(await row(FRAMING, sc, LIMIT, bytes, () => limitLoop(chunks)));
  rows.push(await row(FRAMING, sc, "weft push", bytes, () => weftPush(chunks, max)));
  rows.push(
    await row(FRAMING, sc, "weft LineReceiver", bytes, () =>
      weftProtocol(chunks, max, CountingLineReceiver),
    ),
  );
  rows.push(
    await row(FRAMING, sc, "weft LineOnlyReceiver", bytes, () =>
      weftProtocol(chunks, max, CountingLineOnlyReceiver),
    ),
  );
  rows.push(
    await row(FRAMING, sc, "weft Transform", bytes, () =>
      throughTransform(lineTransform({ delimiter: "\n", maxLength: max }), chunks),
    ),
  );
  if (!quadratic) {
    rows.push(await row(FRAMING, sc, "split2", bytes, () => countStrings(split2(), chunks)));
    rows.push(await row(FRAMING, sc, "split", bytes, () => countStrings(split(), chunks)));
  }
  rows.push(await row(FRAMING, sc, "node:readline", bytes, () => viaReadline(chunks)));
  if (!quadratic) {
    const lines = Math.min(sc.frames, TWISTED_MAX_LINES);
    const subset = { ...sc, frames: lines };
    const part = input.subarray(0, lines * frame.length);
    const note = lines < sc.frames ? `extrapolated from the first ${lines} lines` : undefined;
    for (const [receiver, impl] of [
      ["line", "twisted LineReceiver"],
      ["lineonly", "twisted LineOnlyReceiver"],
    ] as const) {
      const tw = twisted(FRAMING, subset, receiver, part, max);
      if (tw === null) continue;
      // Twisted's cost per line does not depend on the line count: scale to the whole input so
      // the row compares with the others.
      const scale = sc.frames / lines;
      const r: Row = {
        ...tw,
        scenario: sc.label,
        impl,
        frames: tw.frames * scale,
        bytes: input.length,
        seconds: tw.seconds * scale,
      };
      if (note !== undefined && r.note === undefined) r.note = note;
      rows.push(r);
    }
  }
  return rows;
}

/** Every lines scenario (see common.ts `scenarios()`), weft and its peers measured in one run. */
export async function benchLines(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const sc of [...scenarios(), QUADRATIC_SCENARIO]) rows.push(...(await scenarioRows(sc)));
  if (sink === -1) process.stdout.write("");
  return rows;
}

function fmt(n: number, digits = 2): string {
  if (!Number.isFinite(n)) return "n/a";
  return n >= 100 ? n.toFixed(0) : n.toFixed(digits);
}

/** Prints rows as a Markdown table with frames/s, MB/s and the ratio to the limit. */
export function linesTable(rows: readonly Row[]): string {
  const out = [
    "| scenario | impl | frames/s | MB/s | × limit | note |",
    "|---|---|---:|---:|---:|---|",
  ];
  for (const r of rows) {
    const limit = rows.find((x) => x.scenario === r.scenario && x.impl === LIMIT);
    const ratio = limit ? r.bytes / r.seconds / (limit.bytes / limit.seconds) : Number.NaN;
    out.push(
      `| ${r.scenario} | ${r.impl} | ${fmt(r.frames / r.seconds / 1e6, 3)} M | ${fmt(r.bytes / r.seconds / 1e6)} | ${fmt(ratio)} | ${r.note ?? ""} |`,
    );
  }
  return out.join("\n");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const rows = await benchLines();
  process.stdout.write(`${linesTable(rows)}\n`);
}
