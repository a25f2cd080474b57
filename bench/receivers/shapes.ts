/**
 * Shaped frames: a PostgreSQL-style shape (a type byte, then a big-endian Int32 length that counts
 * itself) decoded by weft's `ShapeDecoder`, beside a hand-written loop for the same shape (the
 * limit of this group) and the plain Int32 decoder (`LengthPrefixedDecoder`, 4-byte prefix, same
 * payloads) and the Int32 shape, in the same run. Target: the shape ≥ 0.9× the hand loop.
 */
import {
  encodeLengthPrefixed,
  LengthPrefixedDecoder,
} from "../../src/protocols/receivers/index.js";
import { ShapeDecoder } from "../../src/protocols/shapes/decoder.js";
import { encodeFrame } from "../../src/protocols/shapes/encoder.js";
import { int32 } from "../../src/protocols/shapes/presets.js";
import { defineShape, type Shape, uint } from "../../src/protocols/shapes/shape.js";
import {
  allocFrame,
  chunk,
  copyInto,
  payload,
  type Row,
  repeat,
  row,
  scenarios,
} from "./common.js";

/** Keeps frames observable so no loop is optimised away. */
export let lastFrame: unknown = null;

/** What the hand loop delivers: the same object a shape with a `type` field delivers. */
interface Typed {
  type: number;
  payload: Uint8Array;
}

/**
 * The limit: the best simple hand-written loop for "type byte + self-inclusive Int32": inside a
 * chunk, `readUInt32BE` and a plain view per frame, delivered as `{ type, payload }`; a frame
 * spanning chunks allocated once at its known length and each piece copied once; a header split
 * across chunks accumulated byte by byte. No limits, no error paths.
 */
export function handLoop(chunks: readonly Buffer[]): number {
  let count = 0;
  let frame: Uint8Array | null = null;
  let filled = 0;
  let type = 0;
  const hdr = new Uint8Array(5);
  let hdrBytes = 0;
  for (const c of chunks) {
    const n = c.length;
    const ab = c.buffer;
    const bo = c.byteOffset;
    let off = 0;
    while (hdrBytes > 0 && off < n) {
      hdr[hdrBytes++] = c[off++]!;
      if (hdrBytes === 5) {
        type = hdr[0]!;
        const len = ((hdr[1]! << 24) | (hdr[2]! << 16) | (hdr[3]! << 8) | hdr[4]!) - 4;
        hdrBytes = 0;
        if (len === 0) {
          lastFrame = { type, payload: new Uint8Array(0) } satisfies Typed;
          count++;
        } else {
          frame = allocFrame(len);
          filled = 0;
        }
      }
    }
    if (frame !== null) {
      const take = Math.min(frame.length - filled, n - off);
      copyInto(frame, filled, c, off, take);
      filled += take;
      off += take;
      if (filled < frame.length) continue;
      lastFrame = { type, payload: frame } satisfies Typed;
      count++;
      frame = null;
    }
    while (n - off >= 5) {
      type = c[off]!;
      const len = c.readUInt32BE(off + 1) - 4;
      off += 5;
      if (n - off < len) {
        frame = allocFrame(len);
        filled = n - off;
        copyInto(frame, 0, c, off, filled);
        off = n;
        break;
      }
      lastFrame = { type, payload: new Uint8Array(ab, bo + off, len) } satisfies Typed;
      count++;
      off += len;
    }
    while (off < n) hdr[hdrBytes++] = c[off++]!;
  }
  return count;
}

function shapePush<Fr extends object>(chunks: readonly Buffer[], shape: Shape<Fr>): number {
  let count = 0;
  const d = new ShapeDecoder<Fr>(
    {
      onFrame(f) {
        count++;
        lastFrame = f;
      },
      onError(e) {
        throw e;
      },
    },
    shape,
  );
  for (const c of chunks) d.feed(c);
  d.end();
  return count;
}

function int32Push(chunks: readonly Buffer[], max: number): number {
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
    { prefix: 4, maxLength: max },
  );
  for (const c of chunks) d.feed(c);
  d.end();
  return count;
}

const TARGET = 0.9;

export async function benchShapes(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const sc of scenarios()) {
    const body = payload(sc.payload);
    const max = Math.max(99999, sc.payload);
    const pg = defineShape({
      name: "pg-style",
      before: [uint("type")],
      length: 4,
      lengthCounts: "length+rest",
      maxLength: max,
    });
    const pgBytes = repeat(encodeFrame(pg, { type: 0x44, payload: body }), sc.frames);
    const u32 = repeat(encodeLengthPrefixed(body, { prefix: 4 }), sc.frames);
    const pgChunks = chunk(pgBytes, sc.chunk);
    const u32Chunks = chunk(u32, sc.chunk);
    const group: Row[] = [];
    const add = async (impl: string, bytes: number, fn: () => number) => {
      group.push(await row("shapes (type + Int32)", sc, impl, bytes, fn));
    };
    await add("limit", pgBytes.length, () => handLoop(pgChunks));
    await add("weft shape push (pg-style)", pgBytes.length, () => shapePush(pgChunks, pg));
    await add("weft push (u32be, plain Int32)", u32.length, () => int32Push(u32Chunks, max));
    await add("weft shape push (int32 shape)", u32.length, () =>
      shapePush(u32Chunks, int32.withLimit(max)),
    );
    const limit = group[0]!;
    const mine = group[1]!;
    const ratio = limit.seconds / mine.seconds;
    const verdict = ratio >= TARGET ? `target ≥ ${TARGET}× met` : `below target ${TARGET}×`;
    mine.note = mine.note ? `${mine.note}; ${verdict}` : verdict;
    rows.push(...group);
  }
  return rows;
}
