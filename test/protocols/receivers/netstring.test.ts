import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { WeftError } from "../../../src/core/errors.js";
import {
  encodeNetstring,
  NetstringDecoder,
  NetstringParseError,
  NetstringReceiver,
} from "../../../src/protocols/receivers/index.js";
import { chunked, malformedNetstrings, validNetstrings } from "../../../src/testing/arbitraries.js";
import { MemoryTransport } from "../../../src/testing/memory.js";
import { collectGarbage } from "../../helpers/gc.js";

/** Twisted's StringTransport, counting transport calls. */
class FakeTransport extends MemoryTransport {
  writeCalls = 0;
  override write(data: Uint8Array | string): void {
    this.writeCalls++;
    super.write(data);
  }
  override writeSequence(data: Iterable<Uint8Array | string>): void {
    this.writeCalls++;
    for (const d of data) super.write(d);
  }
}

const b = (s: string): Uint8Array => Buffer.from(s, "latin1");
const str = (u: Uint8Array): string => Buffer.from(u).toString("latin1");

/** Twisted's TestNetstring: records strings (copies) and errors. */
class Recorder extends NetstringReceiver {
  received: string[] = [];
  errors: NetstringParseError[] = [];
  override stringReceived(data: Uint8Array): void {
    this.received.push(str(data));
  }
  override framingError(error: NetstringParseError): void {
    this.errors.push(error);
    super.framingError(error);
  }
}

function connect(maxLength = 50): { p: Recorder; t: FakeTransport } {
  const p = new Recorder();
  p.MAX_LENGTH = maxLength;
  const t = new FakeTransport();
  p.makeConnection(t);
  return { p, t };
}

function feedBytewise(p: NetstringReceiver, data: Uint8Array): void {
  for (let i = 0; i < data.length; i++) p.dataReceived(data.subarray(i, i + 1));
}

function feedPackets(p: NetstringReceiver, data: Uint8Array, size: number): void {
  for (let i = 0; i < data.length; i += size) p.dataReceived(data.slice(i, i + size));
}

/** Decodes with the sans-I/O decoder: frames (copies) and errors. */
function decode(chunks: Uint8Array[], maxLength = 99999, end = false) {
  const frames: string[] = [];
  const errors: NetstringParseError[] = [];
  const d = new NetstringDecoder(
    { onFrame: (f) => frames.push(str(f)), onError: (e) => errors.push(e as NetstringParseError) },
    { maxLength },
  );
  for (const c of chunks) d.feed(c);
  if (end) d.end();
  return { frames, errors, d };
}

