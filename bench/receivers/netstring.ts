/**
 * Netstrings: weft's decoder (push API and Node Transform) against the hand-written limit loop,
 * the `netstring` and `@endo/netstring` packages and Twisted's NetstringReceiver, on the same input.
 */
import { EventEmitter } from "node:events";
import { createRequire } from "node:module";
import { makeNetstringReader } from "@endo/netstring";
import {
  encodeNetstring,
  NetstringDecoder,
  netstringTransform,
} from "../../src/protocols/receivers/index.js";
import {
  allocFrame,
  chunk,
  copyInto,
  payload,
  type Row,
  repeat,
  row,
  type Scenario,
  scenarios,
  throughTransform,
  twisted,
} from "./common.js";

const require = createRequire(import.meta.url);
const netstringPkg = require("netstring") as {
  Stream: new (source: EventEmitter) => EventEmitter;
};

/** Keeps frames observable so no loop is optimised away. */
export let lastFrame: Uint8Array | null = null;

/**
 * The limit: the best simple hand-written loop over the chunks. Inside a chunk, a digit scan up
 * to ":" (a short scan beats indexOf's call for 2–3 digit lengths) and a plain
 * `new Uint8Array(buffer, offset, length)` view per frame; a frame spanning chunks is allocated
 * once at its known length and each piece copied into it once (for the 16 MiB frame that is
 * "collect + one concat" without the list). The trailing comma is skipped, not checked: no
 * limits, no error paths.
 */
function limitLoop(chunks: readonly Buffer[]): number {
  let count = 0;
  let state = 0; // 0: at a frame start, 1: in the digits, 2: in the body, 3: before the comma
  let len = 0;
  let frame: Uint8Array = new Uint8Array(0);
  let filled = 0;
  for (const c of chunks) {
    const n = c.length;
    const ab = c.buffer;
    const bo = c.byteOffset;
    let off = 0;
    if (state === 1) {
      while (off < n && c[off] !== 58) len = len * 10 + c[off++]! - 48;
      if (off === n) continue;
      off++;
      frame = allocFrame(len);
      filled = 0;
      state = 2;
    }
    if (state === 2) {
      const take = Math.min(len - filled, n - off);
      copyInto(frame, filled, c, off, take);
      filled += take;
      off += take;
      if (filled < len) continue;
      lastFrame = frame;
      count++;
      state = 3;
    }
    if (state === 3) {
      if (off === n) continue;
      off++;
      state = 0;
    }
    for (;;) {
      let colon = off;
      len = 0;
      while (colon < n && c[colon] !== 58) len = len * 10 + c[colon++]! - 48;
      if (colon >= n) {
        if (off < n) state = 1;
        break;
      }
      const end = colon + 1 + len;
      if (end >= n) {
        const have = Math.min(len, n - colon - 1);
        frame = allocFrame(len);
        copyInto(frame, 0, c, colon + 1, have);
        filled = have;
        if (have === len) {
          lastFrame = frame;
          count++;
          state = 3;
        } else state = 2;
        break;
      }
      lastFrame = new Uint8Array(ab, bo + colon + 1, len);
      count++;
      off = end + 1;
    }
  }
  return count;
}

function weftPush(chunks: readonly Buffer[], maxLength: number): number {
  let count = 0;
  const d = new NetstringDecoder(
    {
      onFrame(f) {
        count++;
        lastFrame = f;
      },
      onError(e) {
        throw e;
      },
    },
    { maxLength },
  );
  for (const c of chunks) d.feed(c);
  d.end();
  return count;
}

function netstringStream(chunks: readonly Buffer[]): number {
  const source = new EventEmitter();
  const s = new netstringPkg.Stream(source);
  let count = 0;
  s.on("data", (f: Uint8Array) => {
    count++;
    lastFrame = f;
  });
  s.on("error", (e: Error) => {
    throw e;
  });
  for (const c of chunks) source.emit("data", c);
  return count;
}

async function endo(chunks: readonly Buffer[], maxLength: number): Promise<number> {
  let count = 0;
  for await (const f of makeNetstringReader(chunks, { maxMessageLength: maxLength })) {
    count++;
    lastFrame = f;
  }
  return count;
}

/** Correctness probes run alongside the timing: a faulty peer gets a note on its first row. */
async function probes(): Promise<Map<string, string>> {
  const notes = new Map<string, string>();
  const bad = Buffer.from("0:,3:abcX1:z,"); // the second netstring ends in "X", not ","
  const got: string[] = [];
  let failed = false;
  const source = new EventEmitter();
  const s = new netstringPkg.Stream(source);
  s.on("data", (f: Uint8Array) => got.push(Buffer.from(f).toString()));
  s.on("error", () => {
    failed = true;
  });
  source.emit("data", bad);
  if (!failed)
    notes.set(
      "netstring (Stream)",
      `accepts "3:abcX" (no comma check): got ${JSON.stringify(got)}`,
    );
  try {
    for await (const _ of makeNetstringReader([bad])) {
      // drain
    }
    notes.set("@endo/netstring", 'accepts "3:abcX" (no comma check)');
  } catch {
    // rejected, as it should
  }
  return notes;
}

export async function benchNetstrings(): Promise<Row[]> {
  const rows: Row[] = [];
  const notes = await probes();
  let first = true;
  for (const sc of scenarios()) {
    const input = repeat(encodeNetstring(payload(sc.payload)), sc.frames);
    const chunks = chunk(input, sc.chunk);
    const max = Math.max(99999, sc.payload);
    const add = async (impl: string, fn: () => number | Promise<number>) => {
      rows.push(await row("netstring", sc, impl, input.length, fn));
    };
    await add("limit", () => limitLoop(chunks));
    await add("weft push", () => weftPush(chunks, max));
    await add("weft Transform", () =>
      throughTransform(netstringTransform({ maxLength: max }), chunks),
    );
    await add("netstring (Stream)", () => netstringStream(chunks));
    await add("@endo/netstring", () => endo(chunks, max));
    const t = twisted("netstring", sc as Scenario, "netstring", input, max);
    if (t) rows.push(t);
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
