/**
 * Banana + jelly against the bytes Twisted 22.4 sends (table.ts), both ways, and the decoder's
 * behaviour on arbitrary chunkings and arbitrary bytes.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  BananaDecoder,
  BananaEncodeError,
  BananaEncoder,
  BananaError,
  type BananaItem,
  decodeAll,
  globalSecurity,
  jelly,
  PbFloat,
  PbTuple,
  unjelly,
} from "../../../src/protocols/pb/index.js";
import { RECORDED, TABLE } from "./table.js";

function encoder(): BananaEncoder {
  const e = new BananaEncoder();
  e.useVocabulary();
  return e;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const unhex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, "hex"));

function roundTrip(bytes: Uint8Array): unknown {
  const [item] = decodeAll(bytes);
  return unjelly(item as BananaItem, globalSecurity);
}

interface Outcome {
  frames: string[];
  errors: Error[];
}

function feedChunks(chunks: Uint8Array[], vocabulary = true): Outcome {
  const out: Outcome = { frames: [], errors: [] };
  const d = new BananaDecoder({
    onFrame: (f) => out.frames.push(hex(encoder().encode(f))),
    onError: (e) => out.errors.push(e),
  });
  d.useVocabulary(vocabulary);
  for (const c of chunks) d.feed(c);
  d.end();
  return out;
}

describe("banana + jelly, byte-exact with Twisted", () => {
  for (const [name, make] of Object.entries(TABLE)) {
    it(`${name}: weft writes Twisted's bytes and reads them back to the same bytes`, () => {
      const expected = RECORDED[name] as string;
      expect(hex(encoder().encode(jelly(make())))).toBe(expected);
      expect(hex(encoder().encode(jelly(roundTrip(unhex(expected)))))).toBe(expected);
    });
  }

  it("keeps Python's types: floats stay floats, tuples stay tuples, big ints are bigints", () => {
    expect(roundTrip(unhex(RECORDED["float1"] as string))).toEqual(new PbFloat(1));
    const nz = roundTrip(unhex(RECORDED["float_negzero"] as string)) as PbFloat;
    expect(Object.is(nz.value, -0)).toBe(true);
    expect(roundTrip(unhex(RECORDED["int_2_53"] as string))).toBe(2n ** 53n);
    expect(roundTrip(unhex(RECORDED["int_min32"] as string))).toBe(-(2 ** 31));
    const t = roundTrip(unhex(RECORDED["tuple_mixed"] as string));
    expect(t).toBeInstanceOf(PbTuple);
    expect(roundTrip(unhex(RECORDED["str_vocab"] as string))).toBe("tuple");
    expect(roundTrip(unhex(RECORDED["bytes_vocab"] as string))).toEqual(
      new Uint8Array(Buffer.from("None")),
    );
    expect(roundTrip(unhex(RECORDED["set_one"] as string))).toEqual(new Set([7]));
  });

  it("rebuilds shared and cyclic structures with the same identities", () => {
    const s = roundTrip(unhex(RECORDED["shared"] as string)) as unknown[][];
    expect(s[0]).toBe(s[1]);
    const c = roundTrip(unhex(RECORDED["cyclic"] as string)) as unknown[];
    expect(c[0]).toBe(c);
    const n = roundTrip(unhex(RECORDED["nested_refs"] as string)) as unknown[][];
    expect(n[0]).toBe(n[2]);
    expect((n[0] as unknown[])[0]).toBe(n[1]);
  });

  it("sends a JS number with a fraction, -0, NaN or beyond 2^53 as a float", () => {
    expect(hex(encoder().encode(jelly(1.5)))).toBe(RECORDED["float1_5"]);
    expect(hex(encoder().encode(jelly(-0)))).toBe(RECORDED["float_negzero"]);
    expect(hex(encoder().encode(jelly(2 ** 60)))).toBe("84" + "43b0000000000000");
  });

  it("decodes any chunking of a stream like the whole stream", () => {
    const all = Object.values(RECORDED).map(unhex);
    const stream = new Uint8Array(Buffer.concat(all));
    const whole = feedChunks([stream]);
    expect(whole.errors).toEqual([]);
    expect(whole.frames).toEqual(Object.values(RECORDED));
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 40 }),
        (cuts) => {
          const sorted = [...cuts].sort((a, b) => a - b);
          const chunks: Uint8Array[] = [];
          let prev = 0;
          for (const c of [...sorted, stream.length]) {
            chunks.push(stream.slice(prev, c));
            prev = c;
          }
          expect(feedChunks(chunks)).toEqual(whole);
        },
      ),
      { numRuns: 50 },
    );
  });

  it("never throws on arbitrary bytes: frames, then at most one typed error, nothing after it", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 8 }),
        fc.boolean(),
        (chunks, vocab) => {
          const events: string[] = [];
          const d = new BananaDecoder(
            {
              onFrame: () => events.push("frame"),
              onError: (e) => {
                expect(e).toBeInstanceOf(BananaError);
                events.push("error");
              },
            },
            { maxDepth: 8, sizeLimit: 64 },
          );
          d.useVocabulary(vocab);
          for (const c of chunks) d.feed(c);
          d.end();
          const firstError = events.indexOf("error");
          if (firstError >= 0) {
            expect(events.length).toBe(firstError + 1);
            expect(d.failed).toBe(true);
            expect(d.bufferedBytes).toBe(0);
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe("banana limits (checked before anything is buffered)", () => {
  function firstError(bytes: Uint8Array, vocabulary = true): BananaError {
    const o = feedChunks([bytes], vocabulary);
    expect(o.errors.length).toBe(1);
    return o.errors[0] as BananaError;
  }

  it("refuses a 65th prefix byte, even before any type byte arrives", () => {
    expect(firstError(new Uint8Array(65).fill(1)).reason).toBe("prefix-too-long");
    const ok = new Uint8Array(65).fill(0);
    ok[64] = 0x81;
    expect(feedChunks([ok]).errors).toEqual([]);
  });

  it("refuses a string or a list longer than 640 KiB from its header alone", () => {
    const seen: Error[] = [];
    const d = new BananaDecoder({ onFrame: () => {}, onError: (e) => seen.push(e) });
    d.feed(new Uint8Array([0x01, 0x00, 0x28, 0x82])); // 655361-byte string
    expect((seen[0] as BananaError).reason).toBe("string-too-long");
    expect(d.bufferedBytes).toBe(0);
    expect(firstError(new Uint8Array([0x01, 0x00, 0x28, 0x80])).reason).toBe("list-too-long");
  });

  it("accepts exactly 640 KiB", () => {
    const body = new Uint8Array(655360);
    const bytes = new Uint8Array(Buffer.concat([Buffer.from([0x00, 0x00, 0x28, 0x82]), body]));
    const o = feedChunks([bytes.slice(0, 1000), bytes.slice(1000)]);
    expect(o.errors).toEqual([]);
    expect(o.frames.length).toBe(1);
  });

  it("refuses vocabulary before the pb dialect, unknown words and unknown type bytes", () => {
    expect(firstError(new Uint8Array([0x01, 0x87]), false).reason).toBe("bad-vocabulary");
    expect(firstError(new Uint8Array([0x40, 0x87])).reason).toBe("bad-vocabulary");
    expect(firstError(new Uint8Array([0x01, 0x88])).reason).toBe("bad-type-byte");
  });

  it("bounds nesting depth and the bytes of one expression", () => {
    const deep = new Uint8Array(2 * 600);
    for (let i = 0; i < 600; i++) deep.set([0x01, 0x80], 2 * i);
    expect(firstError(deep).reason).toBe("too-deep");
    const seen: BananaError[] = [];
    const d = new BananaDecoder(
      { onFrame: () => {}, onError: (e) => seen.push(e as BananaError) },
      { maxExpressionBytes: 100 },
    );
    d.feed(new Uint8Array([0x02, 0x80, 0x60, 0x82, ...new Uint8Array(96), 0x10, 0x82]));
    expect(seen[0]?.reason).toBe("expression-too-large");
  });

  it("reports a stream that ends inside an expression as truncated", () => {
    expect(firstError(new Uint8Array([0x02, 0x80, 0x01, 0x81])).reason).toBe("truncated");
  });

  it("refuses to encode what Twisted could not decode", () => {
    expect(() => encoder().encode(2n ** 448n)).toThrow(BananaEncodeError);
    expect(hex(encoder().encode(2n ** 448n - 1n)).length).toBe(2 * 65);
    expect(() => encoder().encode(new Uint8Array(655361))).toThrow(BananaEncodeError);
  });

  it("hands out strings that stay valid after the chunk is reused", () => {
    const frames: BananaItem[] = [];
    const d = new BananaDecoder({ onFrame: (f) => frames.push(f), onError: () => {} });
    const chunk = new Uint8Array([0x02, 0x80, 0x03, 0x82, 0x61, 0x62, 0x63]);
    d.feed(chunk);
    chunk.fill(0);
    d.feed(new Uint8Array([0x01, 0x81]));
    expect(Buffer.from((frames[0] as BananaItem[])[0] as Uint8Array).toString()).toBe("abc");
  });
});