describe("NetstringReceiver — Twisted's conformance tests (test_basic.py)", () => {
  const illegal = [
    "9999999999999999999999",
    "abc",
    "4:abcde",
    "51:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab,",
  ];
  for (const s of illegal) {
    it(`test_illegal: ${JSON.stringify(s.slice(0, 12))} fed one byte at a time closes`, () => {
      const { p, t } = connect(50);
      feedBytewise(p, b(s));
      expect(t.disconnecting).toBe(true);
      expect(p.brokenPeer).toBe(true);
      expect(p.received).toEqual([]);
      expect(p.errors).toHaveLength(1);
    });
  }

  it("test_buffer: strings sent with sendString come back for every packet size 1..9", () => {
    const strings = ["hello", "world", "how", "are", "you123", ":today", "a".repeat(515)];
    const sender = connect(699);
    for (const s of strings) sender.p.sendString(b(s));
    const wire = sender.t.value();
    for (let size = 1; size <= 9; size++) {
      const { p, t } = connect(699);
      feedPackets(p, wire, size);
      expect(p.received, `packet size ${size}`).toEqual(strings);
      expect(t.disconnecting).toBe(false);
    }
  });

  const ok: Array<[string, string, string[]]> = [
    ["test_receiveEmptyNetstring", "0:,", [""]],
    ["test_receiveOneCharacter", "1:a,", ["a"]],
    ["test_receiveTwoCharacters", "2:ab,", ["ab"]],
    ["test_receiveNestedNetstring", "4:1:a,,", ["1:a,"]],
  ];
  for (const [name, input, expected] of ok) {
    it(`${name}: ${input}`, () => {
      const { p, t } = connect();
      p.dataReceived(b(input));
      expect(p.received).toEqual(expected);
      expect(t.disconnecting).toBe(false);
    });
  }

  const bad: Array<[string, string, string]> = [
    ["test_moreDataThanSpecified", "2:aaa,", "missing comma"],
    ["test_moreDataThanSpecifiedBorderCase", "0:a,", "missing comma"],
    ["test_missingNumber", ":aaa,", "non-digit length"],
    ["test_missingColon", "3aaa,", "missing colon"],
    ["test_missingNumberAndColon", "aaa,", "non-digit length"],
    ["test_onlyData", "aaa", "non-digit length"],
  ];
  for (const [name, input, kind] of bad) {
    it(`${name}: ${input} closes the connection (${kind})`, () => {
      const { p, t } = connect();
      p.dataReceived(b(input));
      expect(t.disconnecting).toBe(true);
      expect(p.received).toEqual([]);
      expect(p.errors.map((e) => e.kind)).toEqual([kind]);
    });
  }

  it("test_receiveNetstringPortions_1: 4:aa + aa,", () => {
    const { p } = connect();
    p.dataReceived(b("4:aa"));
    p.dataReceived(b("aa,"));
    expect(p.received).toEqual(["aaaa"]);
  });

  it("test_receiveNetstringPortions_2: the length split across chunks", () => {
    const { p } = connect();
    for (const part of ["1", "0:01234", "56789", ","]) p.dataReceived(b(part));
    expect(p.received).toEqual(["0123456789"]);
  });

  it("test_receiveNetstringPortions_3: 2, :, a, b, ,", () => {
    const { p } = connect();
    for (const part of ["2", ":", "a", "b", ","]) p.dataReceived(b(part));
    expect(p.received).toEqual(["ab"]);
  });

  it("test_receiveTwoNetstrings: 1:a,1 then :b,", () => {
    const { p } = connect();
    p.dataReceived(b("1:a,1"));
    expect(p.received).toEqual(["a"]);
    p.dataReceived(b(":b,"));
    expect(p.received).toEqual(["a", "b"]);
  });

  it("test_maxReceiveLimit (as on Python 3): 51 NUL bytes close the connection", () => {
    const { p, t } = connect(50);
    p.dataReceived(new Uint8Array(51));
    expect(t.disconnecting).toBe(true);
    expect(p.errors[0]?.kind).toBe("non-digit length");
  });

  it("test_maxReceiveLimit (as intended): length 51 with MAX_LENGTH 50 closes", () => {
    const { p, t } = connect(50);
    p.dataReceived(b("51:"));
    expect(t.disconnecting).toBe(true);
    expect(p.errors[0]?.kind).toBe("length too long");
    expect(p.errors[0]?.offset).toBe(1);
  });

  it("test_consumeLength: 12: with MAX_LENGTH 12 waits for 13 bytes", () => {
    const { p, t } = connect(12);
    p.dataReceived(b("12:"));
    expect(t.disconnecting).toBe(false);
    p.dataReceived(b("abcdefghijkl"));
    expect(p.received).toEqual([]);
    p.dataReceived(b(","));
    expect(p.received).toEqual(["abcdefghijkl"]);
  });

  it("test_consumeLengthBorderCase: 12: with MAX_LENGTH 11 is an error", () => {
    const { p, t } = connect(11);
    p.dataReceived(b("12:"));
    expect(t.disconnecting).toBe(true);
    expect(p.errors[0]?.kind).toBe("length too long");
  });

  it("test_consumeLengthBorderCase3: 1000: with MAX_LENGTH 11 is an error", () => {
    const { p, t } = connect(11);
    p.dataReceived(b("1000:"));
    expect(t.disconnecting).toBe(true);
    expect(p.errors[0]?.kind).toBe("length too long");
  });
});

