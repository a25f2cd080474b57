/**
 * Properties of the shape decoder over random shapes (weft/testing's `shapeSpecs`): any chunking
 * gives the same frames, decode(encode(frames)) gives them back, malformed input gives exactly one
 * typed error (and nothing after it), limits fail before buffering; plus frame views, trailers,
 * magic, custom lengths, fixed-size frames, switching shapes and pausing.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../../src/core/errors.js";
import {
  LengthPrefixedDecoder,
  type LengthPrefixedOptions,
} from "../../../src/protocols/receivers/index.js";
import { builderFor, plainBuilder } from "../../../src/protocols/shapes/builder.js";
import { crc32, crc32Trailer } from "../../../src/protocols/shapes/crc32.js";
import { ShapeDecoder } from "../../../src/protocols/shapes/decoder.js";
import { encodeFrame } from "../../../src/protocols/shapes/encoder.js";
import { int8, int16, int32, varint } from "../../../src/protocols/shapes/presets.js";
import {
  bits,
  bytes,
  defineShape,
  type LengthCodec,
  magic,
  type Shape,
  uint,
} from "../../../src/protocols/shapes/shape.js";
import { chunked } from "../../../src/testing/arbitraries.js";
import {
  malformedShapedStream,
  shapedStream,
  shapeSpecs,
} from "../../../src/testing/shape-arbitraries.js";
import { hex, plain, run, toHex } from "./helpers.js";

/** What the decoder must deliver for an encoder input: the fields, and `payload` from `strip`. */
function expectedFrame(
  shape: Shape,
  input: object,
  wire: Uint8Array,
): Record<string, number | string> {
  const out = plain(input);
  const t = shape.trailer;
  if (t?.compute) {
    const end = wire.length;
    out[t.name] = Buffer.from(wire).readUIntBE(end - t.bytes, t.bytes);
    if (t.endian === "little") out[t.name] = Buffer.from(wire).readUIntLE(end - t.bytes, t.bytes);
  }
  if (shape.strip >= 0) {
    out["payload"] = toHex(wire.subarray(shape.strip, wire.length - shape.trailerBytes));
  }
  // Delivered objects list the payload last; compare as sorted entries.
  return out;
}

const toBytesLength = (p: Uint8Array | string): number =>
  typeof p === "string" ? new TextEncoder().encode(p).length : p.length;

const runs = { numRuns: Number(process.env["SHAPE_RUNS"] ?? 150) };

