/**
 * Differential properties: each decoder's fast path (whole frames lying in one chunk, parsed with
 * the loop state in locals) gives exactly what its general loop gives alone — the same frames, the
 * same error (kind, offset, message) at the same point, the same bytes held — for valid streams,
 * streams with garbage spliced in, tight limits and any chunking.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  encodeLengthPrefixed,
  encodeNetstring,
  type LengthPrefix,
  LengthPrefixedDecoder,
  NetstringDecoder,
} from "../../../src/protocols/receivers/index.js";
import {
  EXCEEDED,
  LINE,
  LineScanner,
  STOP,
} from "../../../src/protocols/receivers/lines/scanner.js";
import { chunked } from "../../../src/testing/arbitraries.js";
import { concat } from "../../../src/testing/bytes.js";

/** Everything a decoder reported, in order, and what it held at the end. */
type Event = { frame: number[] } | { error: string; kind: unknown; offset: unknown };

function recorder(): {
  events: Event[];
  sink: { onFrame(f: Uint8Array): void; onError(e: Error): void };
} {
  const events: Event[] = [];
  return {
    events,
    sink: {
      onFrame: (f) => events.push({ frame: Array.from(f) }),
      onError: (e) => {
        const { kind, offset } = e as Error & { kind?: unknown; offset?: unknown };
        events.push({ error: e.message, kind, offset });
      },
    },
  };
}

class GeneralLengthPrefixed extends LengthPrefixedDecoder {
  protected override usesFastPath(): boolean {
    return false;
  }
}

class GeneralNetstring extends NetstringDecoder {
  protected override usesFastPath(): boolean {
    return false;
  }
}

/** Payloads, each encoded by `encode`, with arbitrary bytes spliced in at one point (or not). */
function streams(encode: (p: Uint8Array) => Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(
      fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 8 }),
      fc.option(fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 6 }))),
    )
    .map(([payloads, garbage]) => {
      const bytes = concat(payloads.map(encode));
      if (garbage === null) return bytes;
      const [at, junk] = garbage;
      const cut = at % (bytes.length + 1);
      return concat([bytes.subarray(0, cut), junk, bytes.subarray(cut)]);
    });
}

function feedAll(
  decoder: { feed(c: Uint8Array): void; end(): void; bufferedBytes: number },
  chunks: Uint8Array[],
  end: boolean,
): number {
  for (const c of chunks) decoder.feed(c);
  const held = decoder.bufferedBytes;
  if (end) decoder.end();
  return held;
}

describe("fast paths = general loops", () => {
  for (const prefix of [1, 2, 4, 8, "varint"] as LengthPrefix[]) {
    for (const endian of ["big", "little"] as const) {
      if (prefix === "varint" && endian === "little") continue;
      it(`LengthPrefixedDecoder (prefix ${prefix}, ${endian}-endian)`, () => {
        const codec = { prefix, endian };
        const input = streams((p) => encodeLengthPrefixed(p, codec)).chain((bytes) =>
          fc.tuple(
            fc.constant(bytes),
            chunked(bytes),
            fc.integer({ min: 0, max: 48 }),
            fc.boolean(),
          ),
        );
        fc.assert(
          fc.property(input, ([, chunks, maxLength, end]) => {
            const fast = recorder();
            const general = recorder();
            const a = new LengthPrefixedDecoder(fast.sink, { ...codec, maxLength });
            const b = new GeneralLengthPrefixed(general.sink, { ...codec, maxLength });
            expect(feedAll(a, chunks, end)).toBe(feedAll(b, chunks, end));
            expect(fast.events).toEqual(general.events);
          }),
          { numRuns: 150 },
        );
      });
    }
  }

  it("NetstringDecoder", () => {
    const input = streams((p) => encodeNetstring(p)).chain((bytes) =>
      fc.tuple(fc.constant(bytes), chunked(bytes), fc.integer({ min: 0, max: 48 }), fc.boolean()),
    );
    fc.assert(
      fc.property(input, ([, chunks, maxLength, end]) => {
        const fast = recorder();
        const general = recorder();
        const a = new NetstringDecoder(fast.sink, { maxLength });
        const b = new GeneralNetstring(general.sink, { maxLength });
        expect(feedAll(a, chunks, end)).toBe(feedAll(b, chunks, end));
        expect(fast.events).toEqual(general.events);
      }),
      { numRuns: 300 },
    );
  });

  for (const delimiter of ["\r\n", "\n", "ab", "aab"]) {
    it(`LineScanner.run = next() in a loop (delimiter ${JSON.stringify(delimiter)})`, () => {
      const delim = Buffer.from(delimiter);
      // Bytes biased towards the delimiter's, so lines, split delimiters and overlaps are common.
      const byte = fc.oneof(fc.constantFrom(...delim), fc.integer({ min: 0x61, max: 0x63 }));
      const input = fc
        .array(byte, { maxLength: 120 })
        .chain((b) =>
          fc.tuple(
            chunked(Uint8Array.from(b)),
            fc.integer({ min: 0, max: 20 }),
            fc.constantFrom<"delimiter" | 1>("delimiter", 1),
            fc.integer({ min: 0, max: 6 }),
          ),
        );
      fc.assert(
        fc.property(input, ([chunks, max, extra, stopEvery]) => {
          const viaRun: unknown[] = [];
          const viaNext: unknown[] = [];
          const a = new LineScanner(delim, max, extra);
          const b = new LineScanner(delim, max, extra);
          let count = 0;
          // A target that sometimes asks to stop: run must then resume where it stopped.
          const target = {
            lineFound(line: Uint8Array): boolean {
              viaRun.push(Array.from(line));
              count++;
              return stopEvery > 0 && count % stopEvery === 0;
            },
          };
          for (const c of chunks) {
            a.push(c);
            for (;;) {
              const r = a.run(target);
              if (r === STOP) continue;
              if (r === EXCEEDED) {
                viaRun.push(["exceeded", a.exceededLength, a.exceededTerminated]);
                a.skip(a.exceededLength + (a.exceededTerminated ? delim.length : 0));
                continue;
              }
              break;
            }
            a.settle();
            b.push(c);
            for (;;) {
              const r = b.next();
              if (r === LINE) viaNext.push(Array.from(b.line));
              else if (r === EXCEEDED) {
                viaNext.push(["exceeded", b.exceededLength, b.exceededTerminated]);
                b.skip(b.exceededLength + (b.exceededTerminated ? delim.length : 0));
              } else break;
            }
            b.settle();
            expect(a.bufferedBytes).toBe(b.bufferedBytes);
          }
          expect(viaRun).toEqual(viaNext);
        }),
        { numRuns: 200 },
      );
    });
  }
});
