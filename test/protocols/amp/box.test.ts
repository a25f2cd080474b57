import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import {
  type AmpBox,
  BoxDecoder,
  type BoxDecoderOptions,
  boxDecoder,
  copyBox,
  decodeBoxes,
  encodeBox,
  encodeBoxes,
} from "../../../src/protocols/amp/box.js";
import { BoxTooLarge, MalformedAmpBox, TooLong } from "../../../src/protocols/amp/errors.js";
import { decodeIterable, toNodeTransform } from "../../../src/protocols/framing/streams.js";

/** Hand-written wire bytes: numbers are single bytes, strings are their latin1 bytes. */
function b(...parts: (number | string | Uint8Array)[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === "number") out.push(p);
    else if (typeof p === "string") for (let i = 0; i < p.length; i++) out.push(p.charCodeAt(i));
    else out.push(...p);
  }
  return Uint8Array.from(out);
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const lat = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** A box from [key, value] pairs with string values taken as latin1 bytes. */
function box(...pairs: [string, string | Uint8Array][]): AmpBox {
  return new Map(pairs.map(([k, v]) => [k, typeof v === "string" ? lat(v) : v]));
}

/** Comparable form: keys → hex of values, in insertion order. */
function plain(bx: AmpBox): [string, string][] {
  return [...bx].map(([k, v]) => [k, Buffer.from(v).toString("hex")]);
}
function sortedPlain(bx: AmpBox): [string, string][] {
  return plain(bx).sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
}

interface Outcome {
  boxes: AmpBox[];
  errors: Error[];
  decoder: BoxDecoder;
}

function decodeChunks(chunks: Uint8Array[], opts?: BoxDecoderOptions, end = true): Outcome {
  const boxes: AmpBox[] = [];
  const errors: Error[] = [];
  const decoder = new BoxDecoder(
    {
      // Copy: values are views valid only during onFrame.
      onFrame: (bx) => boxes.push(new Map([...bx].map(([k, v]) => [k, v.slice()]))),
      onError: (e) => errors.push(e),
    },
    opts,
  );
  for (const c of chunks) decoder.feed(c);
  if (end) decoder.end();
  return { boxes, errors, decoder };
}

const v65535 = new Uint8Array(65535).fill(0x61);
const k255 = "k".repeat(255);

// Golden vectors (reference §4.1, Twisted 22.4): [name, box (sorted key order), wire bytes].
const VECTORS: [string, AmpBox, Uint8Array][] = [
  [
    "Sum(a=13, b=81) request",
    box(["_ask", "1"], ["_command", "Sum"], ["a", "13"], ["b", "81"]),
    b(
      0,
      4,
      "_ask",
      0,
      1,
      "1",
      0,
      8,
      "_command",
      0,
      3,
      "Sum",
      0,
      1,
      "a",
      0,
      2,
      "13",
      0,
      1,
      "b",
      0,
      2,
      "81",
      0,
      0,
    ),
  ],
  [
    "Sum answer",
    box(["_answer", "1"], ["total", "94"]),
    b(0, 7, "_answer", 0, 1, "1", 0, 5, "total", 0, 2, "94", 0, 0),
  ],
  [
    "Divide(1, 0) error",
    box(
      ["_error", "1"],
      ["_error_code", "ZERO_DIVISION"],
      ["_error_description", "division by zero"],
    ),
    b(
      0,
      6,
      "_error",
      0,
      1,
      "1",
      0,
      0x0b,
      "_error_code",
      0,
      0x0d,
      "ZERO_DIVISION",
      0,
      0x12,
      "_error_description",
      0,
      0x10,
      "division by zero",
      0,
      0,
    ),
  ],
  [
    "Divide(1, 3) answer",
    box(["_answer", "2"], ["result", "0.3333333333333333"]),
    b(0, 7, "_answer", 0, 1, "2", 0, 6, "result", 0, 0x12, "0.3333333333333333", 0, 0),
  ],
  [
    "unknown command Nope",
    box(
      ["_error", "1"],
      ["_error_code", "UNHANDLED"],
      ["_error_description", "Unhandled Command: b'Nope'"],
    ),
    b(
      0,
      6,
      "_error",
      0,
      1,
      "1",
      0,
      0x0b,
      "_error_code",
      0,
      9,
      "UNHANDLED",
      0,
      0x12,
      "_error_description",
      0,
      0x1a,
      "Unhandled Command: b'Nope'",
      0,
      0,
    ),
  ],
  [
    "Sum(a='x') UNKNOWN",
    box(["_error", "1"], ["_error_code", "UNKNOWN"], ["_error_description", "Unknown Error"]),
    b(
      0,
      6,
      "_error",
      0,
      1,
      "1",
      0,
      0x0b,
      "_error_code",
      0,
      7,
      "UNKNOWN",
      0,
      0x12,
      "_error_description",
      0,
      0x0d,
      "Unknown Error",
      0,
      0,
    ),
  ],
  [
    "Echo('☃')",
    box(["_ask", "a"], ["_command", "Echo"], ["text", enc("☃")]),
    b(
      0,
      4,
      "_ask",
      0,
      1,
      "a",
      0,
      8,
      "_command",
      0,
      4,
      "Echo",
      0,
      4,
      "text",
      0,
      3,
      0xe2,
      0x98,
      0x83,
      0,
      0,
    ),
  ],
  ["startup box foo=bar", box(["foo", "bar"]), b(0, 3, "foo", 0, 3, "bar", 0, 0)],
  ["empty box", new Map(), b(0, 0)],
  ["empty value", box(["k", ""]), b(0, 1, "k", 0, 0, 0, 0)],
  [
    "sort: uppercase < _ < lowercase",
    box(["Z", "1"], ["_", "2"], ["a", "3"]),
    b(0, 1, "Z", 0, 1, "1", 0, 1, "_", 0, 1, "2", 0, 1, "a", 0, 1, "3", 0, 0),
  ],
  [
    "binary key bytes",
    box(["\x00\x01", "x"], ["\xff\xfe", "\x00"]),
    b(0, 2, 0, 1, 0, 1, "x", 0, 2, 0xff, 0xfe, 0, 1, 0, 0, 0),
  ],
  ["key of 255 bytes", box([k255, "v"]), b(0, 0xff, k255, 0, 1, "v", 0, 0)],
  ["value of 65535 bytes", box(["hello", v65535]), b(0, 5, "hello", 0xff, 0xff, v65535, 0, 0)],
];