describe("any shape, any chunking", () => {
  it("decode(encode(frames)) gives the frames back, whatever the chunking", () => {
    fc.assert(
      fc.property(
        shapeSpecs()
          .map((spec) => defineShape(spec))
          .chain((shape) =>
            shapedStream(shape, { maxPayload: 80 }).chain((s) =>
              chunked(s.bytes).map((chunks) => ({ shape, s, chunks })),
            ),
          ),
        ({ shape, s, chunks }) => {
          const expected = s.frames.map((f) => expectedFrame(shape, f, encodeFrame(shape, f)));
          const whole = run(shape, [s.bytes]);
          expect(whole.errors).toEqual([]);
          expect(whole.frames).toEqual(expected);
          const split = run(shape, chunks);
          expect(split.errors).toEqual([]);
          expect(split.frames).toEqual(expected);
        },
      ),
      runs,
    );
  });

  it("malformed input: the valid frames, then exactly one typed error of the expected kind, then nothing", () => {
    fc.assert(
      fc.property(
        shapeSpecs()
          .map((spec) => defineShape(spec))
          .chain((shape) =>
            malformedShapedStream(shape, { maxPayload: 60 }).chain((m) =>
              chunked(m.bytes).map((chunks) => ({ shape, m, chunks })),
            ),
          ),
        ({ shape, m, chunks }) => {
          const expected = m.valid.map((f) => expectedFrame(shape, f, encodeFrame(shape, f)));
          const r = run(shape, chunks);
          expect(r.frames).toEqual(expected);
          expect(r.errors).toHaveLength(1);
          expect(r.errors[0]).toMatchObject({ code: "ERR_FRAME_SHAPE", kind: m.kind });
          expect(r.decoder.failed).toBe(true);
          expect(r.decoder.bufferedBytes).toBe(0);
          // Nothing more, whatever follows.
          r.decoder.feed(Uint8Array.of(0, 0, 0, 0));
          r.decoder.end();
          expect(r.errors).toHaveLength(1);
        },
      ),
      runs,
    );
  });

  it("limits fail fast: a too-long length is reported with nothing of the body buffered", () => {
    fc.assert(
      fc.property(
        fc.constantFrom<1 | 2 | 3 | 4 | 8>(1, 2, 3, 4, 8),
        fc.integer({ min: 0, max: 100 }),
        (width, max) => {
          const shape = defineShape({ before: [uint("type")], length: width, maxLength: max });
          const head = new Uint8Array(1 + width);
          head[width] = max + 1; // big-endian: the last length byte
          if (max + 1 > 255) head[width - 1] = (max + 1) >> 8;
          head[width] = (max + 1) & 0xff;
          const r = run(shape, [head], false);
          expect(r.errors).toHaveLength(1);
          expect(r.errors[0]).toMatchObject({ kind: "length too long", length: max + 1 });
          expect(r.decoder.bufferedBytes).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("Int8/16/32/varint shapes decode exactly like the plain LengthPrefixedDecoder", () => {
    const cases: Array<[Shape, LengthPrefixedOptions]> = [
      [int8, { prefix: 1 }],
      [int16, { prefix: 2 }],
      [int32, { prefix: 4 }],
      [varint, { prefix: "varint" }],
    ];
    for (const [shape, options] of cases) {
      fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 120 }).chain((b) => chunked(b).map((chunks) => chunks)),
          (chunks) => {
            const lp: Array<string> = [];
            const lpErrors: Array<string> = [];
            const d = new LengthPrefixedDecoder(
              {
                onFrame: (f) => lp.push(toHex(f)),
                onError: (e) => lpErrors.push("kind" in e ? String(e.kind) : e.message),
              },
              { ...options, maxLength: 99999 },
            );
            for (const c of chunks) d.feed(c.slice());
            d.end();
            const r = run(shape, chunks);
            expect(r.frames.map((f) => f["payload"])).toEqual(lp);
            expect(r.errors.map((e) => e.kind)).toEqual(lpErrors);
          },
        ),
        { numRuns: 100 },
      );
    }
  });
});

describe("frames", () => {
  const pg = defineShape({ before: [uint("type")], length: 4, lengthCounts: "length+rest" });

  it("are zero-copy views of the chunk when they lie in it, and carry parsed fields", () => {
    const chunk = hex("51 0000000a 73656c6563 74 44 00000004");
    const seen: Array<{ type: number; payload: Uint8Array }> = [];
    const d = new ShapeDecoder(
      {
        onFrame: (f) => seen.push(f),
        onError: (e) => {
          throw e;
        },
      },
      pg,
    );
    d.feed(chunk);
    expect(seen.map((f) => f.type)).toEqual([0x51, 0x44]);
    expect(seen[0]!.payload.buffer).toBe(chunk.buffer);
    expect(seen[0]!.payload.byteOffset).toBe(5);
    expect(toHex(seen[0]!.payload)).toBe("73656c656374");
    expect(seen[1]!.payload.length).toBe(0);
  });

  it("spanning chunks are assembled once, into a buffer of their size", () => {
    const r: Uint8Array[] = [];
    const d = new ShapeDecoder(
      {
        onFrame: (f) => r.push(f.payload),
        onError: (e) => {
          throw e;
        },
      },
      pg,
    );
    d.feed(hex("51 0000000a 6162"));
    expect(d.bufferedBytes).toBe(2);
    d.feed(hex("636465 66"));
    expect(r).toHaveLength(1);
    expect(toHex(r[0]!)).toBe("616263646566");
    expect(r[0]!.byteLength).toBe(6);
    expect(d.bufferedBytes).toBe(0);
  });

  it("bit fields, byte fields and little-endian fields", () => {
    const shape = defineShape({
      before: [
        bits("kind", 3),
        bits("flag", 1),
        bits("level", 4),
        bytes("tag", 2),
        uint("le", 2, "little"),
      ],
      length: 1,
    });
    const wire = hex("b5 cafe 3412 02 ffee");
    expect(run(shape, [wire]).frames).toEqual([
      { kind: 5, flag: 1, level: 5, tag: "cafe", le: 0x1234, payload: "ffee" },
    ]);
    expect(
      toHex(
        encodeFrame(shape, {
          kind: 5,
          flag: 1,
          level: 5,
          tag: hex("cafe"),
          le: 0x1234,
          payload: hex("ffee"),
        }),
      ),
    ).toBe(toHex(wire));
  });

  it("a checksum trailer is checked before delivery (CRC-32)", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
    const shape = defineShape({ length: 2, trailer: crc32Trailer("crc"), lengthCounts: "payload" });
    const good = encodeFrame(shape, { payload: hex("010203") });
    expect(run(shape, [good]).frames).toEqual([{ crc: crc32(hex("010203")), payload: "010203" }]);
    const bad = good.slice();
    bad[bad.length - 1]! ^= 1;
    const r = run(shape, [bad]);
    expect(r.frames).toEqual([]);
    expect(r.errors[0]).toMatchObject({ kind: "bad checksum", offset: 5 });
  });

  it("a trailer covering the whole frame, assembled across chunks", () => {
    const shape = defineShape({
      before: [uint("t")],
      length: 1,
      trailer: crc32Trailer("crc", { covers: "frame" }),
    });
    const wire = encodeFrame(shape, { t: 7, payload: hex("aabbcc") });
    expect(run(shape, [wire.subarray(0, 3), wire.subarray(3)]).frames).toEqual([
      { t: 7, crc: crc32(wire.subarray(0, 5)), payload: "aabbcc" },
    ]);
  });

  it("magic bytes are checked where they stand", () => {
    const shape = defineShape({ before: [magic("WF"), uint("v")], length: 1 });
    expect(run(shape, [hex("5746 01 01 aa")]).frames).toEqual([{ v: 1, payload: "aa" }]);
    const r = run(shape, [hex("5747 01 01 aa")]);
    expect(r.errors[0]).toMatchObject({ kind: "bad magic", offset: 1 });
  });

  it("a custom length reader (a decimal ASCII length and ':', netstring-like)", () => {
    const decimal: LengthCodec = {
      maxBytes: 6,
      read(b, start, end) {
        for (let i = start; i < end; i++) {
          if (b[i] === 0x3a) {
            if (i === start) throw new Error("empty length");
            return [Number(Buffer.from(b.subarray(start, i)).toString("latin1")), i - start + 1];
          }
          if (b[i]! < 0x30 || b[i]! > 0x39) throw new Error("not a digit");
        }
        return undefined;
      },
      write: (v) => new TextEncoder().encode(`${v}:`),
    };
    const shape = defineShape({ length: { custom: decimal } });
    const wire = new TextEncoder().encode("3:abc0:11:hello world");
    const r = run(shape, [wire.subarray(0, 1), wire.subarray(1)]);
    expect(r.frames.map((f) => Buffer.from(String(f["payload"]), "hex").toString())).toEqual([
      "abc",
      "",
      "hello world",
    ]);
    expect(toHex(encodeFrame(shape, { payload: "abc" }))).toBe(toHex(wire.subarray(0, 5)));
    expect(run(shape, [new TextEncoder().encode("x:")]).errors[0]?.kind).toBe("bad length");
    expect(run(shape, [new TextEncoder().encode("1234567")]).errors[0]?.kind).toBe("bad length");
  });

  it("fixed-size frames (no length field)", () => {
    const shape = defineShape({ before: [uint("op")], length: { fixed: 2 } });
    expect(run(shape, [hex("01aabb02ccdd")]).frames).toEqual([
      { op: 1, payload: "aabb" },
      { op: 2, payload: "ccdd" },
    ]);
    expect(() => encodeFrame(shape, { op: 1, payload: hex("aa") })).toThrow(InvalidArgumentError);
  });

  it("the stream ending inside a frame is one 'truncated' error", () => {
    const r = run(pg, [hex("51 00000009 7365")]);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ kind: "truncated", offset: 7 });
  });
});

