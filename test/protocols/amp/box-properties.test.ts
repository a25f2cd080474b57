import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AmpDateTime, AmpDecimal } from "../../../src/protocols/amp/arguments.js";
import { type AmpBox, BoxDecoder, encodeBox } from "../../../src/protocols/amp/box.js";
import { AmpError } from "../../../src/protocols/amp/errors.js";
import {
  ampArgumentCases,
  ampBox,
  ampBoxStream,
  malformedAmpBoxes,
} from "../../../src/testing/amp-arbitraries.js";
import { chunked } from "../../../src/testing/arbitraries.js";

interface Outcome {
  boxes: [string, string][][];
  errors: Error[];
}

const hex = (v: Uint8Array): string => Buffer.from(v).toString("hex");
const plain = (bx: AmpBox): [string, string][] =>
  [...bx].map(([k, v]) => [k, hex(v)] as [string, string]).sort((x, y) => (x[0] < y[0] ? -1 : 1));

function run(chunks: Uint8Array[]): Outcome {
  const boxes: [string, string][][] = [];
  const errors: Error[] = [];
  const d = new BoxDecoder({
    onFrame: (bx) => boxes.push(plain(bx)),
    onError: (e) => errors.push(e),
  });
  for (const c of chunks) {
    d.feed(c);
    // The test overwrites each chunk once fed: a decoder that kept a view of it would be caught.
    c.fill(0xee);
  }
  d.end();
  return { boxes, errors };
}

const streamWithChunks = ampBoxStream({ maxValueLength: 300 }).chain((s) =>
  chunked(s.bytes).map((chunks) => ({ ...s, chunks })),
);