// test_ParsingRoundTrip values (reference §8.4).
const PARSING_VALUES = [
  "test",
  ": ",
  "test\r",
  "hello\n",
  "test\r\none\r\ntwo",
  "test\r\none\r\n two",
  "blah\r\n\r\ntesttest",
];

describe("BoxDecoder / encodeBox golden vectors", () => {
  for (const [name, bx, bytes] of VECTORS) {
    describe(name, () => {
      it("parses", () => {
        const { boxes, errors } = decodeChunks([bytes]);
        expect(errors).toEqual([]);
        expect(boxes.map(plain)).toEqual([plain(bx)]);
      });
      it("generates, from any key order", () => {
        expect(Buffer.from(encodeBox(bx)).equals(bytes)).toBe(true);
        const reversed = new Map([...bx].reverse());
        expect(Buffer.from(encodeBox(reversed)).equals(bytes)).toBe(true);
        expect(Buffer.from(encodeBox([...reversed])).equals(bytes)).toBe(true);
      });
      it("round-trips", () => {
        const { boxes } = decodeChunks([encodeBox(bx)]);
        expect(boxes.map(plain)).toEqual([plain(bx)]);
      });
      it("parses the same at every split point and byte by byte", () => {
        // Every cut for small vectors; for the big ones, every cut near the pair boundaries.
        const cuts =
          bytes.length < 2000
            ? Array.from({ length: bytes.length + 1 }, (_, i) => i)
            : Array.from({ length: bytes.length + 1 }, (_, i) => i).filter(
                (i) => i < 300 || bytes.length - i < 300 || i % 4099 === 0,
              );
        for (const cut of cuts) {
          const { boxes, errors } = decodeChunks([bytes.slice(0, cut), bytes.slice(cut)]);
          expect(errors).toEqual([]);
          expect(boxes.map(plain)).toEqual([plain(bx)]);
        }
        if (bytes.length < 1000) {
          const { boxes } = decodeChunks([...bytes].map((x) => Uint8Array.of(x)));
          expect(boxes.map(plain)).toEqual([plain(bx)]);
        }
      });
    });
  }

  it("accepts keys in any order (raw_key_order)", () => {
    const bytes = b(
      0,
      1,
      "b",
      0,
      2,
      "81",
      0,
      1,
      "a",
      0,
      2,
      "13",
      0,
      8,
      "_command",
      0,
      3,
      "Sum",
      0,
      4,
      "_ask",
      0,
      1,
      "1",
      0,
      0,
    );
    const { boxes } = decodeChunks([bytes]);
    expect(sortedPlain(boxes[0]!)).toEqual(sortedPlain(VECTORS[0]![1]));
  });

  it("keeps the last value of a duplicate key", () => {
    const { boxes } = decodeChunks([b(0, 1, "k", 0, 1, "1", 0, 1, "k", 0, 1, "2", 0, 0)]);
    expect(plain(boxes[0]!)).toEqual([["k", "32"]]);
    expect(
      Buffer.from(
        encodeBox([
          ["k", lat("1")],
          ["k", lat("2")],
        ]),
      ).equals(b(0, 1, "k", 0, 1, "2", 0, 0)),
    ).toBe(true);
  });

  it("decodes several boxes from one chunk, in order", () => {
    const all = Buffer.concat(VECTORS.map((v) => v[2]));
    const { boxes, errors } = decodeChunks([all]);
    expect(errors).toEqual([]);
    expect(boxes.map(plain)).toEqual(VECTORS.map((v) => plain(v[1])));
    expect(Buffer.from(encodeBoxes(VECTORS.map((v) => v[1]))).equals(all)).toBe(true);
  });

  it("receiveBoxStateMachine: strings hello, world, '' make one box", () => {
    const { boxes } = decodeChunks([b(0, 5, "hello"), b(0, 5, "world"), b(0, 0)]);
    expect(plain(boxes[0]!)).toEqual([["hello", Buffer.from("world").toString("hex")]]);
  });

  it("ParsingRoundTrip: values with CR/LF survive in 8 key combinations", () => {
    const keys = ["k", "K", "key", "_k", "x-y", "a b", "\r\n", "\x00"];
    for (const key of keys) {
      const bx = new Map(PARSING_VALUES.map((v, i) => [`${key}${i}`, lat(v)]));
      const bytes = encodeBox(bx);
      for (let cut = 0; cut <= bytes.length; cut += 3) {
        const { boxes } = decodeChunks([bytes.slice(0, cut), bytes.slice(cut)]);
        expect(sortedPlain(boxes[0]!)).toEqual(sortedPlain(bx));
      }
    }
  });
});

