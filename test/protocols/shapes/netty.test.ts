/**
 * Every example configuration of Netty's `LengthFieldBasedFrameDecoder` javadoc, mapped to the
 * weft shape that decodes it and tested with the example's bytes (whole, byte by byte and at every
 * split point), plus Netty's other options: byte order, 1/2/3/4/8-byte length fields, fail-fast
 * limits, the discard mode, and the "adjusted frame length less than lengthFieldEndOffset" error.
 *
 * | Netty example (javadoc heading)                  | offset | len | adjust | strip | weft shape                                                      |
 * |--------------------------------------------------|--------|-----|--------|-------|-----------------------------------------------------------------|
 * | 2 bytes length field at offset 0, do not strip header | 0 | 2 | 0 | 0 | `{ length: 2, strip: 0 }`                                  |
 * | 2 bytes length field at offset 0, strip header    | 0      | 2   | 0      | 2     | `{ length: 2 }` (the default strip is the header)                |
 * | … the length field represents the whole message   | 0      | 2   | −2     | 0     | `{ length: 2, lengthCounts: "length+rest", strip: 0 }` (or `adjust: -2`) |
 * | 3 bytes length field at the end of 5 bytes header | 2      | 3   | 0      | 0     | `{ before: [uint("header1", 2)], length: 3, strip: 0 }`          |
 * | 3 bytes length field at the beginning of 5 bytes header | 0 | 3 | 2    | 0     | `{ length: 3, after: [uint("header1", 2)], lengthCounts: "payload", strip: 0 }` (or `adjust: 2`) |
 * | 2 bytes length field at offset 1 in the middle of 4 bytes header, strip HDR1 and length | 1 | 2 | 1 | 3 | `{ before: [uint("hdr1")], length: 2, after: [uint("hdr2")], lengthCounts: "payload", strip: 3 }` |
 * | … the length field represents the whole message   | 1      | 2   | −3     | 3     | `{ before: [uint("hdr1")], length: 2, after: [uint("hdr2")], lengthCounts: "frame", strip: 3 }` |
 */
import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../../src/core/errors.js";
import { encodeFrame } from "../../../src/protocols/shapes/encoder.js";
import { defineShape, type ShapeSpec, uint } from "../../../src/protocols/shapes/shape.js";
import { bytewise, hex, latin1, run, toHex } from "./helpers.js";

const HW = toHex(latin1("HELLO, WORLD"));

interface Example {
  heading: string;
  netty: {
    lengthFieldOffset: number;
    lengthFieldLength: number;
    lengthAdjustment: number;
    initialBytesToStrip: number;
  };
  /** The weft declaration, and the same with Netty's raw numbers where they differ. */
  shapes: ShapeSpec[];
  before: string;
  /** Netty's AFTER DECODE bytes (weft's `payload`) and the parsed fields. */
  after: string;
  fields: Record<string, number>;
}