describe("switching shapes mid-stream", () => {
  const startup = defineShape({ length: 4, lengthCounts: "length+rest" });
  const typed = defineShape({ before: [uint("type")], length: 4, lengthCounts: "length+rest" });

  it("applies to the rest of the same chunk when called from onFrame", () => {
    const frames: object[] = [];
    const d: ShapeDecoder = new ShapeDecoder<object>(
      {
        onFrame: (f) => {
          frames.push(plain(f));
          if (frames.length === 1) d.setShape(typed);
        },
        onError: (e) => {
          throw e;
        },
      },
      startup,
    );
    const wire = hex("00000006 aabb 51 00000005 cc 58 00000004");
    fc.assert(
      fc.property(chunked(wire), (chunks) => {
        frames.length = 0;
        const dd = new ShapeDecoder<object>(
          {
            onFrame: (f) => {
              frames.push(plain(f));
              if (frames.length === 1) dd.setShape(typed);
            },
            onError: (e) => {
              throw e;
            },
          },
          startup,
        );
        for (const c of chunks) dd.feed(c);
        dd.end();
        expect(frames).toEqual([
          { payload: "aabb" },
          { type: 0x51, payload: "cc" },
          { type: 0x58, payload: "" },
        ]);
      }),
      { numRuns: 80 },
    );
    expect(d.shape).toBe(startup);
  });

  it("is refused while part of a frame is held", () => {
    const d = new ShapeDecoder({ onFrame() {}, onError() {} }, startup);
    d.feed(hex("0000"));
    expect(() => d.setShape(typed)).toThrow(InvalidArgumentError);
  });
});

