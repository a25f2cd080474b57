import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidArgumentError, WeftError } from "../../../src/core/errors.js";
import {
  encodeLengthPrefix,
  encodeLengthPrefixed,
  Int8StringReceiver,
  Int16StringReceiver,
  Int32StringReceiver,
  type LengthPrefix,
  LengthPrefixedDecoder,
  type LengthPrefixedError,
  type LengthPrefixedOptions,
  LengthPrefixedReceiver,
  StringTooLongError,
} from "../../../src/protocols/receivers/index.js";
import { chunked, validLengthPrefixedFrames } from "../../../src/testing/arbitraries.js";
import { MemoryTransport } from "../../../src/testing/memory.js";
import { collectGarbage } from "../../helpers/gc.js";

const b = (s: string): Uint8Array => Buffer.from(s, "latin1");
const str = (u: Uint8Array): string => Buffer.from(u).toString("latin1");
const hex = (h: string): Uint8Array => Buffer.from(h.replace(/\s+/g, ""), "hex");

type ReceiverClass = new () => LengthPrefixedReceiver;

/** Records strings (copies), limit calls and framing errors; like Twisted's TestMixin. */
function recorder(base: ReceiverClass, maxLength = 50) {
  class R extends base {
    received: string[] = [];
    limits: number[] = [];
    errors: LengthPrefixedError[] = [];
    override stringReceived(data: Uint8Array): void {
      this.received.push(str(data));
    }
    override lengthLimitExceeded(length: number): void {
      this.limits.push(length);
      super.lengthLimitExceeded(length);
    }
    override framingError(error: LengthPrefixedError): void {
      this.errors.push(error);
      super.framingError(error);
    }
  }
  const p = new R();
  p.MAX_LENGTH = maxLength;
  const t = new MemoryTransport();
  p.makeConnection(t);
  return { p, t };
}

function feedBytewise(p: { dataReceived(d: Uint8Array): void }, data: Uint8Array): void {
  for (let i = 0; i < data.length; i++) p.dataReceived(data.slice(i, i + 1));
}

const presets: Array<{ name: string; cls: ReceiverClass; width: 1 | 2 | 4 }> = [
  { name: "Int8StringReceiver", cls: Int8StringReceiver, width: 1 },
  { name: "Int16StringReceiver", cls: Int16StringReceiver, width: 2 },
  { name: "Int32StringReceiver", cls: Int32StringReceiver, width: 4 },
];

/** Independent oracle: a big-endian prefix written by hand. */
function frameBE(width: number, payload: string): Uint8Array {
  const out = new Uint8Array(width + payload.length);
  let n = payload.length;
  for (let k = width - 1; k >= 0; k--) {
    out[k] = n & 0xff;
    n = Math.floor(n / 256);
  }
  out.set(b(payload), width);
  return out;
}