describe("BoxDecoder errors", () => {
  const cases: [string, Uint8Array[], number][] = [
    ["firstBoxFirstKeyExcessiveLength", [b(1, 0)], 0],
    ["firstBoxSubsequentKeyExcessiveLength", [b(0, 1, "k", 0, 1, "v"), b(1, 0)], 0],
    ["subsequentBoxFirstKeyExcessiveLength", [b(0, 1, "k", 0, 1, "v", 0, 0), b(1, 0)], 1],
    ["key length 0xffff", [b(0xff, 0xff, "more")], 0],
    ["key length 256 split across chunks", [b(0, 1, "k", 0, 1, "v", 1), b(0)], 0],
  ];
  for (const [name, chunks, delivered] of cases) {
    it(`${name} → TooLong(isKey, remote), after ${delivered} box(es)`, () => {
      const { boxes, errors, decoder } = decodeChunks([...chunks, b(0, 1, "x", 0, 0, 0, 0)]);
      expect(boxes.length).toBe(delivered);
      expect(errors.length).toBe(1);
      const e = errors[0] as TooLong;
      expect(e).toBeInstanceOf(TooLong);
      expect(e.code).toBe("ERR_AMP_TOO_LONG");
      expect(e.isKey).toBe(true);
      expect(e.isLocal).toBe(false);
      expect(e.value).toBeNull();
      expect(e.keyName).toBeNull();
      expect(e.message).toMatch(/^remote key too long: \d+$/);
      expect(decoder.failed).toBe(true);
      expect(decoder.bufferedBytes).toBe(0);
    });
  }

  it("input ending inside a box → MalformedAmpBox at end()", () => {
    for (const tail of [
      b(0),
      b(0, 1),
      b(0, 1, "k"),
      b(0, 1, "k", 0),
      b(0, 1, "k", 0, 2, "v"),
      b(0, 1, "k", 0, 1, "v"),
    ]) {
      const { boxes, errors, decoder } = decodeChunks([b(0, 1, "a", 0, 0, 0, 0), tail]);
      expect(boxes.length).toBe(1);
      expect(errors.length).toBe(1);
      expect(errors[0]).toBeInstanceOf(MalformedAmpBox);
      expect((errors[0] as MalformedAmpBox).code).toBe("ERR_AMP_MALFORMED_BOX");
      expect(decoder.failed).toBe(true);
    }
  });

  it("end() between boxes is clean", () => {
    const { errors, decoder } = decodeChunks([b(0, 1, "a", 0, 0, 0, 0)]);
    expect(errors).toEqual([]);
    expect(decoder.failed).toBe(false);
  });

  it("maxKeys → BoxTooLarge, checked per pair", () => {
    const three = b(0, 1, "a", 0, 0, 0, 1, "b", 0, 0, 0, 1, "c", 0, 0, 0, 0);
    expect(decodeChunks([three], { maxKeys: 3 }).errors).toEqual([]);
    for (const chunks of [[three], [...three].map((x) => Uint8Array.of(x))]) {
      const { boxes, errors } = decodeChunks(chunks, { maxKeys: 2 });
      expect(boxes).toEqual([]);
      expect(errors.length).toBe(1);
      const e = errors[0] as BoxTooLarge;
      expect(e).toBeInstanceOf(BoxTooLarge);
      expect(e.code).toBe("ERR_AMP_BOX_TOO_LARGE");
      expect(e.limit).toBe("maxKeys");
    }
  });

  it("maxBoxBytes → BoxTooLarge as soon as the value length is known", () => {
    // 4 + 1 + 10 + 2 = 17 wire bytes.
    const head = b(0, 1, "k", 0, 10);
    expect(decodeChunks([head, new Uint8Array(10), b(0, 0)], { maxBoxBytes: 17 }).errors).toEqual(
      [],
    );
    for (const chunks of [[head], [b(0, 1, "k"), b(0, 10)]]) {
      const { errors, decoder } = decodeChunks(chunks, { maxBoxBytes: 16 }, false);
      expect(errors.length).toBe(1);
      expect((errors[0] as BoxTooLarge).limit).toBe("maxBoxBytes");
      expect(decoder.bufferedBytes).toBe(0);
    }
  });

  it("ignores input after an error and reports nothing more", () => {
    const { boxes, errors } = decodeChunks([b(1, 0), b(0, 1, "a", 0, 0, 0, 0), b(0)]);
    expect(boxes).toEqual([]);
    expect(errors.length).toBe(1);
  });

  it("decodeBoxes throws the decoder's typed error", () => {
    expect(decodeBoxes(b(0, 1, "a", 0, 0, 0, 0, 0, 0)).map(plain)).toEqual([[["a", ""]], []]);
    expect(() => decodeBoxes(b(0, 1, "a"))).toThrow(MalformedAmpBox);
    expect(() => decodeBoxes(b(2, 0))).toThrow(TooLong);
  });
});

