import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  LengthPrefixedDecoder,
  NetstringDecoder,
  type NetstringParseError,
} from "../../src/protocols/receivers/index.js";
import {
  chunked,
  MALFORMED_NETSTRING_KINDS,
  malformedNetstring,
  validLengthPrefixedFrames,
  validLines,
  validNetstrings,
} from "../../src/testing/arbitraries.js";
import * as testing from "../../src/testing/index.js";

function concat(parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => Array.from(p)));
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from = 0): number {
  return Buffer.from(hay).indexOf(Buffer.from(needle), from);
}

describe("arbitraries", () => {
  it("are exported from weft/testing", () => {
    expect(testing.chunked).toBe(chunked);
    expect(testing.malformedNetstring).toBe(malformedNetstring);
  });

  it("chunked: the chunks concatenate back to the input and are independent copies", () => {
    fc.assert(
      fc.property(
        fc
          .uint8Array({ maxLength: 100 })
          .chain((bytes) => chunked(bytes).map((cs) => ({ bytes, cs }))),
        ({ bytes, cs }) => {
          expect(concat(cs)).toEqual(bytes);
          expect(cs.length).toBeLessThanOrEqual(16);
          for (const c of cs) if (c.length > 0) expect(c.buffer).not.toBe(bytes.buffer);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("chunked: explores cuts, including one-byte chunks and a single chunk", () => {
    const bytes = new Uint8Array(10);
    const seen = new Set<number>();
    fc.assert(
      fc.property(chunked(bytes, { maxChunks: 11 }), (cs) => {
        seen.add(cs.filter((c) => c.length > 0).length);
      }),
      { numRuns: 200 },
    );
    expect(seen.has(1)).toBe(true);
    expect(Math.max(...seen)).toBeGreaterThan(5);
  });

  it("validNetstrings: the bytes are the netstrings of the frames", () => {
    fc.assert(
      fc.property(validNetstrings(), ({ frames, bytes }) => {
        let off = 0;
        for (const f of frames) {
          const head = Buffer.from(`${f.length}:`);
          expect(Buffer.from(bytes.subarray(off, off + head.length))).toEqual(head);
          off += head.length;
          expect(bytes.subarray(off, off + f.length)).toEqual(f);
          off += f.length;
          expect(bytes[off]).toBe(0x2c);
          off++;
        }
        expect(off).toBe(bytes.length);
      }),
      { numRuns: 100 },
    );
  });

  for (const delimiter of ["\r\n", "\n", "aa", "\r\n\r\n"]) {
    it(`validLines(${JSON.stringify(delimiter)}): each line ends at the first delimiter after its start`, () => {
      const d = Buffer.from(delimiter);
      fc.assert(
        fc.property(validLines(delimiter), ({ frames, bytes }) => {
          let off = 0;
          for (const line of frames) {
            expect(indexOf(bytes, d, off)).toBe(off + line.length);
            expect(bytes.subarray(off, off + line.length)).toEqual(line);
            off += line.length + d.length;
          }
          expect(off).toBe(bytes.length);
        }),
        { numRuns: 100 },
      );
    });
  }

  it("validLengthPrefixedFrames: decodes back to its frames for every prefix", () => {
    for (const opts of [
      { prefix: 1 as const },
      { prefix: 2 as const, endian: "little" as const },
      { prefix: "varint" as const },
    ]) {
      fc.assert(
        fc.property(validLengthPrefixedFrames({ ...opts, maxLength: 300 }), ({ frames, bytes }) => {
          const got: Uint8Array[] = [];
          const d = new LengthPrefixedDecoder(
            { onFrame: (f) => got.push(f.slice()), onError: (e) => expect.fail(e.message) },
            { ...opts, maxLength: 300 },
          );
          d.feed(bytes);
          d.end();
          expect(got).toEqual(frames);
          if (opts.prefix === 1) for (const f of frames) expect(f.length).toBeLessThanOrEqual(255);
        }),
        { numRuns: 50 },
      );
    }
  });

  for (const kind of MALFORMED_NETSTRING_KINDS) {
    it(`malformedNetstring(${JSON.stringify(kind)}): the expected outcome is what a decoder reports`, () => {
      fc.assert(
        fc.property(malformedNetstring(kind, { maxLength: 50 }), (m) => {
          expect(m.kind).toBe(kind);
          const frames: Uint8Array[] = [];
          const errors: NetstringParseError[] = [];
          const d = new NetstringDecoder(
            {
              onFrame: (f) => frames.push(f.slice()),
              onError: (e) => errors.push(e as NetstringParseError),
            },
            { maxLength: 50 },
          );
          d.feed(m.bytes);
          d.end();
          expect(frames).toEqual(m.frames);
          expect(errors.map((e) => [e.kind, e.offset])).toEqual([[m.error, m.offset]]);
        }),
        { numRuns: 60 },
      );
    });
  }
});