describe.each(presets)("$name — Twisted's conformance tests (test_basic.py)", ({ cls, width }) => {
  const strings = ["a", "b".repeat(16)];

  it("test_receive: each string framed and fed one byte at a time is received in order", () => {
    const { p, t } = recorder(cls);
    for (const s of strings) feedBytewise(p, frameBE(width, s));
    expect(p.received).toEqual(strings);
    expect(t.disconnecting).toBe(false);
  });

  const partial = {
    1: ["\x08", "dzadz", ""],
    2: ["\x00", "hello there", ""],
    4: ["\x00\x00\x00", "hello there", ""],
  }[width];
  for (const s of partial) {
    it(`test_partial: ${JSON.stringify(s)} delivers nothing`, () => {
      const { p, t } = recorder(cls);
      p.dataReceived(b(s));
      expect(p.received).toEqual([]);
      // (with MAX_LENGTH 50, "hello there" announces far too much and closes; Twisted's test
      // only checks that nothing is delivered)
      if (s.length < 3) expect(t.disconnecting).toBe(false);
    });
  }

  it("test_send: sendString(b×16) writes prefix + data", () => {
    const { p, t } = recorder(cls);
    p.sendString(b("b".repeat(16)));
    expect(str(t.value())).toBe(str(frameBE(width, "b".repeat(16))));
  });

  it("test_illegal: a length over MAX_LENGTH closes the connection", () => {
    const input = { 1: "\x00\x00aaaaaa", 2: "\x10\x00aaaaaa", 4: "\x10\x00\x00\x00aaaaaa" }[width];
    const { p, t } = recorder(cls);
    p.dataReceived(b(input));
    expect(t.disconnecting).toBe(true);
    // Int8: two empty frames, then "a" (97) > 50.
    expect(p.received).toEqual(width === 1 ? ["", ""] : []);
    expect(p.limits).toEqual([width === 1 ? 97 : 0x10 * 256 ** (width - 1)]);
  });

  it("test_lengthLimitExceeded: MAX 10, a prefix of 11 alone calls lengthLimitExceeded(11)", () => {
    const { p, t } = recorder(cls, 10);
    p.dataReceived(frameBE(width, "x".repeat(11)).subarray(0, width));
    expect(p.limits).toEqual([11]);
    expect(t.disconnecting).toBe(true);
  });

  it("test_longStringNotDelivered: MAX 10, prefix 11 + 11 bytes delivers nothing", () => {
    const { p, t } = recorder(cls, 10);
    p.dataReceived(frameBE(width, "x".repeat(11)));
    expect(p.received).toEqual([]);
    expect(t.disconnecting).toBe(true);
  });

  it("test_data: sendString(foo), receive ubar", () => {
    const { p, t } = recorder(cls);
    p.sendString("foo");
    expect(str(t.value())).toBe(str(frameBE(width, "foo")));
    p.dataReceived(frameBE(width, "ubar"));
    expect(p.received).toEqual(["ubar"]);
  });

  if (width < 4) {
    it("test_tooLongSend: 2**(8n)+1 bytes throw StringTooLongError", () => {
      const { p, t } = recorder(cls);
      const n = 2 ** (8 * width) + 1;
      let caught: unknown;
      try {
        p.sendString(new Uint8Array(n));
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(StringTooLongError);
      expect(caught).toBeInstanceOf(WeftError);
      const e = caught as StringTooLongError;
      expect(e.code).toBe("ERR_STRING_TOO_LONG");
      expect(e.message).toBe(`Try to send ${n} bytes whereas maximum is ${2 ** (8 * width) - 1}`);
      expect(t.value()).toHaveLength(0);
      // The largest sendable string is fine.
      p.sendString(new Uint8Array(2 ** (8 * width) - 1));
      expect(t.value()).toHaveLength(width + 2 ** (8 * width) - 1);
    });
  }

  it("a frame of exactly MAX_LENGTH is delivered, one more byte is refused (strictly greater)", () => {
    const max = width === 1 ? 200 : 99999;
    const ok = recorder(cls, max);
    ok.p.dataReceived(frameBE(width, "z".repeat(width === 1 ? max : Math.min(max, 65535))));
    expect(ok.p.received).toHaveLength(1);
    expect(ok.t.disconnecting).toBe(false);
    if (width !== 2) {
      const over = recorder(cls, max);
      over.p.dataReceived(frameBE(width, "z".repeat(max + 1)).subarray(0, width));
      expect(over.p.limits).toEqual([max + 1]);
      expect(over.t.disconnecting).toBe(true);
    }
  });

  it("does not re-deliver frames after lengthLimitExceeded (Twisted's in-memory bug)", () => {
    const { p } = recorder(cls, 10);
    p.dataReceived(Buffer.concat([frameBE(width, "ab"), frameBE(width, "x".repeat(11))]));
    expect(p.received).toEqual(["ab"]);
    p.dataReceived(frameBE(width, "ab"));
    expect(p.received).toEqual(["ab"]);
  });

  it("stops delivering once the app called loseConnection (divergence from Twisted)", () => {
    const { p, t } = recorder(cls);
    const orig = p.stringReceived.bind(p);
    p.stringReceived = (d: Uint8Array) => {
      orig(d);
      t.loseConnection();
    };
    p.dataReceived(Buffer.concat(["a", "b", "c"].map((s) => frameBE(width, s))));
    expect(p.received).toEqual(["a"]);
  });

  it("test_pauseResume-style: paused receivers hold frames, resume releases them", () => {
    const { p, t } = recorder(cls);
    const orig = p.stringReceived.bind(p);
    p.stringReceived = (d: Uint8Array) => {
      orig(d);
      if (str(d) === "pause") p.pauseProducing();
    };
    const wire = Buffer.concat(["x", "pause", "y", "z"].map((s) => frameBE(width, s)));
    p.dataReceived(wire.subarray(0, wire.length - 2));
    expect(p.received).toEqual(["x", "pause"]);
    expect(p.paused).toBe(true);
    expect(t.producerState).toBe("paused");
    p.dataReceived(wire.subarray(wire.length - 2)); // data arriving while paused is only buffered
    expect(p.received).toEqual(["x", "pause"]);
    p.resumeProducing();
    expect(t.producerState).toBe("producing");
    expect(p.received).toEqual(["x", "pause", "y", "z"]);
    expect(p.bufferedBytes).toBe(0);
  });

  it("pausing before any data, then resuming, delivers everything in order", () => {
    const { p } = recorder(cls);
    p.pauseProducing();
    p.dataReceived(frameBE(width, "one"));
    p.dataReceived(frameBE(width, "two"));
    expect(p.received).toEqual([]);
    p.resumeProducing();
    expect(p.received).toEqual(["one", "two"]);
  });

  it("stopProducing delivers nothing more", () => {
    const { p, t } = recorder(cls);
    p.dataReceived(frameBE(width, "one"));
    p.stopProducing();
    p.dataReceived(frameBE(width, "two"));
    expect(p.received).toEqual(["one"]);
    expect(t.producerState).toBe("stopped");
  });

  it("a handler feeding data back in (re-entrant dataReceived) keeps order and does not recurse", () => {
    const { p } = recorder(cls);
    const orig = p.stringReceived.bind(p);
    let injected = false;
    p.stringReceived = (d: Uint8Array) => {
      orig(d);
      if (!injected) {
        injected = true;
        p.dataReceived(frameBE(width, "injected"));
      }
    };
    p.dataReceived(Buffer.concat([frameBE(width, "inject"), frameBE(width, "after")]));
    expect(p.received).toEqual(["inject", "after", "injected"]);
  });
});

describe("Int32StringReceiver — Twisted's boundary (reference section 3)", () => {
  it("prefix 99999 is accepted, 100000 closes (default MAX_LENGTH)", () => {
    const ok = recorder(Int32StringReceiver, 99999);
    ok.p.dataReceived(hex("0001869f"));
    expect(ok.t.disconnecting).toBe(false);
    const over = recorder(Int32StringReceiver, 99999);
    over.p.dataReceived(hex("000186a0"));
    expect(over.p.limits).toEqual([100000]);
    expect(over.t.disconnecting).toBe(true);
  });

  it("default MAX_LENGTH is 99999 and sendString prefixes match Twisted's", () => {
    expect(new Int32StringReceiver().MAX_LENGTH).toBe(99999);
    for (const [cls, h] of [
      [Int8StringReceiver, "03666f6f"],
      [Int16StringReceiver, "0003666f6f"],
      [Int32StringReceiver, "00000003666f6f"],
    ] as const) {
      const t = new MemoryTransport();
      const p = new cls();
      p.makeConnection(t);
      p.sendString(b("foo"));
      expect(Buffer.from(t.value()).toString("hex")).toBe(h);
    }
  });

  it("a large payload is sent in one transport call as pieces", () => {
    const t = new MemoryTransport();
    let calls = 0;
    const origSeq = t.writeSequence.bind(t);
    t.writeSequence = (d) => {
      calls++;
      origSeq(d);
    };
    const p = new Int32StringReceiver();
    p.makeConnection(t);
    p.sendString(new Uint8Array(70000).fill(7));
    expect(calls).toBe(1);
    expect(Buffer.from(t.value().subarray(0, 4)).toString("hex")).toBe("00011170");
    expect(t.value()).toHaveLength(70004);
  });
});

describe("LengthPrefixedDecoder — the general codec", () => {
  function decode(chunks: Uint8Array[], options: LengthPrefixedOptions, end = false) {
    const frames: string[] = [];
    const errors: LengthPrefixedError[] = [];
    const d = new LengthPrefixedDecoder(
      {
        onFrame: (f) => frames.push(str(f)),
        onError: (e) => errors.push(e as LengthPrefixedError),
      },
      options,
    );
    for (const c of chunks) d.feed(c);
    if (end) d.end();
    return { frames, errors, d };
  }

  // name, options, payload, expected wire (hex, written by hand)
  const table: Array<[string, LengthPrefixedOptions, string, string]> = [
    ["u8", { prefix: 1 }, "hi", "02 6869"],
    ["u16be", { prefix: 2 }, "hi", "0002 6869"],
    ["u16le", { prefix: 2, endian: "little" }, "hi", "0200 6869"],
    ["u32be", { prefix: 4 }, "hi", "00000002 6869"],
    ["u32le", { prefix: 4, endian: "little" }, "hi", "02000000 6869"],
    ["u64be", { prefix: 8 }, "hi", "0000000000000002 6869"],
    ["u64le", { prefix: 8, endian: "little" }, "hi", "0200000000000000 6869"],
    ["varint 0", { prefix: "varint" }, "", "00"],
    ["varint 2", { prefix: "varint" }, "hi", "02 6869"],
    [
      "varint 300",
      { prefix: "varint", maxLength: 1000 },
      "x".repeat(300),
      `ac02 ${"78".repeat(300)}`,
    ],
    ["u16be 258", { prefix: 2, maxLength: 1000 }, "y".repeat(258), `0102 ${"79".repeat(258)}`],
  ];
  for (const [name, opts, payload, wire] of table) {
    it(`${name}: encode, decode (every packet size 1..9) and round trip`, () => {
      expect(Buffer.from(encodeLengthPrefixed(b(payload), opts)).toString("hex")).toBe(
        wire.replace(/\s+/g, ""),
      );
      const bytes = hex(wire);
      for (let size = 1; size <= 9; size++) {
        const chunks: Uint8Array[] = [];
        for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.slice(i, i + size));
        const r = decode(chunks, opts, true);
        expect(r.frames).toEqual([payload]);
        expect(r.errors).toEqual([]);
      }
    });
  }

  it("8-byte prefixes beyond maxLength are rejected exactly, even above 2^53", () => {
    const cases: Array<[string, "big" | "little", string]> = [
      ["0020000000000001", "big", "9007199254740993"],
      ["ffffffffffffffff", "big", "18446744073709551615"],
      ["ffffffffffffffff", "little", "18446744073709551615"],
      ["0100000000002000", "little", "9007199254740993"],
      ["00000000000186a0", "big", "100000"],
    ];
    for (const [h, endian, exact] of cases) {
      const r = decode([hex(h)], { prefix: 8, endian });
      expect(r.errors).toHaveLength(1);
      expect(r.errors[0]!.kind).toBe("length too long");
      expect(r.errors[0]!.offset).toBe(7);
      expect(r.errors[0]!.message).toContain(exact);
    }
    // maxLength = 2^53 − 1 accepts exactly that announcement (no payload needed to decide).
    const r = decode([hex("001fffffffffffff")], { prefix: 8, maxLength: Number.MAX_SAFE_INTEGER });
    expect(r.errors).toEqual([]);
  });

  it("varints: checked byte by byte, overlong and non-minimal encodings rejected", () => {
    const max = 99999;
    // 2^21 − 1 > 99999: rejected on the 3rd byte, before the payload.
    let r = decode([hex("ffff7f")], { prefix: "varint", maxLength: max });
    expect(r.errors.map((e) => [e.kind, e.offset])).toEqual([["length too long", 2]]);
    // Non-minimal: 0x80 0x00 encodes 0 in two bytes.
    r = decode([hex("8000")], { prefix: "varint" });
    expect(r.errors.map((e) => [e.kind, e.offset])).toEqual([["overlong varint", 1]]);
    expect(r.errors[0]!.code).toBe("ERR_LENGTH_PREFIXED");
    // Ten continuation bytes that never grow the value.
    r = decode([hex("80808080808080808080")], {
      prefix: "varint",
      maxLength: Number.MAX_SAFE_INTEGER,
    });
    expect(r.errors.map((e) => e.kind)).toEqual(["overlong varint"]);
    // Split across chunks the same way.
    r = decode([hex("ff"), hex("ff"), hex("7f")], { prefix: "varint", maxLength: max });
    expect(r.errors.map((e) => [e.kind, e.offset])).toEqual([["length too long", 2]]);
  });

  it("encodes and decodes prefixes up to 2^53 − 1 exactly", () => {
    const top = Number.MAX_SAFE_INTEGER;
    expect(Buffer.from(encodeLengthPrefix(top, { prefix: 8 })).toString("hex")).toBe(
      "001fffffffffffff",
    );
    expect(
      Buffer.from(encodeLengthPrefix(top, { prefix: 8, endian: "little" })).toString("hex"),
    ).toBe("ffffffffffff1f00");
    expect(Buffer.from(encodeLengthPrefix(top, { prefix: "varint" })).toString("hex")).toBe(
      "ffffffffffffff0f",
    );
    expect(Buffer.from(encodeLengthPrefix(2 ** 32, { prefix: 8 })).toString("hex")).toBe(
      "0000000100000000",
    );
    for (const prefix of [8, "varint"] as const) {
      const r = decode([encodeLengthPrefix(top, { prefix })], { prefix, maxLength: top });
      expect(r.errors).toEqual([]);
      const over = decode([encodeLengthPrefix(top, { prefix })], { prefix, maxLength: top - 1 });
      expect(over.errors.map((e) => e.kind)).toEqual(["length too long"]);
      expect(over.errors[0]!.message).toContain(String(top));
    }
  });

  it("a truncated stream is reported by end(), a clean boundary is not", () => {
    let r = decode([hex("0005 6869")], { prefix: 2 }, true);
    expect(r.errors.map((e) => [e.kind, e.offset])).toEqual([["truncated", 4]]);
    r = decode([hex("00")], { prefix: 2 }, true);
    expect(r.errors.map((e) => e.kind)).toEqual(["truncated"]);
    r = decode([hex("0002 6869")], { prefix: 2 }, true);
    expect(r.errors).toEqual([]);
  });

  it("rejects bad options with InvalidArgumentError", () => {
    const sink = { onFrame() {}, onError() {} };
    expect(() => new LengthPrefixedDecoder(sink, { prefix: 3 as unknown as LengthPrefix })).toThrow(
      InvalidArgumentError,
    );
    expect(() => new LengthPrefixedDecoder(sink, { maxLength: 2 ** 60 })).toThrow(
      InvalidArgumentError,
    );
    expect(() => encodeLengthPrefix(256, { prefix: 1 })).toThrow(StringTooLongError);
  });

  it("views inside a chunk, one copy across chunks, no reference kept to consumed chunks", () => {
    const frames: Uint8Array[] = [];
    const d = new LengthPrefixedDecoder({ onFrame: (f) => frames.push(f), onError() {} }, {});
    const chunk = Buffer.concat([frameBE(4, "abc"), frameBE(4, "defg").subarray(0, 6)]);
    d.feed(chunk);
    expect(frames[0]!.buffer).toBe(chunk.buffer);
    chunk.fill(0);
    d.feed(b("fg"));
    expect(str(frames[1]!)).toBe("defg");
    expect(d.bufferedBytes).toBe(0);
  });

  it("holds no reference to fed chunks: not after a frame, not while paused", async () => {
    const got: string[] = [];
    const d = new LengthPrefixedDecoder(
      {
        onFrame: (f) => {
          got.push(str(f));
          if (str(f) === "p") d.pause();
        },
        onError() {},
      },
      { prefix: 1 },
    );
    // In a plain function so no suspended async frame keeps the chunk alive.
    const feedOne = (): WeakRef<ArrayBuffer> => {
      const chunk = new Uint8Array(1 << 20);
      // "ab" delivered, "p" pauses, "cd" held back, then 2 bytes of a partial frame
      chunk.set(hex("02 6162 01 70 02 6364 03 7879"), 0);
      d.feed(chunk.subarray(0, 11));
      return new WeakRef(chunk.buffer);
    };
    const ref = feedOne();
    await collectGarbage();
    expect(ref.deref()).toBeUndefined();
    expect(got).toEqual(["ab", "p"]);
    d.resume();
    d.feed(hex("7a"));
    expect(got).toEqual(["ab", "p", "cd", "xyz"]);
  });

  it("big frames arrive intact whatever the alignment and size of the chunks", () => {
    const size = 300 * 1024 + 3;
    const payload = new Uint8Array(size);
    for (let k = 0; k < size; k++) payload[k] = (k * 31 + 7) & 0xff;
    const wire = encodeLengthPrefixed(payload, { prefix: 4 });
    for (const [first, rest, offset] of [
      [5, 65536, 0],
      [70000, 4093, 3],
      [4, 1000, 17],
      [9, 65536, 61],
    ] as const) {
      const frames: Uint8Array[] = [];
      const d = new LengthPrefixedDecoder(
        { onFrame: (f) => frames.push(f.slice()), onError: (e) => expect.fail(e.message) },
        { maxLength: size },
      );
      // Every chunk is a fresh buffer at an odd offset inside a bigger allocation.
      const feed = (part: Uint8Array) => {
        const host = new Uint8Array(part.length + offset + 5);
        host.set(part, offset);
        d.feed(host.subarray(offset, offset + part.length));
      };
      feed(wire.subarray(0, first));
      for (let off = first; off < wire.length; off += rest) feed(wire.subarray(off, off + rest));
      expect(frames).toHaveLength(1);
      expect(Buffer.compare(frames[0]!, payload)).toBe(0);
    }
  });

  it("a frame above 16 MiB is assembled by doubling and arrives intact", () => {
    const size = 17 * 1024 * 1024 + 5;
    const payload = new Uint8Array(size);
    for (let k = 0; k < size; k += 4093) payload[k] = (k / 4093) & 0xff;
    const wire = encodeLengthPrefixed(payload, { prefix: 4 });
    const frames: Uint8Array[] = [];
    const d = new LengthPrefixedDecoder(
      { onFrame: (f) => frames.push(f), onError: (e) => expect.fail(e.message) },
      { maxLength: 32 * 1024 * 1024 },
    );
    d.feed(wire.subarray(0, 4));
    // Announced but not sent: nothing near the announced size is held yet.
    expect(d.bufferedBytes).toBe(0);
    for (let off = 4; off < wire.length; off += 65536) d.feed(wire.subarray(off, off + 65536));
    expect(frames).toHaveLength(1);
    expect(frames[0]!.length).toBe(size);
    expect(Buffer.compare(frames[0]!, payload)).toBe(0);
  });

  it("a varint receiver protocol reports a malformed varint through framingError and closes", () => {
    class V extends LengthPrefixedReceiver {
      override prefix: LengthPrefix = "varint";
    }
    const { p, t } = recorder(V);
    p.dataReceived(hex("0161 8000"));
    expect(p.received).toEqual(["a"]);
    expect(p.errors.map((e) => e.kind)).toEqual(["overlong varint"]);
    expect(t.disconnecting).toBe(true);
  });
});