describe("BoxDecoder memory", () => {
  it("gives values as views into the chunk when the box fits in it", () => {
    const chunk = b(0, 1, "k", 0, 3, "abc", 0, 0);
    let seen: Uint8Array | undefined;
    const d = new BoxDecoder({ onFrame: (bx) => (seen = bx.get("k")), onError: () => {} });
    d.feed(chunk);
    expect(seen!.buffer).toBe(chunk.buffer);
    expect(Buffer.from(seen!).toString()).toBe("abc");
  });

  it("keeps no reference to a chunk after feed returns (straddling boxes are copied)", () => {
    const bytes = b(0, 1, "a", 0, 3, "one", 0, 1, "b", 0, 3, "two", 0, 1, "c", 0, 5, "three", 0, 0);
    for (let cut = 1; cut < bytes.length; cut++) {
      const first = bytes.slice(0, cut);
      const second = bytes.slice(cut);
      const boxes: AmpBox[] = [];
      const d = new BoxDecoder({ onFrame: (bx) => boxes.push(bx), onError: () => {} });
      d.feed(first);
      first.fill(0x58); // a caller reusing its read buffer
      d.feed(second);
      expect(sortedPlain(boxes[0]!)).toEqual(
        sortedPlain(box(["a", "one"], ["b", "two"], ["c", "three"])),
      );
      for (const v of boxes[0]!.values()) expect(v.buffer === first.buffer).toBe(false);
    }
  });

  it("reports bufferedBytes and lets go of them after each box", () => {
    const d = new BoxDecoder({ onFrame: () => {}, onError: () => {} });
    d.feed(b(0, 1, "k", 0, 3, "abc", 0, 1));
    expect(d.bufferedBytes).toBe(10);
    d.feed(b("z", 0, 0));
    expect(d.bufferedBytes).toBe(13);
    d.feed(b(0, 0));
    expect(d.bufferedBytes).toBe(0);
  });

  it("decodes a box of many 65535-byte values fed in 1000-byte chunks in linear time", () => {
    const bx = new Map(
      Array.from({ length: 40 }, (_, i) => [`v${i}`, new Uint8Array(65535).fill(i)]),
    );
    const bytes = encodeBox(bx);
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i += 1000) chunks.push(bytes.subarray(i, i + 1000));
    // 2.6 MB: over the default 1 MiB box limit, which such peers raise on both sides.
    expect(decodeChunks(chunks).errors[0]).toBeInstanceOf(BoxTooLarge);
    const { boxes, errors } = decodeChunks(chunks, { maxBoxBytes: 4 * 1024 * 1024 });
    expect(errors).toEqual([]);
    expect(boxes.length).toBe(1);
    expect(boxes[0]!.get("v39")![65534]).toBe(39);
  });
});

