/**
 * Netstrings: weft's decoder (push API and Node Transform) against the hand-written limit loop,
 * the `netstring` and `@endo/netstring` packages and Twisted's NetstringReceiver, on the same input.
 */
import { EventEmitter } from "node:events";
import { createRequire } from "node:module";
import { makeNetstringReader } from "@endo/netstring";
import { NetstringDecoder } from "../../src/protocols/receivers/netstring.js";
import { netstringTransform } from "../../src/protocols/receivers/streams.js";
import {
  chunk,
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

function netstringOf(data: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`${data.length}:`), data, Buffer.from(",")]);
}

/**
 * The limit: a hand-written loop over the chunks (digits up to ":" + a view per frame); a
 * leftover under 4 KiB is carried by one small concat, a bigger frame is collected and
 * concatenated once. No validation beyond what framing needs.
 */
function limitLoop(chunks: readonly Buffer[]): number {
  let count = 0;
  let carry: Buffer | null = null;
  let parts: Buffer[] | null = null;
  let need = 0;
  let got = 0;
  for (const input of chunks) {
    let c = input;
    if (parts !== null) {
      parts.push(c);
      got += c.length;
      if (got < need) continue;
      c = Buffer.concat(parts, got);
      parts = null;
    } else if (carry !== null) {
      c = Buffer.concat([carry, c]);
      carry = null;
    }
    const n = c.length;
    const ab = c.buffer;
    const bo = c.byteOffset;
    let off = 0;
    for (;;) {
      // Digits up to ":" (a short scan beats indexOf's call for 2–3 digit lengths).
      let colon = off;
      let len = 0;
      while (colon < n && c[colon] !== 58) len = len * 10 + c[colon++]! - 48;
      if (colon >= n) break;
      const end = colon + 1 + len;
      if (end >= n) {
        if (len > 4096) {
          parts = [c.subarray(off)];
          got = n - off;
          need = end + 1 - off;
          off = n;
        }
        break;
      }
      lastFrame = new Uint8Array(ab, bo + colon + 1, len);
      count++;
      off = end + 1;
    }
    if (off < n) carry = Buffer.from(c.subarray(off));
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
    const input = repeat(netstringOf(payload(sc.payload)), sc.frames);
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