describe("pause and resume", () => {
  it("holds frames while paused, then delivers them in order", () => {
    const shape = defineShape({ length: 1 });
    const got: string[] = [];
    const d: ShapeDecoder = new ShapeDecoder<{ payload: Uint8Array }>(
      {
        onFrame: (f) => {
          got.push(toHex(f.payload));
          if (got.length === 1) d.pause();
        },
        onError: (e) => {
          throw e;
        },
      },
      shape,
    );
    d.feed(hex("01aa 01bb 01cc"));
    expect(got).toEqual(["aa"]);
    expect(d.bufferedBytes).toBe(4);
    d.resume();
    expect(got).toEqual(["aa", "bb", "cc"]);
  });
});

describe("declarations", () => {
  it("wrong combinations are clear constructor errors", () => {
    expect(() => defineShape({ before: [bits("a", 3)], length: 1 })).toThrow(/whole bytes/);
    expect(() => defineShape({ before: [uint("a"), uint("a")], length: 1 })).toThrow(/twice/);
    expect(() => defineShape({ before: [uint("payload")], length: 1 })).toThrow(
      /invalid field name/,
    );
    expect(() => defineShape({ length: { varint: { maxBytes: 11 } } })).toThrow(/maxBytes/);
    expect(() => defineShape({ length: { fixed: 5 }, maxLength: 4 })).toThrow(/exceeds maxLength/);
    expect(() => defineShape({ length: { fixed: 5 }, adjust: 1 })).toThrow(/no length/);
    expect(() => defineShape({ length: 2, maxLength: -1 })).toThrow(InvalidArgumentError);
  });

  it("impossible widths and unknown options are type errors too", () => {
    // @ts-expect-error a uint field has 1 to 4 bytes
    expect(() => defineShape({ before: [uint("a", 5)], length: 1 })).toThrow(InvalidArgumentError);
    // @ts-expect-error no 6-byte length field
    expect(() => defineShape({ length: 6 })).toThrow(InvalidArgumentError);
    // @ts-expect-error lengthCounts is one of four names
    expect(() => defineShape({ length: 2, lengthCounts: "header" })).toThrow(InvalidArgumentError);
    const typed = defineShape({ before: [uint("op")], length: 1 });
    // @ts-expect-error a frame must carry every declared field when encoded
    const missing = () => encodeFrame(typed, { payload: "x" });
    expect(missing).toThrow(InvalidArgumentError);
  });

  it("the generated frame builder and the plain one (used where code generation is not allowed) agree", () => {
    fc.assert(
      fc.property(
        shapeSpecs()
          .map((spec) => defineShape(spec))
          .chain((shape) =>
            shapedStream(shape, { maxFrames: 1, maxPayload: 20 }).map((s) => ({ shape, s })),
          ),
        ({ shape, s }) => {
          const frame = s.frames[0];
          if (frame === undefined) return;
          const wire = encodeFrame(shape, frame);
          const h = wire.length - shape.trailerBytes - toBytesLength(frame.payload);
          const payload = wire.subarray(h, wire.length - shape.trailerBytes);
          expect(plain(builderFor(shape)(wire, 0, h, payload, 7))).toEqual(
            plain(plainBuilder(shape)(wire, 0, h, payload, 7)),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it("the frame type is inferred from the declaration, with no cast", () => {
    const shape = defineShape({
      before: [uint("type"), bits("_", 1), bits("id", 15)],
      length: 2,
      after: [bytes("tag", 4)],
    });
    const d = new ShapeDecoder(
      {
        onFrame(f) {
          const t: number = f.type;
          const id: number = f.id;
          const tag: Uint8Array = f.tag;
          const p: Uint8Array = f.payload;
          // @ts-expect-error "_" fields are not delivered
          void f._;
          void [t, id, tag, p];
        },
        onError() {},
      },
      shape,
    );
    expect(d.failed).toBe(false);
    expect(shape.fieldNames).toEqual(["type", "id", "tag"]);
  });
});