describe("LengthPrefixedDecoder — properties", () => {
  const configs: LengthPrefixedOptions[] = [
    { prefix: 1 },
    { prefix: 2 },
    { prefix: 2, endian: "little" },
    { prefix: 4 },
    { prefix: 4, endian: "little" },
    { prefix: 8 },
    { prefix: 8, endian: "little" },
    { prefix: "varint" },
  ];

  it("any chunking of a valid stream yields the frames, for every prefix", () => {
    for (const opts of configs) {
      fc.assert(
        fc.property(
          validLengthPrefixedFrames({ ...opts, maxLength: 200 }).chain((s) =>
            chunked(s.bytes).map((chunks) => ({ s, chunks })),
          ),
          ({ s, chunks }) => {
            const frames: Uint8Array[] = [];
            const d = new LengthPrefixedDecoder(
              {
                onFrame: (f) => frames.push(f.slice()),
                onError: (e) => {
                  throw e;
                },
              },
              { ...opts, maxLength: 200 },
            );
            for (const c of chunks) {
              d.feed(c);
              c.fill(0xee);
            }
            d.end();
            expect(frames).toEqual(s.frames);
            expect(d.bufferedBytes).toBe(0);
          },
        ),
        { numRuns: 60 },
      );
    }
  });

  it("pausing and resuming at random points never loses, duplicates or reorders a frame", () => {
    fc.assert(
      fc.property(
        validLengthPrefixedFrames({ prefix: 2, maxLength: 40, maxFrames: 12 }).chain((s) =>
          fc.record({
            s: fc.constant(s),
            chunks: chunked(s.bytes),
            pauses: fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
            resumes: fc.array(fc.boolean(), { minLength: 17, maxLength: 17 }),
          }),
        ),
        ({ s, chunks, pauses, resumes }) => {
          const got: Uint8Array[] = [];
          const d: LengthPrefixedDecoder = new LengthPrefixedDecoder(
            {
              onFrame: (f) => {
                got.push(f.slice());
                if (pauses[got.length - 1]) d.pause();
              },
              onError: (e) => {
                throw e;
              },
            },
            { prefix: 2, maxLength: 40 },
          );
          chunks.forEach((c, k) => {
            d.feed(c);
            c.fill(0xee);
            if (resumes[k]) d.resume();
          });
          d.end();
          while (d.paused) d.resume();
          expect(got).toEqual(s.frames);
          expect(d.failed).toBe(false);
          expect(d.bufferedBytes).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("encode then decode is the identity", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...configs),
        fc.uint8Array({ maxLength: 255 }),
        (opts, payload) => {
          const r: Uint8Array[] = [];
          const d = new LengthPrefixedDecoder(
            { onFrame: (f) => r.push(f.slice()), onError() {} },
            opts,
          );
          d.feed(encodeLengthPrefixed(payload, opts));
          expect(r).toEqual([payload]);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("arbitrary bytes end in frames or exactly one typed error then a close; memory bounded", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...configs),
        fc.uint8Array({ maxLength: 80 }).chain((x) => chunked(x)),
        (opts, chunks) => {
          class R extends LengthPrefixedReceiver {
            override prefix = opts.prefix ?? 4;
            override endian = opts.endian ?? "big";
            override MAX_LENGTH = 30;
            got = 0;
            errs = 0;
            override stringReceived(): void {
              this.got++;
            }
            override lengthLimitExceeded(length: number): void {
              this.errs++;
              super.lengthLimitExceeded(length);
            }
            override framingError(e: LengthPrefixedError): void {
              this.errs++;
              super.framingError(e);
            }
          }
          const p = new R();
          const t = new MemoryTransport();
          p.makeConnection(t);
          for (const c of chunks) {
            expect(() => p.dataReceived(c)).not.toThrow();
            expect(p.bufferedBytes).toBeLessThanOrEqual(30 + 10);
          }
          expect(p.errs).toBeLessThanOrEqual(1);
          expect(t.disconnecting).toBe(p.errs === 1);
          if (p.errs === 1) {
            const n = p.got;
            p.dataReceived(encodeLengthPrefixed(b("z"), opts));
            expect(p.got).toBe(n);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("whatever length a peer announces, nothing beyond maxLength is buffered", () => {
    fc.assert(
      fc.property(
        fc.constantFrom<LengthPrefix>(1, 2, 4, 8, "varint"),
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        (prefix, announced) => {
          let head: Uint8Array;
          if (prefix === "varint") {
            const out: number[] = [];
            let v = announced;
            while (v >= 128n) {
              out.push(Number(v & 127n) | 128);
              v >>= 7n;
            }
            out.push(Number(v));
            head = Uint8Array.from(out);
          } else {
            head = new Uint8Array(prefix);
            let v = announced & ((1n << BigInt(8 * prefix)) - 1n);
            for (let k = prefix - 1; k >= 0; k--) {
              head[k] = Number(v & 255n);
              v >>= 8n;
            }
          }
          const errors: LengthPrefixedError[] = [];
          const d = new LengthPrefixedDecoder(
            { onFrame() {}, onError: (e) => errors.push(e as LengthPrefixedError) },
            { prefix, maxLength: 100 },
          );
          d.feed(head);
          d.feed(new Uint8Array(150));
          expect(d.bufferedBytes).toBeLessThanOrEqual(100);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("LengthPrefixedReceiver — configured by plain class fields", () => {
  it('takes `override prefix = 2` and `override endian = "little"` without `as const`', () => {
    class KeyValue extends LengthPrefixedReceiver {
      override prefix = 2;
      override endian = "little";
      readonly got: string[] = [];
      override stringReceived(data: Uint8Array): void {
        this.got.push(Buffer.from(data).toString("latin1"));
      }
    }
    const p = new KeyValue();
    const t = new MemoryTransport();
    p.makeConnection(t);
    p.dataReceived(Uint8Array.of(3, 0, 0x61, 0x62, 0x63, 0, 0));
    expect(p.got).toEqual(["abc", ""]);
    p.sendString("xy");
    expect([...t.value()]).toEqual([2, 0, 0x78, 0x79]);
  });

  it("refuses a bad prefix or byte order when the connection is made, never from dataReceived", () => {
    class Three extends LengthPrefixedReceiver {
      override prefix = 3;
    }
    class Sideways extends LengthPrefixedReceiver {
      override endian = "sideways";
    }
    for (const p of [new Three(), new Sideways()]) {
      expect(() => p.makeConnection(new MemoryTransport())).toThrow(InvalidArgumentError);
    }
  });
});