describe("NetstringDecoder — grammar (reference section 2.1)", () => {
  const accepted: Array<[string, string[]]> = [
    ["0:,", [""]],
    ["4:1:a,,", ["1:a,"]],
    ["1:a,1:b,", ["a", "b"]],
    ["3:\x00:,,", ["\x00:,"]],
  ];
  for (const [input, frames] of accepted) {
    it(`accepts ${JSON.stringify(input)}`, () => {
      for (let size = 1; size <= 9; size++) {
        const chunks: Uint8Array[] = [];
        for (let i = 0; i < input.length; i += size) chunks.push(b(input.slice(i, i + size)));
        const r = decode(chunks, 99999, true);
        expect(r.frames).toEqual(frames);
        expect(r.errors).toEqual([]);
      }
    });
  }

  const rejected: Array<[string, string, number]> = [
    ["01:a,", "leading zero", 1],
    ["00:,", "leading zero", 1],
    ["0000", "leading zero", 1],
    [" 1:a,", "non-digit length", 0],
    ["1 :a,", "missing colon", 1],
    ["1:a ,", "missing comma", 3],
    ["+1:a,", "non-digit length", 0],
    ["-1:a,", "non-digit length", 0],
    [":a,", "non-digit length", 0],
    ["abc", "non-digit length", 0],
    ["abc:", "non-digit length", 0],
    ["aaa,", "non-digit length", 0],
    ["3aaa,", "missing colon", 1],
    ["2:aaa,", "missing comma", 4],
    ["0:a,", "missing comma", 2],
    ["4:abcde", "missing comma", 6],
    ["1:a,garbage", "non-digit length", 4],
  ];
  for (const [input, kind, offset] of rejected) {
    it(`rejects ${JSON.stringify(input)}: ${kind} at byte ${offset}, whatever the chunking`, () => {
      for (let size = 1; size <= 9; size++) {
        const chunks: Uint8Array[] = [];
        for (let i = 0; i < input.length; i += size) chunks.push(b(input.slice(i, i + size)));
        const r = decode(chunks);
        expect(r.errors).toHaveLength(1);
        const e = r.errors[0]!;
        expect(e).toBeInstanceOf(NetstringParseError);
        expect(e).toBeInstanceOf(WeftError);
        expect(e.code).toBe("ERR_NETSTRING_PARSE");
        expect(e.kind).toBe(kind);
        expect(e.offset).toBe(offset);
        expect(e.message).toContain(`at byte ${offset}`);
        expect(e.message).toContain(kind);
        expect(r.d.failed).toBe(true);
        expect(r.d.bufferedBytes).toBe(0);
      }
    });
  }

  it("1:a waits without error; end() then reports truncation", () => {
    const r = decode([b("1:a")]);
    expect(r.errors).toEqual([]);
    expect(r.d.bufferedBytes).toBe(1);
    r.d.end();
    expect(r.errors.map((e) => [e.kind, e.offset])).toEqual([["truncated", 3]]);
  });

  it("end() at a frame boundary is clean", () => {
    const r = decode([b("1:a,")], 99999, true);
    expect(r.errors).toEqual([]);
    expect(r.frames).toEqual(["a"]);
  });

  it("frames before a bad one in the same chunk are delivered, nothing after", () => {
    const r = decode([b("1:a,2:bc,x1:d,")]);
    expect(r.frames).toEqual(["a", "bc"]);
    expect(r.errors.map((e) => e.kind)).toEqual(["non-digit length"]);
    const more = decode([b("1:a,x")]);
    more.d.feed(b("1:z,"));
    more.d.end();
    expect(more.frames).toEqual(["a"]);
    expect(more.errors).toHaveLength(1);
  });
});

