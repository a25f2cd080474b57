/**
 * AMP box codec in memory, for bench/amp/run.ts (`benchCodec()`), or alone:
 * `node --expose-gc --import tsx bench/amp/codec.ts`.
 *
 * - decode: a stream of Sum request boxes (`_ask`, `_command`, `a`, `b`) fed in 64 KiB chunks.
 *   Baseline: a hand-written zero-copy loop that only finds each key and value (readUInt16BE and
 *   `Uint8Array` views, no Map, no strings). weft: `BoxDecoder` delivering `Map<string, Uint8Array>`
 *   boxes. Twisted: `BinaryBoxProtocol` fed the same bytes (bench/amp/codec_twisted.py).
 * - decode big values: boxes of four 60 000-byte values fed in 1 KiB chunks (the many-small-chunks
 *   case; cost must stay linear). Baseline: the same loop, a value cut by chunk boundaries collected
 *   and joined by one concat.
 * - encode: Sum request boxes from their keys and values. Baseline: a hand-written writer that knows
 *   the key order and sizes. weft: `encodeBox(Map)` (validates, sorts, sizes, one allocation).
 *   Twisted: `AmpBox.serialize`.
 *
 * Rates are per second of CPU time of the measuring process (see `measurePair`), Twisted's too
 * (`time.process_time`).
 *
 * Env: BENCH_SAMPLES, BENCH_SCALE, BENCH_TWISTED (bench/amp/common.ts).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type AmpBox, BoxDecoder, encodeBox } from "../../src/protocols/amp/box.js";
import { median, type Row, SAMPLES, SCALE, TWISTED, table } from "./common.js";

const here = dirname(fileURLToPath(import.meta.url));
const PYTHON = "/usr/bin/python3";
const CHUNK = 64 * 1024;
const BOXES = Math.max(1000, Math.round(400_000 * SCALE));
const BIG_BOXES = Math.max(10, Math.round(400 * SCALE));
const BIG_VALUE = 60_000;
const BIG_CHUNK = 1024;

interface Measured {
  seconds: number;
  ops: number;
}

/**
 * Times `a` and `b` alternately (two warm-ups each, then `max(SAMPLES, 5)` rounds) and returns each
 * one's median. Time is this process's CPU time (user + system, GC threads included), not wall time:
 * on a shared 2-core machine wall time mostly measures the other processes.
 */
function measurePair(a: () => number, b: () => number): [Measured, Measured] {
  const run = (fn: () => number, times: number[]): number => {
    (globalThis as { gc?: () => void }).gc?.();
    const c0 = process.cpuUsage();
    const ops = fn();
    const c = process.cpuUsage(c0);
    times.push((c.user + c.system) / 1e6);
    return ops;
  };
  let opsA = a() + 0 * a();
  let opsB = b() + 0 * b();
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < Math.max(SAMPLES, 5); i++) {
    opsA = run(a, ta);
    opsB = run(b, tb);
  }
  return [
    { seconds: median(ta), ops: opsA },
    { seconds: median(tb), ops: opsB },
  ];
}

const latin1 = (s: string): Buffer => Buffer.from(s, "latin1");

/** Hand-written Sum box bytes (independent of the encoder under test). */
function sumBox(i: number): Buffer {
  const parts: Buffer[] = [];
  const pair = (k: string, v: string) => {
    const kb = latin1(k);
    const vb = latin1(v);
    const h = Buffer.alloc(2);
    h.writeUInt16BE(kb.length);
    const vh = Buffer.alloc(2);
    vh.writeUInt16BE(vb.length);
    parts.push(h, kb, vh, vb);
  };
  pair("_ask", (i + 1).toString(16));
  pair("_command", "Sum");
  pair("a", String(i));
  pair("b", String(i * 7));
  parts.push(Buffer.alloc(2));
  return Buffer.concat(parts);
}

/** The stream cut into separately allocated chunks, as socket reads arrive. */
function chunksOf(stream: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < stream.length; i += size) out.push(Buffer.from(stream.subarray(i, i + size)));
  return out;
}

let blackhole = 0;

/**
 * The baseline: finds every key and value with readUInt16BE and makes a plain `Uint8Array` view of
 * each. A key/value pair cut by a chunk boundary is completed by "collect + one concat": the
 * chunks are collected until the pair's bytes are all there, then only those bytes are joined once
 * (never the whole chunk, never the box from its start), and the pass goes on in the chunk.
 */