const examples: Example[] = [
  {
    heading: "2 bytes length field at offset 0, do not strip header",
    netty: {
      lengthFieldOffset: 0,
      lengthFieldLength: 2,
      lengthAdjustment: 0,
      initialBytesToStrip: 0,
    },
    shapes: [{ length: 2, strip: 0 }],
    before: `000C${HW}`,
    after: `000c${HW}`,
    fields: {},
  },
  {
    heading: "2 bytes length field at offset 0, strip header",
    netty: {
      lengthFieldOffset: 0,
      lengthFieldLength: 2,
      lengthAdjustment: 0,
      initialBytesToStrip: 2,
    },
    shapes: [{ length: 2 }, { length: 2, strip: 2 }],
    before: `000C${HW}`,
    after: HW,
    fields: {},
  },
  {
    heading:
      "2 bytes length field at offset 0, do not strip header, the length field represents the length of the whole message",
    netty: {
      lengthFieldOffset: 0,
      lengthFieldLength: 2,
      lengthAdjustment: -2,
      initialBytesToStrip: 0,
    },
    shapes: [
      { length: 2, lengthCounts: "length+rest", strip: 0 },
      { length: 2, adjust: -2, strip: 0 },
    ],
    before: `000E${HW}`,
    after: `000e${HW}`,
    fields: {},
  },
  {
    heading: "3 bytes length field at the end of 5 bytes header, do not strip header",
    netty: {
      lengthFieldOffset: 2,
      lengthFieldLength: 3,
      lengthAdjustment: 0,
      initialBytesToStrip: 0,
    },
    shapes: [{ before: [uint("header1", 2)], length: 3, strip: 0 }],
    before: `CAFE00000C${HW}`,
    after: `cafe00000c${HW}`,
    fields: { header1: 0xcafe },
  },
  {
    heading: "3 bytes length field at the beginning of 5 bytes header, do not strip header",
    netty: {
      lengthFieldOffset: 0,
      lengthFieldLength: 3,
      lengthAdjustment: 2,
      initialBytesToStrip: 0,
    },
    shapes: [
      { length: 3, after: [uint("header1", 2)], lengthCounts: "payload", strip: 0 },
      { length: 3, after: [uint("header1", 2)], adjust: 2, strip: 0 },
    ],
    before: `00000CCAFE${HW}`,
    after: `00000ccafe${HW}`,
    fields: { header1: 0xcafe },
  },
  {
    heading:
      "2 bytes length field at offset 1 in the middle of 4 bytes header, strip the first header field and the length field",
    netty: {
      lengthFieldOffset: 1,
      lengthFieldLength: 2,
      lengthAdjustment: 1,
      initialBytesToStrip: 3,
    },
    shapes: [
      {
        before: [uint("hdr1")],
        length: 2,
        after: [uint("hdr2")],
        lengthCounts: "payload",
        strip: 3,
      },
      { before: [uint("hdr1")], length: 2, after: [uint("hdr2")], adjust: 1, strip: 3 },
    ],
    before: `CA000CFE${HW}`,
    after: `fe${HW}`,
    fields: { hdr1: 0xca, hdr2: 0xfe },
  },
  {
    heading:
      "2 bytes length field at offset 1 in the middle of 4 bytes header, strip the first header field and the length field, the length field represents the length of the whole message",
    netty: {
      lengthFieldOffset: 1,
      lengthFieldLength: 2,
      lengthAdjustment: -3,
      initialBytesToStrip: 3,
    },
    shapes: [
      { before: [uint("hdr1")], length: 2, after: [uint("hdr2")], lengthCounts: "frame", strip: 3 },
      { before: [uint("hdr1")], length: 2, after: [uint("hdr2")], adjust: -3, strip: 3 },
    ],
    before: `CA0010FE${HW}`,
    after: `fe${HW}`,
    fields: { hdr1: 0xca, hdr2: 0xfe },
  },
];

describe("Netty LengthFieldBasedFrameDecoder javadoc examples", () => {
  for (const ex of examples) {
    describe(ex.heading, () => {
      ex.shapes.forEach((spec, k) => {
        const shape = defineShape(spec);
        const bytes = hex(ex.before);
        const expected = { ...ex.fields, payload: ex.after };

        it(`decodes the example (declaration ${k + 1}: ${JSON.stringify(spec, (_, v) => (v?.kind === "uint" ? `uint ${v.name}/${v.bytes}` : v))})`, () => {
          // Netty's frame start is the lengthFieldOffset bytes of `before`.
          expect(shape.beforeBytes).toBe(ex.netty.lengthFieldOffset);
          const one = run(shape, [bytes]);
          expect(one.errors).toEqual([]);
          expect(one.frames).toEqual([expected]);
        });

        it("gives the same frame fed byte by byte and split at every point, twice in a row", () => {
          const twice = new Uint8Array([...bytes, ...bytes]);
          expect(run(shape, bytewise(twice)).frames).toEqual([expected, expected]);
          for (let cut = 0; cut <= twice.length; cut++) {
            const r = run(shape, [twice.subarray(0, cut), twice.subarray(cut)]);
            expect(r.errors).toEqual([]);
            expect(r.frames).toEqual([expected, expected]);
          }
        });

        it("encodes the example's bytes back from its fields and content", () => {
          // The encoder takes the fields and the body (the content after the whole header).
          expect(toHex(encodeFrame(shape, { ...ex.fields, payload: hex(HW) }))).toBe(toHex(bytes));
        });
      });
    });
  }
});