describe("NetstringDecoder — the length checked digit by digit (reference section 2.2)", () => {
  function errorAt(input: string, maxLength: number): [string, number] | null {
    const r = decode(
      Array.from(b(input), (x) => Uint8Array.of(x)),
      maxLength,
    );
    const e = r.errors[0];
    return e ? [e.kind, e.offset] : null;
  }

  it("MAX 99999: 100000 fails on its 6th byte, 99999: is accepted", () => {
    expect(errorAt("100000", 99999)).toEqual(["length too long", 5]);
    expect(errorAt("99999:", 99999)).toBeNull();
  });

  it("MAX 50: 51 fails on its 2nd byte, so does 9999999999999999999999", () => {
    expect(errorAt("51", 50)).toEqual(["length too long", 1]);
    expect(errorAt("9999999999999999999999", 50)).toEqual(["length too long", 1]);
    expect(errorAt("50:", 50)).toBeNull();
  });

  it("MAX_LENGTH 0 accepts only 0:,", () => {
    expect(decode([b("0:,0:,")], 0).frames).toEqual(["", ""]);
    expect(errorAt("1", 0)).toEqual(["length too long", 0]);
    expect(errorAt("0:a", 0)).toEqual(["missing comma", 2]);
  });

  it("an announced length is never buffered beyond MAX_LENGTH + 1 bytes", () => {
    const r = decode([b("99999:")]);
    r.d.feed(new Uint8Array(99999));
    expect(r.d.bufferedBytes).toBeLessThanOrEqual(99999 + 1);
    r.d.feed(b(","));
    expect(r.frames).toHaveLength(1);
    expect(r.d.bufferedBytes).toBe(0);
  });

  it("rejects a maxLength that is not a non-negative safe integer", () => {
    const sink = { onFrame() {}, onError() {} };
    expect(() => new NetstringDecoder(sink, { maxLength: -1 })).toThrow(WeftError);
    expect(() => new NetstringDecoder(sink, { maxLength: 1.5 })).toThrow(/maxLength/);
  });
});

describe("NetstringDecoder — views and copies", () => {
  it("frames inside one chunk are views of it; frames across chunks are copies", () => {
    const chunk = b("3:abc,2:x");
    const frames: Uint8Array[] = [];
    const d = new NetstringDecoder({ onFrame: (f) => frames.push(f), onError() {} });
    d.feed(chunk);
    expect(frames[0]!.buffer).toBe(chunk.buffer);
    chunk.fill(0x3f); // the caller reuses its chunk: the partial frame was copied
    d.feed(b("y,"));
    expect(str(frames[1]!)).toBe("xy");
    expect(frames[1]!.buffer).not.toBe(chunk.buffer);
    expect(d.bufferedBytes).toBe(0);
  });

  it("holds no reference to consumed input after delivering a frame", async () => {
    const d = new NetstringDecoder({ onFrame() {}, onError() {} });
    // In a plain function so no suspended async frame keeps the chunk alive.
    const feedOne = (): WeakRef<ArrayBuffer> => {
      const chunk = new Uint8Array(1 << 20);
      chunk.set(b("5:abcde,3:x"), 0);
      d.feed(chunk.subarray(0, 11));
      return new WeakRef(chunk.buffer);
    };
    const ref = feedOne();
    await collectGarbage();
    expect(ref.deref()).toBeUndefined();
    expect(d.bufferedBytes).toBe(1);
  });
});

describe("NetstringReceiver — weft specifics", () => {
  it("stops delivering once the app called loseConnection (divergence from Twisted)", () => {
    class Closer extends Recorder {
      override stringReceived(data: Uint8Array): void {
        super.stringReceived(data);
        this.transport.loseConnection();
      }
    }
    const p = new Closer();
    const t = new FakeTransport();
    p.makeConnection(t);
    p.dataReceived(b("1:a,1:b,1:c,"));
    expect(p.received).toEqual(["a"]);
    p.dataReceived(b("1:d,"));
    expect(p.received).toEqual(["a"]);
  });

  it("nothing is delivered after a parse error, even if more data is fed", () => {
    const { p, t } = connect();
    p.dataReceived(b("1:a,x"));
    p.dataReceived(b("1:b,"));
    expect(p.received).toEqual(["a"]);
    expect(p.errors).toHaveLength(1);
    expect(t.disconnecting).toBe(true);
  });

  it("sendString writes header, payload and comma in one call; strings are UTF-8", () => {
    const { p, t } = connect();
    p.sendString("héllo");
    expect(Buffer.from(t.value())).toEqual(Buffer.from("6:héllo,"));
    expect(t.writeCalls).toBe(1);
    t.clear();
    t.writeCalls = 0;
    const big = new Uint8Array(10000).fill(0x41);
    p.sendString(big);
    expect(t.writeCalls).toBe(1);
    expect(Buffer.from(t.value())).toEqual(
      Buffer.concat([Buffer.from("10000:"), big, Buffer.from(",")]),
    );
  });

  it("encodeNetstring builds <len>:<data>,", () => {
    expect(str(encodeNetstring(""))).toBe("0:,");
    expect(str(encodeNetstring(b("1:a,")))).toBe("4:1:a,,");
  });

  it("pauseProducing holds frames until resumeProducing (an addition to Twisted)", () => {
    class Pauser extends Recorder {
      override stringReceived(data: Uint8Array): void {
        super.stringReceived(data);
        if (str(data) === "pause") this.pauseProducing();
      }
    }
    const p = new Pauser();
    const t = new FakeTransport();
    p.makeConnection(t);
    p.dataReceived(b("1:a,5:pause,1:b,1:"));
    expect(p.received).toEqual(["a", "pause"]);
    expect(t.producerState).toBe("paused");
    p.dataReceived(b("c,"));
    expect(p.received).toEqual(["a", "pause"]);
    p.resumeProducing();
    expect(t.producerState).toBe("producing");
    expect(p.received).toEqual(["a", "pause", "b", "c"]);
  });
});