function rawDecode(chunks: Buffer[]): number {
  let boxes = 0;
  let sink = 0;
  let parts: Buffer[] = []; // the bytes so far of a pair cut by a chunk boundary
  let have = 0;
  let need = 0; // bytes that pair needs before the scan can go on
  // Scans whole pairs from `pos`; returns where the first incomplete one starts, sets `need`.
  const scan = (buf: Buffer, pos: number): number => {
    const ab = buf.buffer;
    const base = buf.byteOffset;
    const n = buf.length;
    for (;;) {
      if (pos + 2 > n) {
        need = 2;
        return pos;
      }
      const klen = buf.readUInt16BE(pos);
      if (klen === 0) {
        pos += 2;
        boxes++;
        continue;
      }
      if (pos + 4 + klen > n) {
        need = 4 + klen;
        return pos;
      }
      const vlen = buf.readUInt16BE(pos + 2 + klen);
      if (pos + 4 + klen + vlen > n) {
        need = 4 + klen + vlen;
        return pos;
      }
      const key = new Uint8Array(ab, base + pos + 2, klen);
      const value = new Uint8Array(ab, base + pos + 4 + klen, vlen);
      sink += key.length + value.length;
      pos += 4 + klen + vlen;
    }
  };
  for (const chunk of chunks) {
    const n = chunk.length;
    let off = 0;
    while (have > 0) {
      if (have + n - off < need) {
        parts.push(off === 0 ? chunk : chunk.subarray(off));
        have += n - off;
        off = n;
        break;
      }
      const take = need - have;
      parts.push(chunk.subarray(off, off + take));
      off += take;
      const joined = Buffer.concat(parts, need);
      const p = scan(joined, 0); // a pair, or just its header (then `need` grows)
      parts = p < joined.length ? [joined.subarray(p)] : [];
      have = joined.length - p;
    }
    if (off < n) {
      const p = scan(chunk, off);
      if (p < n) {
        parts = [chunk.subarray(p)];
        have = n - p;
      }
    }
  }
  blackhole += sink;
  return boxes;
}

function weftDecode(chunks: Buffer[]): number {
  let boxes = 0;
  let sink = 0;
  const d = new BoxDecoder({
    onFrame: (box: AmpBox) => {
      boxes++;
      sink += box.size;
    },
    onError: (e) => {
      throw e;
    },
  });
  for (const c of chunks) d.feed(c);
  d.end();
  blackhole += sink;
  return boxes;
}

const K_ASK = latin1("\x00\x04_ask");
const K_COMMAND_SUM = latin1("\x00\x08_command\x00\x03Sum");
const K_A = latin1("\x00\x01a");
const K_B = latin1("\x00\x01b");

/** The baseline encoder: knows the sorted key order and writes into one exact-size buffer. */
function rawEncode(values: [Buffer, Buffer, Buffer][]): number {
  let sink = 0;
  for (const [ask, a, b] of values) {
    const size =
      K_ASK.length +
      2 +
      ask.length +
      K_COMMAND_SUM.length +
      K_A.length +
      2 +
      a.length +
      K_B.length +
      2 +
      b.length +
      2;
    const out = Buffer.allocUnsafe(size);
    let p = K_ASK.copy(out, 0);
    p = out.writeUInt16BE(ask.length, p);
    p += ask.copy(out, p);
    p += K_COMMAND_SUM.copy(out, p);
    p += K_A.copy(out, p);
    p = out.writeUInt16BE(a.length, p);
    p += a.copy(out, p);
    p += K_B.copy(out, p);
    p = out.writeUInt16BE(b.length, p);
    p += b.copy(out, p);
    out.writeUInt16BE(0, p);
    sink += out.length;
  }
  blackhole += sink;
  return values.length;
}

const SUM = latin1("Sum");

function weftEncode(values: [Buffer, Buffer, Buffer][]): number {
  let sink = 0;
  for (const [ask, a, b] of values) {
    const box: AmpBox = new Map([
      ["_ask", ask],
      ["_command", SUM],
      ["a", a],
      ["b", b],
    ]);
    sink += encodeBox(box).length;
  }
  blackhole += sink;
  return values.length;
}

interface TwistedRates {
  decodeBoxes: number;
  decodeSeconds: number;
  encodeBoxes: number;
  encodeSeconds: number;
}