describe("copyBox", () => {
  it("detaches values, even Node Buffers (whose slice() is a view)", () => {
    const v = Buffer.from("value");
    const copy = copyBox(new Map([["k", v]]));
    v.fill(0);
    expect(Buffer.from(copy.get("k")!).toString()).toBe("value");
  });
});

describe("encodeBox errors (checked before anything is produced)", () => {
  it("keyTooLong: a key of 256 bytes → TooLong(isKey, isLocal, value = key)", () => {
    const key = "H".repeat(256);
    let err: unknown;
    try {
      encodeBox(new Map([[key, lat("hello")]]));
    } catch (e) {
      err = e;
    }
    const e = err as TooLong;
    expect(e).toBeInstanceOf(TooLong);
    expect(e.code).toBe("ERR_AMP_TOO_LONG");
    expect(e.isKey).toBe(true);
    expect(e.isLocal).toBe(true);
    expect(e.keyName).toBeNull();
    expect(Buffer.from(e.value!).toString()).toBe(key);
    expect(e.message).toBe("local key too long: 256");
  });

  it("valueTooLong: a value of 65536 bytes → TooLong(value, isLocal, keyName)", () => {
    const value = new Uint8Array(65536);
    let err: unknown;
    try {
      encodeBox([
        ["a", lat("fine")],
        ["hello", value],
      ]);
    } catch (e) {
      err = e;
    }
    const e = err as TooLong;
    expect(e).toBeInstanceOf(TooLong);
    expect(e.isKey).toBe(false);
    expect(e.isLocal).toBe(true);
    expect(e.keyName).toBe("hello");
    expect(e.value).toBe(value);
    expect(e.message).toBe("local value b'hello' too long: 65536");
  });

  it("refuses an empty key, a non-latin1 key and a non-bytes value", () => {
    expect(() => encodeBox(new Map([["", lat("x")]]))).toThrow(MalformedAmpBox);
    expect(() => encodeBox(new Map([["☃", lat("x")]]))).toThrow(MalformedAmpBox);
    expect(() => encodeBox(new Map([["k", "text" as unknown as Uint8Array]]))).toThrow(
      MalformedAmpBox,
    );
    expect(() => encodeBoxes([box(["k", "v"]), new Map([["", lat("x")]])])).toThrow(
      MalformedAmpBox,
    );
  });
});

describe("stream adapters", () => {
  const bytes = Buffer.concat(VECTORS.slice(0, 8).map((v) => v[2]));
  const pieces = (): Uint8Array[] => [
    bytes.subarray(0, 7),
    bytes.subarray(7, 100),
    bytes.subarray(100),
  ];

  it("decodeIterable(boxDecoder(), source) yields the boxes, then throws the typed error", async () => {
    const got: AmpBox[] = [];
    for await (const bx of decodeIterable(boxDecoder(), Readable.from(pieces())))
      got.push(copyBox(bx));
    expect(got.map(plain)).toEqual(VECTORS.slice(0, 8).map((v) => plain(v[1])));
    const bad = async () => {
      for await (const _ of decodeIterable(
        boxDecoder(),
        Readable.from([b(0, 1, "a", 0, 0, 0, 0), b(3, 0)]),
      )) {
        // drain
      }
    };
    await expect(bad()).rejects.toBeInstanceOf(TooLong);
  });

  it("toNodeTransform(boxDecoder({ maxKeys })) applies the options", async () => {
    const t = toNodeTransform(boxDecoder({ maxKeys: 1 }));
    const got: AmpBox[] = [];
    const done = new Promise<Error | null>((resolve) => {
      t.on("data", (bx: AmpBox) => got.push(bx));
      t.on("error", (e) => resolve(e));
      t.on("end", () => resolve(null));
    });
    t.end(b(0, 1, "a", 0, 0, 0, 0, 0, 1, "a", 0, 0, 0, 1, "b", 0, 0, 0, 0));
    const err = await done;
    expect(got.length).toBe(1);
    expect(err).toBeInstanceOf(BoxTooLarge);
  });
});