describe("box codec properties", () => {
  it("any chunking of a box stream decodes to the same boxes as one chunk", () => {
    fc.assert(
      fc.property(streamWithChunks, ({ boxes, bytes, chunks }) => {
        const whole = run([bytes.slice()]);
        const split = run(chunks);
        expect(whole.errors).toEqual([]);
        expect(split.errors).toEqual([]);
        expect(whole.boxes).toEqual(boxes.map(plain));
        expect(split.boxes).toEqual(whole.boxes);
      }),
      { numRuns: 200 },
    );
  });

  it("any chunking of a stream with big values (up to 9000 bytes) decodes the same", () => {
    const big = ampBoxStream({ maxValueLength: 9000, maxBoxes: 3, maxKeys: 4 }).chain((s) =>
      chunked(s.bytes, { maxChunks: 40 }).map((chunks) => ({ ...s, chunks })),
    );
    fc.assert(
      fc.property(big, ({ boxes, chunks }) => {
        const split = run(chunks);
        expect(split.errors).toEqual([]);
        expect(split.boxes).toEqual(boxes.map(plain));
      }),
      { numRuns: 40 },
    );
  });

  it("encodeBox then decode is the identity, and the encoding is canonical (sorted)", () => {
    fc.assert(
      fc.property(ampBox({ maxKeys: 10, maxValueLength: 200 }), (bx) => {
        const bytes = encodeBox(bx);
        const { boxes, errors } = run([bytes.slice()]);
        expect(errors).toEqual([]);
        expect(boxes).toEqual([plain(bx)]);
        const reversed = encodeBox(new Map([...bx].reverse()));
        expect(hex(reversed)).toBe(hex(bytes));
      }),
      { numRuns: 200 },
    );
  });

  it("a malformed stream delivers its valid boxes, then exactly one typed error", () => {
    fc.assert(
      fc.property(
        malformedAmpBoxes().chain((c) => chunked(c.bytes).map((chunks) => ({ ...c, chunks }))),
        ({ kind, boxes, chunks }) => {
          const out = run(chunks);
          expect(out.boxes).toEqual(boxes.map(plain));
          expect(out.errors.length).toBe(1);
          const e = out.errors[0] as AmpError;
          expect(e).toBeInstanceOf(AmpError);
          expect(e.code).toBe(
            kind === "key-too-long" ? "ERR_AMP_TOO_LONG" : "ERR_AMP_MALFORMED_BOX",
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it("arbitrary bytes never throw: they end in boxes, or boxes then exactly one typed error", () => {
    const biased = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      // Mostly-valid shapes: small key lengths with a zero high byte.
      fc
        .array(
          fc.oneof(
            fc.constant(0),
            fc.integer({ min: 0, max: 8 }),
            fc.integer({ min: 0, max: 255 }),
          ),
          {
            maxLength: 200,
          },
        )
        .map((a) => Uint8Array.from(a)),
    );
    fc.assert(
      fc.property(
        biased.chain((bytes) => chunked(bytes).map((chunks) => ({ bytes, chunks }))),
        fc.integer({ min: 1, max: 64 }),
        ({ bytes, chunks }, maxKeys) => {
          const boxes: AmpBox[] = [];
          const errors: Error[] = [];
          const d = new BoxDecoder(
            { onFrame: (bx) => boxes.push(bx), onError: (e) => errors.push(e) },
            { maxKeys, maxBoxBytes: 150 },
          );
          expect(() => {
            for (const c of chunks) d.feed(c);
            d.end();
          }).not.toThrow();
          expect(errors.length).toBeLessThanOrEqual(1);
          if (errors.length === 1) {
            expect(errors[0]).toBeInstanceOf(AmpError);
            expect(d.failed).toBe(true);
          }
          expect(d.bufferedBytes).toBe(0);
          // Same result fed in one piece.
          const once = run([bytes.slice()]);
          if (errors.length === 0) expect(once.boxes).toEqual(boxes.map(plain));
        },
      ),
      { numRuns: 300 },
    );
  });
});

function same(x: unknown, y: unknown): void {
  if (typeof x === "number" && typeof y === "number") {
    expect(Object.is(x, y)).toBe(true);
    return;
  }
  if (x instanceof Uint8Array && y instanceof Uint8Array) {
    expect(hex(x)).toBe(hex(y));
    return;
  }
  if (x !== null && typeof x === "object" && typeof (x as AmpDecimal).toString === "function") {
    if ((x as AmpDateTime | AmpDecimal).constructor !== Object && !Array.isArray(x)) {
      expect(String(x)).toBe(String(y));
      return;
    }
  }
  if (Array.isArray(x) && Array.isArray(y)) {
    expect(x.length).toBe(y.length);
    for (let i = 0; i < x.length; i++) same(x[i], y[i]);
    return;
  }
  if (x !== null && typeof x === "object" && y !== null && typeof y === "object") {
    const keys = (o: object) =>
      Object.keys(o).filter((k) => (o as Record<string, unknown>)[k] !== undefined);
    expect(keys(x).sort()).toEqual(keys(y).sort());
    for (const k of keys(x))
      same((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k]);
    return;
  }
  expect(x).toEqual(y);
}

describe("argument type properties", () => {
  for (const { argument, values } of ampArgumentCases()) {
    it(`${argument.name}: decode(encode(v)) is v, and encode is stable`, () => {
      fc.assert(
        fc.property(values, (v) => {
          const bytes = argument.encode(v);
          const back = argument.decode(bytes.slice());
          same(back, v);
          expect(hex(argument.encode(back))).toBe(hex(bytes));
        }),
        { numRuns: 60 },
      );
    });
  }

  it("decoding arbitrary bytes either succeeds or throws an ArgumentError", () => {
    const cases = ampArgumentCases();
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: cases.length - 1 }),
        fc.uint8Array({ maxLength: 40 }),
        (i, bytes) => {
          const { argument } = cases[i]!;
          try {
            argument.decode(bytes);
          } catch (e) {
            expect(e).toBeInstanceOf(AmpError);
            expect((e as AmpError).code).toBe("ERR_AMP_ARGUMENT");
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