function twisted(stream: Buffer, n: number): TwistedRates | string {
  if (!TWISTED) return "skipped (BENCH_TWISTED=0)";
  const probe = spawnSync(PYTHON, ["-c", "import twisted"], { stdio: "ignore" });
  if (probe.status !== 0) return `n/a: no Twisted in ${PYTHON}`;
  const dir = mkdtempSync(join(tmpdir(), "weft-amp-codec-"));
  try {
    const file = join(dir, "stream.bin");
    writeFileSync(file, stream);
    // Twisted parses ~0.2 M boxes/s: give it a tenth of the stream to keep the run short.
    const r = spawnSync(
      PYTHON,
      [join(here, "codec_twisted.py"), file, String(n), String(SAMPLES)],
      {
        encoding: "utf8",
        timeout: 120_000,
      },
    );
    if (r.status !== 0) return `n/a: ${r.stderr.trim().split("\n").pop() ?? "failed"}`;
    return JSON.parse(r.stdout.trim()) as TwistedRates;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** All rows of the codec benchmark. */
export async function benchCodec(): Promise<Row[]> {
  const rows: Row[] = [];
  const boxes = Array.from({ length: BOXES }, (_, i) => sumBox(i));
  const stream = Buffer.concat(boxes);
  const chunks = chunksOf(stream, CHUNK);
  const decodeLabel = `decode Sum boxes, ${CHUNK / 1024} KiB chunks`;

  const [raw, weft] = measurePair(
    () => rawDecode(chunks),
    () => weftDecode(chunks),
  );
  if (raw.ops !== BOXES || weft.ops !== BOXES) throw new Error("decode: wrong box count");
  rows.push({ scenario: decodeLabel, impl: "raw zero-copy loop", baseline: true, ...raw });
  rows.push({ scenario: decodeLabel, impl: "weft BoxDecoder", ...weft });

  const big = Buffer.concat(
    Array.from({ length: BIG_BOXES }, (_, i) =>
      encodeBox(
        new Map([
          ["_answer", latin1(String(i))],
          ["w", Buffer.alloc(BIG_VALUE, 1)],
          ["x", Buffer.alloc(BIG_VALUE, 2)],
          ["y", Buffer.alloc(BIG_VALUE, 3)],
          ["z", Buffer.alloc(BIG_VALUE, 4)],
        ]),
      ),
    ),
  );
  const bigChunks = chunksOf(big, BIG_CHUNK);
  const bigLabel = `decode 4×${BIG_VALUE / 1000} kB-value boxes, ${BIG_CHUNK} B chunks`;
  const [rawBig, weftBig] = measurePair(
    () => rawDecode(bigChunks),
    () => weftDecode(bigChunks),
  );
  if (rawBig.ops !== BIG_BOXES || weftBig.ops !== BIG_BOXES)
    throw new Error("big: wrong box count");
  rows.push({
    scenario: bigLabel,
    impl: "raw zero-copy loop (collect + one concat per cut pair)",
    baseline: true,
    ...rawBig,
  });
  rows.push({ scenario: bigLabel, impl: "weft BoxDecoder", ...weftBig });

  const values = Array.from(
    { length: BOXES },
    (_, i) =>
      [latin1((i + 1).toString(16)), latin1(String(i)), latin1(String(i * 7))] as [
        Buffer,
        Buffer,
        Buffer,
      ],
  );
  const encodeLabel = "encode Sum boxes";
  const [rawEnc, weftEnc] = measurePair(
    () => rawEncode(values),
    () => weftEncode(values),
  );
  rows.push({ scenario: encodeLabel, impl: "raw hand-written writer", baseline: true, ...rawEnc });
  rows.push({ scenario: encodeLabel, impl: "weft encodeBox", ...weftEnc });

  const tenth = Math.max(1000, Math.floor(BOXES / 10));
  const tw = twisted(Buffer.concat(boxes.slice(0, tenth)), tenth);
  if (typeof tw === "string") {
    rows.push({
      scenario: decodeLabel,
      impl: "twisted BinaryBoxProtocol",
      ops: 0,
      seconds: 0,
      note: tw,
    });
    rows.push({
      scenario: encodeLabel,
      impl: "twisted AmpBox.serialize",
      ops: 0,
      seconds: 0,
      note: tw,
    });
  } else {
    rows.push({
      scenario: decodeLabel,
      impl: "twisted BinaryBoxProtocol",
      ops: tw.decodeBoxes,
      seconds: tw.decodeSeconds,
      note: "CPython 3, 1/10 of the stream",
    });
    rows.push({
      scenario: encodeLabel,
      impl: "twisted AmpBox.serialize",
      ops: tw.encodeBoxes,
      seconds: tw.encodeSeconds,
      note: "CPython 3",
    });
  }
  if (blackhole === -1) process.stdout.write("");
  return rows;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rows = await benchCodec();
  process.stdout.write(`${table(rows)}\n`);
}