describe("NetstringDecoder — properties", () => {
  it("any chunking of a valid stream yields the frames of the one-chunk parse", () => {
    fc.assert(
      fc.property(
        validNetstrings().chain((s) => chunked(s.bytes).map((chunks) => ({ s, chunks }))),
        ({ s, chunks }) => {
          const frames: Uint8Array[] = [];
          const d = new NetstringDecoder({
            onFrame: (f) => frames.push(f.slice()),
            onError: (e) => {
              throw e;
            },
          });
          for (const c of chunks) {
            d.feed(c);
            c.fill(0xee); // overwritten after feeding: the decoder must not rely on it
          }
          d.end();
          expect(frames).toEqual(s.frames);
          expect(d.bufferedBytes).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("encode then decode is the identity", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (payload) => {
        const r: Uint8Array[] = [];
        const d = new NetstringDecoder({ onFrame: (f) => r.push(f.slice()), onError() {} });
        d.feed(encodeNetstring(payload));
        expect(r).toEqual([payload]);
      }),
      { numRuns: 200 },
    );
  });

  it("arbitrary bytes end in frames or exactly one typed error, then a closed connection", () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc
        .array(fc.constantFrom(..."0123456789:,a".split("")), { maxLength: 40 })
        .map((cs) => b(cs.join(""))),
    );
    fc.assert(
      fc.property(
        bytes.chain((x) => chunked(x).map((chunks) => ({ x, chunks }))),
        ({ chunks }) => {
          const { p, t } = connect(20);
          for (const c of chunks) expect(() => p.dataReceived(c)).not.toThrow();
          expect(p.errors.length).toBeLessThanOrEqual(1);
          if (p.errors.length === 1) {
            expect(p.errors[0]).toBeInstanceOf(NetstringParseError);
            expect(t.disconnecting).toBe(true);
            const n = p.received.length;
            p.dataReceived(b("1:z,"));
            expect(p.received).toHaveLength(n);
          } else {
            expect(t.disconnecting).toBe(false);
          }
          expect(p.bufferedBytes).toBeLessThanOrEqual(20 + 2);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("malformed streams give the expected frames, error kind and offset, then close", () => {
    fc.assert(
      fc.property(
        malformedNetstrings({ maxLength: 50 }).chain((m) =>
          chunked(m.bytes).map((chunks) => ({ m, chunks })),
        ),
        ({ m, chunks }) => {
          const { p, t } = connect(50);
          for (const c of chunks) p.dataReceived(c);
          if (m.error === "truncated") {
            expect(p.errors).toEqual([]);
          }
          const r = decode(chunks, 50, true);
          expect(r.frames).toEqual(m.frames.map(str));
          expect(r.errors.map((e) => [e.kind, e.offset])).toEqual([[m.error, m.offset]]);
          if (m.error !== "truncated") {
            expect(p.received).toEqual(m.frames.map(str));
            expect(t.disconnecting).toBe(true);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("memory stays bounded by MAX_LENGTH whatever length a peer announces", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 30n }),
        fc.uint8Array({ maxLength: 200 }),
        (announced, body) => {
          const r = decode([b(`${announced}:`), body], 100);
          expect(r.d.bufferedBytes).toBeLessThanOrEqual(100);
          if (announced > 100n) expect(r.errors[0]?.kind).toBe("length too long");
        },
      ),
      { numRuns: 200 },
    );
  });
});