describe("Netty's other options", () => {
  it("byte order: a little-endian length field", () => {
    const shape = defineShape({ length: { bytes: 4, endian: "little" } });
    expect(run(shape, [hex("0300000061626364")]).frames).toEqual([{ payload: "616263" }]);
  });

  it.each([
    [1, "03"],
    [2, "0003"],
    [3, "000003"],
    [4, "00000003"],
    [8, "0000000000000003"],
  ] as const)("a %i-byte length field", (width, prefix) => {
    const shape = defineShape({ length: width });
    expect(run(shape, [hex(`${prefix}616263`)]).frames).toEqual([{ payload: "616263" }]);
  });

  it("any other width is a constructor error, as in Netty (expected: 1, 2, 3, 4, or 8)", () => {
    // @ts-expect-error a 5-byte length field is also a type error
    expect(() => defineShape({ length: { bytes: 5 } })).toThrow(InvalidArgumentError);
  });

  it("fail-fast: a too-long length is reported when the length field is complete, before the body", () => {
    const shape = defineShape({ before: [uint("hdr1")], length: 2, maxLength: 10 });
    const r = run(shape, [hex("ca000b")], false);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({
      code: "ERR_FRAME_SHAPE",
      kind: "length too long",
      length: 11,
      offset: 2,
    });
    expect(r.decoder.bufferedBytes).toBe(0);
  });

  it("Netty's maxFrameLength counts the whole frame; weft's maxLength the payload: max = maxFrameLength − header − trailer", () => {
    // Netty: maxFrameLength 14 accepts example 1 (14 bytes), rejects 15.
    const shape = defineShape({ length: 2, maxLength: 14 - 2 });
    expect(run(shape, [hex(`000C${HW}`)]).frames).toHaveLength(1);
    expect(run(shape, [hex("000D")]).errors[0]?.kind).toBe("length too long");
  });

  it("discard mode: the too-long frame is skipped without buffering, reported, and decoding goes on", () => {
    const shape = defineShape({ length: 2, maxLength: 3, tooLong: "discard" });
    const stream = hex("0002aaaa 0005 0102030405 0001bb");
    for (let cut = 0; cut <= stream.length; cut++) {
      const r = run(shape, [stream.subarray(0, cut), stream.subarray(cut)]);
      expect(r.errors).toEqual([]);
      expect(r.frames).toEqual([{ payload: "aaaa" }, { payload: "bb" }]);
      expect(r.discards).toHaveLength(1);
      expect(r.discards[0]).toMatchObject({ kind: "length too long", length: 5, offset: 5 });
    }
    const mid = run(shape, [hex("0005 0102")], false);
    expect(mid.decoder.bufferedBytes).toBe(0);
  });

  it("'Adjusted frame length is less than lengthFieldEndOffset' is kind 'length too short'", () => {
    // Example 3's shape with a length below its own 2 bytes.
    const shape = defineShape({ length: 2, lengthCounts: "length+rest" });
    const r = run(shape, [hex("0001ff")]);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ kind: "length too short", offset: 1 });
    expect(r.frames).toEqual([]);
  });

  it("'initialBytesToStrip larger than the frame' cannot happen: a strip past the header is a constructor error", () => {
    expect(() => defineShape({ length: 2, strip: 3 })).toThrow(/strip must be 0 to 2/);
    expect(() => defineShape({ before: [uint("t")], length: "varint", strip: 2 })).toThrow(
      /before a variable-width length/,
    );
  });

  it("8-byte lengths beyond 2^53 are too long, reported exactly (Netty: negative pre-adjustment length)", () => {
    const shape = defineShape({ length: 8 });
    const r = run(shape, [hex("ffffffffffffffff")]);
    expect(r.errors[0]).toMatchObject({ kind: "length too long" });
    expect(r.errors[0]?.message).toContain("18446744073709551615");
  });
});
