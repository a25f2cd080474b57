/**
 * Length-prefixed frames: weft's decoder (push API and Node Transform; 4-byte big-endian and
 * varint prefixes) against the hand-written limit loop, frame-stream (u32be), it-length-prefixed
 * and length-prefixed-stream (varint) and Twisted's Int32StringReceiver, on the same input.
 */
import { createRequire } from "node:module";
import type { Transform } from "node:stream";
import { decode as itDecode } from "it-length-prefixed";
import {
  encodeLengthPrefixed,
  LengthPrefixedDecoder,
  type LengthPrefixedOptions,
  lengthPrefixedTransform,
} from "../../src/protocols/receivers/index.js";
import {
  allocFrame,
  chunk,
  copyInto,
  payload,
  type Row,
  repeat,
  row,
  scenarios,
  throughTransform,
  twisted,
} from "./common.js";

const require = createRequire(import.meta.url);
const frameStream = require("frame-stream") as {
  decode(opts?: { lengthSize?: number; maxSize?: number }): Transform;
};
const lpStream = require("length-prefixed-stream") as {
  decode(opts?: { limit?: number; allowEmpty?: boolean }): Transform;
};

/** Keeps frames observable so no loop is optimised away. */
export let lastFrame: unknown = null;

/**
 * The limit: the best simple hand-written loop over the chunks. Inside a chunk, `readUInt32BE`
 * and a plain `new Uint8Array(buffer, offset, length)` view per frame; a frame spanning chunks
 * is allocated once at its known length and each piece copied into it once (for the 16 MiB frame
 * that is "collect + one concat" without the list); a prefix split across chunks is accumulated
 * byte by byte. No limits, no error paths. (Measured against a reusable doubling scratch buffer
 * with one copy out per spanning frame: equal on small frames, about half as fast on 16 MiB.)
 */
function limitLoop(chunks: readonly Buffer[]): number {
  let count = 0;
  let frame: Uint8Array | null = null; // a frame spanning chunks, being filled
  let filled = 0;
  let hdrBytes = 0; // prefix bytes seen of a prefix split across chunks
  let hdr = 0;
  for (const c of chunks) {
    const n = c.length;
    const ab = c.buffer;
    const bo = c.byteOffset;
    let off = 0;
    while (hdrBytes > 0 && off < n) {
      hdr = hdr * 256 + c[off++]!;
      if (++hdrBytes === 4) {
        frame = allocFrame(hdr);
        filled = 0;
        hdrBytes = 0;
      }
    }
    if (frame !== null) {
      const take = Math.min(frame.length - filled, n - off);
      copyInto(frame, filled, c, off, take);
      filled += take;
      off += take;
      if (filled < frame.length) continue;
      lastFrame = frame;
      count++;
      frame = null;
    }
    while (n - off >= 4) {
      const len = c.readUInt32BE(off);
      off += 4;
      if (n - off < len) {
        frame = allocFrame(len);
        filled = n - off;
        copyInto(frame, 0, c, off, filled);
        off = n;
        break;
      }
      lastFrame = new Uint8Array(ab, bo + off, len);
      count++;
      off += len;
    }
    if (off < n) for (hdr = 0; off < n; hdrBytes++) hdr = hdr * 256 + c[off++]!;
  }
  return count;
}

function weftPush(chunks: readonly Buffer[], options: LengthPrefixedOptions): number {
  let count = 0;
  const d = new LengthPrefixedDecoder(
    {
      onFrame(f) {
        count++;
        lastFrame = f;
      },
      onError(e) {
        throw e;
      },
    },
    options,
  );
  for (const c of chunks) d.feed(c);
  d.end();
  return count;
}

function itLengthPrefixed(chunks: readonly Buffer[], max: number): number {
  let count = 0;
  // The synchronous path (a sync iterable in, a generator out): its fastest mode. It yields a
  // Uint8ArrayList over the input chunks; `.subarray()` makes it one contiguous frame like every
  // other row's (a view when the frame lies in one chunk, one copy when it spans several).
  for (const f of itDecode(chunks, { maxDataLength: max })) {
    count++;
    lastFrame = f.subarray();
  }
  return count;
}

/** Correctness probes run alongside the timing: a faulty peer gets a note on its first row. */
async function probes(): Promise<Map<string, string>> {
  const notes = new Map<string, string>();
  // An empty frame, then "A".
  const u32 = Buffer.from([0, 0, 0, 0, 0, 0, 0, 1, 65]);
  const varint = Buffer.from([0, 1, 65]);
  const fsCount = await throughTransform(frameStream.decode({ lengthSize: 4 }), [u32]);
  if (fsCount !== 2) notes.set("frame-stream (u32be)", `drops empty frames (${fsCount} of 2)`);
  const lpsDefault = await throughTransform(lpStream.decode(), [varint]);
  if (lpsDefault !== 2) {
    notes.set(
      "length-prefixed-stream (varint)",
      `drops empty frames unless allowEmpty (set here; default gave ${lpsDefault} of 2)`,
    );
  }
  const it = [...itDecode([varint])].length;
  if (it !== 2) notes.set("it-length-prefixed (varint)", `drops empty frames (${it} of 2)`);
  return notes;
}

export async function benchLengthPrefixed(): Promise<Row[]> {
  const rows: Row[] = [];
  const notes = await probes();
  let first = true;
  for (const sc of scenarios()) {
    const body = payload(sc.payload);
    const max = Math.max(99999, sc.payload);
    const u32 = repeat(encodeLengthPrefixed(body, { prefix: 4 }), sc.frames);
    const varint = repeat(encodeLengthPrefixed(body, { prefix: "varint" }), sc.frames);
    const u32Chunks = chunk(u32, sc.chunk);
    const varintChunks = chunk(varint, sc.chunk);
    const add = async (impl: string, bytes: number, fn: () => number | Promise<number>) => {
      rows.push(await row("length-prefixed", sc, impl, bytes, fn));
    };
    await add("limit", u32.length, () => limitLoop(u32Chunks));
    await add("weft push (u32be)", u32.length, () =>
      weftPush(u32Chunks, { prefix: 4, maxLength: max }),
    );
    await add("weft push (varint)", varint.length, () =>
      weftPush(varintChunks, { prefix: "varint", maxLength: max }),
    );
    await add("weft Transform (u32be)", u32.length, () =>
      throughTransform(lengthPrefixedTransform({ prefix: 4, maxLength: max }), u32Chunks),
    );
    await add("frame-stream (u32be)", u32.length, () =>
      throughTransform(frameStream.decode({ lengthSize: 4 }), u32Chunks),
    );
    await add("it-length-prefixed (varint)", varint.length, () =>
      itLengthPrefixed(varintChunks, max),
    );
    rows[rows.length - 1]!.note = "Uint8ArrayList frames made contiguous with .subarray()";
    await add("length-prefixed-stream (varint)", varint.length, () =>
      throughTransform(lpStream.decode({ allowEmpty: true }), varintChunks),
    );
    const t = twisted("length-prefixed", sc, "int32", u32, max);
    if (t) rows.push({ ...t, impl: "twisted Int32StringReceiver" });
    if (first) {
      for (const r of rows) {
        const n = notes.get(r.impl);
        if (n) r.note = r.note ? `${r.note}; ${n}` : n;
      }
      first = false;
    }
  }
  return rows;
}
