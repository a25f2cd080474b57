// The sans-I/O line decoder, the encoder, the stream helpers, and fast-check properties for the
// decoder and both protocols, checked against an independent, naive model of Twisted's loop.
import { once } from "node:events";
import { createServer, connect as netConnect, type Socket } from "node:net";
import { Readable } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../../src/core/errors.js";
import {
  decodeLines,
  decodeTextLines,
  encodeLine,
  LineDecoder,
  type LineDecoderOptions,
  LineLengthExceededError,
  LineOnlyReceiver,
  LineReceiver,
  lineDecoder,
  lineTransform,
  lineTransformStream,
  UnterminatedLineError,
} from "../../../src/protocols/receivers/index.js";
import { chunked, validLines } from "../../../src/testing/arbitraries.js";
import { MemoryTransport } from "../../../src/testing/memory.js";

const enc = new TextEncoder();
const dec = new TextDecoder();
const b = (s: string): Uint8Array => enc.encode(s);
const s = (u: Uint8Array): string => dec.decode(u);

type Outcome = { frames: string[]; error: Error | null };

function decodeChunks(chunks: Uint8Array[], options: LineDecoderOptions = {}, end = true): Outcome {
  const out: Outcome = { frames: [], error: null };
  let afterError = 0;
  const d = new LineDecoder(
    {
      onFrame(f) {
        if (out.error !== null) afterError++;
        out.frames.push(Buffer.from(f).toString("latin1"));
      },
      onError(e) {
        if (out.error !== null) afterError++;
        out.error = e;
      },
    },
    options,
  );
  for (const c of chunks) {
    d.feed(c);
    c.fill(0x5a); // the decoder must not keep views of what it was fed
  }
  if (end) d.end();
  expect(afterError).toBe(0);
  return out;
}

const latin1 = (u: Uint8Array): string => Buffer.from(u).toString("latin1");

/** Naive model of Twisted's LineReceiver loop (concatenate, split on the first delimiter). */
function model(chunks: Uint8Array[], delim: Uint8Array, max: number): Outcome {
  const out: Outcome = { frames: [], error: null };
  let buf = Buffer.alloc(0);
  for (const c of chunks) {
    buf = Buffer.concat([buf, c]);
    for (;;) {
      const i = buf.indexOf(delim);
      if (i < 0) {
        if (buf.length >= max + delim.length) out.error = new Error("exceeded");
        break;
      }
      if (i > max) {
        out.error = new Error("exceeded");
        break;
      }
      out.frames.push(buf.subarray(0, i).toString("latin1"));
      buf = buf.subarray(i + delim.length);
    }
    if (out.error) return out;
  }
  return out;
}

describe("LineDecoder boundaries (section 1.3)", () => {
  const M = 8;
  const cases: [string, string[], string | null][] = [
    ["xxxxxxxx\r\n", ["xxxxxxxx"], null],
    ["xxxxxxxxx\r\n", [], "ERR_LINE_LENGTH_EXCEEDED"],
    ["xxxxxxxx\r", [], "ERR_LINE_UNTERMINATED"],
    ["xxxxxxxxxx", [], "ERR_LINE_LENGTH_EXCEEDED"],
    ["ok\r\nyyyyyyyyy\r\nz\r\n", ["ok"], "ERR_LINE_LENGTH_EXCEEDED"],
    ["\r\n\r\n", ["", ""], null],
    ["a\nb\r\n", ["a\nb"], null],
    ["a\r\rb\r\n\r\n", ["a\r\rb", ""], null],
  ];
  for (const [input, frames, code] of cases) {
    it(`${JSON.stringify(input)} at every packet size 1..9 and every split point`, () => {
      const bytes = b(input);
      const chunkings: Uint8Array[][] = [];
      for (let size = 1; size < 10; size++) {
        const cs: Uint8Array[] = [];
        for (let i = 0; i < bytes.length; i += size) cs.push(bytes.slice(i, i + size));
        chunkings.push(cs);
      }
      for (let cut = 0; cut <= bytes.length; cut++) {
        chunkings.push([bytes.slice(0, cut), bytes.slice(cut)]);
      }
      for (const cs of chunkings) {
        const r = decodeChunks(cs, { maxLength: M });
        expect(r.frames).toEqual(frames);
        expect((r.error as { code?: string } | null)?.code ?? null).toBe(code);
      }
    });
  }

  it("unterminated M+1 bytes wait (could be M bytes + the delimiter's start), M+L fail at once", () => {
    const r1 = decodeChunks([b("x".repeat(M + 1))], { maxLength: M }, false);
    expect(r1.error).toBeNull();
    const r2 = decodeChunks([b("x".repeat(M + 2))], { maxLength: M }, false);
    expect(r2.error).toBeInstanceOf(LineLengthExceededError);
    const e = r2.error as LineLengthExceededError;
    expect(e.code).toBe("ERR_LINE_LENGTH_EXCEEDED");
    expect(e.maxLength).toBe(M);
    expect(e.length).toBe(M + 2);
    expect(e.terminated).toBe(false);
  });

  it("a complete line too long reports its length", () => {
    const r = decodeChunks(
      [b("abc\r\n"), b("x".repeat(20)), b("\r\nmore")],
      { maxLength: M },
      false,
    );
    expect(r.frames).toEqual(["abc"]);
    const e = r.error as LineLengthExceededError;
    expect(e).toBeInstanceOf(LineLengthExceededError);
    expect(e.length).toBeGreaterThanOrEqual(M + 2);
  });

  it("illegal input fed one byte at a time: one error, nothing after, nothing held", () => {
    const errors: Error[] = [];
    const frames: string[] = [];
    const d = new LineDecoder(
      { onFrame: (f) => frames.push(s(f)), onError: (e) => errors.push(e) },
      { maxLength: 4 },
    );
    for (const ch of b("ok\r\ntoolong\r\nok\r\n")) d.feed(Uint8Array.of(ch));
    d.end();
    expect(frames).toEqual(["ok"]);
    expect(errors.length).toBe(1);
    expect(d.failed).toBe(true);
    expect(d.bufferedBytes).toBe(0);
  });

  it("end() reports a partial line, or delivers it with emitUnterminated", () => {
    const r = decodeChunks([b("a\r\nbc")]);
    expect(r.frames).toEqual(["a"]);
    expect(r.error).toBeInstanceOf(UnterminatedLineError);
    expect((r.error as UnterminatedLineError).code).toBe("ERR_LINE_UNTERMINATED");
    expect((r.error as UnterminatedLineError).length).toBe(2);
    const r2 = decodeChunks([b("a\r\nbc")], { emitUnterminated: true });
    expect(r2).toEqual({ frames: ["a", "bc"], error: null });
  });

  it("multi-byte and overlapping delimiters split at every point", () => {
    for (const delim of ["XYZ", "aa", "\r\n\r\n", "|"]) {
      const lines = ["", "one", "a", "two words", ""].map((l) =>
        delim === "aa" ? l.replaceAll("a", "b") : l,
      );
      const bytes = b(lines.map((l) => l + delim).join(""));
      for (let size = 1; size < 10; size++) {
        const cs: Uint8Array[] = [];
        for (let i = 0; i < bytes.length; i += size) cs.push(bytes.slice(i, i + size));
        expect(decodeChunks(cs, { delimiter: delim }).frames, `${delim} / ${size}`).toEqual(lines);
      }
    }
  });

  it("lines inside one chunk are views of it; lines handed out are never overwritten later", () => {
    const seen: Uint8Array[] = [];
    const chunk = b("one\r\ntwo\r\nthr");
    const d = new LineDecoder({ onFrame: (f) => seen.push(f), onError: () => {} });
    d.feed(chunk);
    expect(seen[0]!.buffer).toBe(chunk.buffer);
    d.feed(b("ee\r\nfo"));
    d.feed(b("ur\r\nfive\r\n"));
    expect(seen.map(s)).toEqual(["one", "two", "three", "four", "five"]);
  });

  it("a feed from inside onFrame is queued after the unparsed bytes", () => {
    const frames: string[] = [];
    const d: LineDecoder = new LineDecoder({
      onFrame(f) {
        frames.push(s(f));
        if (s(f) === "inject") d.feed(b("injected\r\n"));
      },
      onError() {},
    });
    d.feed(b("inject\r\nafter\r\n"));
    expect(frames).toEqual(["inject", "after", "injected"]);
  });

  it("end() called from inside onFrame lets the buffered lines out first", () => {
    const frames: string[] = [];
    const errors: Error[] = [];
    const d: LineDecoder = new LineDecoder({
      onFrame(f) {
        frames.push(s(f));
        d.end();
      },
      onError: (e) => errors.push(e),
    });
    d.feed(b("a\r\nb\r\nc"));
    expect(frames).toEqual(["a", "b"]);
    expect(errors.map((e) => (e as UnterminatedLineError).code)).toEqual(["ERR_LINE_UNTERMINATED"]);
  });

  it("rejects an empty delimiter and a bad maxLength", () => {
    const sink = { onFrame() {}, onError() {} };
    expect(() => new LineDecoder(sink, { delimiter: "" })).toThrow(/delimiter/);
    expect(() => new LineDecoder(sink, { maxLength: -1 })).toThrow(InvalidArgumentError);
    expect(() => new LineDecoder(sink, { maxLength: Number.NaN })).toThrow(/maximum line length/);
  });

  it("a long line in tiny chunks is linear (16 MiB in 7-byte chunks)", () => {
    const n = 1 << 24;
    const frames: number[] = [];
    const d = new LineDecoder(
      { onFrame: (f) => frames.push(f.length), onError: () => {} },
      { maxLength: n },
    );
    const big = new Uint8Array(n + 2).fill(0x61);
    big[n] = 13;
    big[n + 1] = 10;
    for (let i = 0; i < big.length; i += 7) d.feed(big.subarray(i, i + 7));
    expect(frames).toEqual([n]);
  });
});

describe("encodeLine", () => {
  it("appends the delimiter; strings are UTF-8", () => {
    expect(s(encodeLine("héllo"))).toBe("héllo\r\n");
    expect(s(encodeLine(b("x"), "\n"))).toBe("x\n");
    expect(s(encodeLine("", "XYZ"))).toBe("XYZ");
    expect(Array.from(encodeLine(Uint8Array.of(0, 255), Uint8Array.of(0)))).toEqual([0, 255, 0]);
  });
});

describe("line properties (fast-check)", () => {
  const delims = ["\r\n", "\n", "XYZ", "aa"];

  it("any chunking of a valid stream yields the same lines", () => {
    for (const delim of delims) {
      fc.assert(
        fc.property(
          validLines(delim).chain((st) => chunked(st.bytes).map((chunks) => ({ st, chunks }))),
          ({ st, chunks }) => {
            const r = decodeChunks(chunks, { delimiter: delim, maxLength: 64 });
            expect(r.error).toBeNull();
            expect(r.frames).toEqual(st.frames.map(latin1));
          },
        ),
        { numRuns: 60 },
      );
    }
  });

  it("encode then decode is the identity", () => {
    fc.assert(
      fc.property(validLines("\r\n"), fc.integer({ min: 1, max: 9 }), (st, size) => {
        const wire = Buffer.concat(st.frames.map((f) => encodeLine(f)));
        const chunks: Uint8Array[] = [];
        for (let i = 0; i < wire.length; i += size) chunks.push(wire.slice(i, i + size));
        expect(decodeChunks(chunks).frames).toEqual(st.frames.map(latin1));
      }),
      { numRuns: 100 },
    );
  });

  const biased = (delim: Uint8Array) =>
    fc
      .array(
        fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(...delim), fc.constant(0x78)),
        {
          maxLength: 120,
        },
      )
      .map((a) => Uint8Array.from(a));

  it("arbitrary bytes: never throws, matches Twisted's loop, ends in lines or exactly one error", () => {
    for (const delim of delims) {
      const d = b(delim);
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 12 }),
          biased(d).chain((bytes) => chunked(bytes).map((chunks) => ({ bytes, chunks }))),
          (max, { chunks }) => {
            const expected = model(
              chunks.map((c) => c.slice()),
              d,
              max,
            );
            let held = 0;
            const got: Outcome = { frames: [], error: null };
            const dc = new LineDecoder(
              {
                onFrame(f) {
                  expect(got.error).toBeNull();
                  got.frames.push(latin1(f));
                },
                onError(e) {
                  expect(got.error).toBeNull();
                  got.error = e;
                },
              },
              { delimiter: delim, maxLength: max },
            );
            for (const c of chunks) {
              dc.feed(c);
              held = Math.max(held, dc.bufferedBytes);
            }
            expect(got.frames).toEqual(expected.frames);
            expect(got.error !== null).toBe(expected.error !== null);
            if (got.error) expect(got.error).toBeInstanceOf(LineLengthExceededError);
            // Memory stays bounded by the limit, whatever the peer sends.
            expect(held).toBeLessThan(max + d.length);
          },
        ),
        { numRuns: 150 },
      );
    }
  });

  it("memory stays bounded by MAX_LENGTH for any endless line", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 1, max: 5000 }),
        (max, size) => {
          const d = new LineDecoder({ onFrame() {}, onError() {} }, { maxLength: max });
          const chunk = new Uint8Array(size).fill(0x41);
          let peak = 0;
          for (let i = 0; i * size < max + 3 + size && !d.failed; i++) {
            d.feed(chunk);
            peak = Math.max(peak, d.bufferedBytes);
          }
          expect(d.failed).toBe(true);
          expect(peak).toBeLessThan(max + 2);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("LineReceiver and LineOnlyReceiver on arbitrary bytes: lines, or one exceeded then closed", () => {
    for (const delim of ["\r\n", "\n"]) {
      const d = b(delim);
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 12 }),
          biased(d).chain((bytes) => chunked(bytes).map((chunks) => ({ bytes, chunks }))),
          (max, { chunks }) => {
            const expected = model(
              chunks.map((c) => c.slice()),
              d,
              max,
            );
            for (const Kind of [LineReceiver, LineOnlyReceiver]) {
              const lines: string[] = [];
              const errors: LineLengthExceededError[] = [];
              let closedBeforeLine = false;
              const record = {
                line(self: { transport: MemoryTransport | undefined }, line: Uint8Array) {
                  if (self.transport?.disconnecting) closedBeforeLine = true;
                  lines.push(latin1(line));
                },
              };
              const p: LineReceiver | LineOnlyReceiver =
                Kind === LineReceiver
                  ? new (class extends LineReceiver {
                      override lineReceived(line: Uint8Array): void {
                        record.line(this as never, line);
                      }
                      override lineLengthExceeded(l: Uint8Array, e: LineLengthExceededError): void {
                        errors.push(e);
                        super.lineLengthExceeded(l, e);
                      }
                    })()
                  : new (class extends LineOnlyReceiver {
                      override lineReceived(line: Uint8Array): void {
                        record.line(this as never, line);
                      }
                      override lineLengthExceeded(l: Uint8Array, e: LineLengthExceededError): void {
                        errors.push(e);
                        super.lineLengthExceeded(l, e);
                      }
                    })();
              p.delimiter = delim;
              p.MAX_LENGTH = max;
              const t = new MemoryTransport();
              p.makeConnection(t);
              for (const c of chunks) {
                p.dataReceived(c.slice());
                // Memory bounded by the limit (nothing is paused here).
                if (!t.disconnecting) expect(p.bufferedBytes).toBeLessThan(max + d.length);
              }
              expect(closedBeforeLine).toBe(false);
              expect(errors.length).toBeLessThanOrEqual(1);
              expect(t.disconnecting).toBe(errors.length === 1);
              if (Kind === LineReceiver) {
                expect(lines).toEqual(expected.frames);
                expect(errors.length === 1).toBe(expected.error !== null);
              } else {
                // LineOnlyReceiver is stricter on partial lines (> M): a prefix of the same lines.
                expect(expected.frames.slice(0, lines.length)).toEqual(lines);
                if (errors.length === 0) expect(lines).toEqual(expected.frames);
              }
              if (errors[0]) expect(errors[0].code).toBe("ERR_LINE_LENGTH_EXCEEDED");
            }
          },
        ),
        { numRuns: 120 },
      );
    }
  });
});

describe("line stream helpers", () => {
  const input = ["héllo wör", "ld\r\nsecond\r", "\n\r\nlast\r\n"].map((x) => Buffer.from(x));
  // Split a UTF-8 character across chunks too.
  const euro = Buffer.from("€uro\r\n");
  const split = [euro.subarray(0, 1), euro.subarray(1, 2), euro.subarray(2)];

  it("decodeLines over any async iterable; decodeTextLines keeps split UTF-8 intact", async () => {
    const out: string[] = [];
    for await (const line of decodeLines(Readable.from([...input, ...split]))) out.push(s(line));
    expect(out).toEqual(["héllo wörld", "second", "", "last", "€uro"]);
    const text: string[] = [];
    for await (const line of decodeTextLines(Readable.from([...input, ...split]))) text.push(line);
    expect(text).toEqual(out);
  });

  it("decodeLines throws the typed error after the lines before it", async () => {
    const out: string[] = [];
    const run = async () => {
      for await (const line of decodeLines(Readable.from([b("ok\nxxxxxxxx\n")]), {
        delimiter: "\n",
        maxLength: 4,
      }))
        out.push(s(line));
    };
    await expect(run()).rejects.toBeInstanceOf(LineLengthExceededError);
    expect(out).toEqual(["ok"]);
  });

  it("decodeTextLines over a real loopback socket (lines and UTF-8 split across writes)", async () => {
    const sockets = new Set<Socket>();
    const server = createServer((sock) => {
      sockets.add(sock);
      const euroBytes = Buffer.from("€\r\n");
      sock.write("héllo\r\nwor");
      setImmediate(() => {
        sock.write(Buffer.concat([Buffer.from("ld\r\n"), euroBytes.subarray(0, 1)]));
        setImmediate(() => sock.end(euroBytes.subarray(1)));
      });
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    try {
      const { port } = server.address() as { port: number };
      const client = netConnect(port, "127.0.0.1");
      sockets.add(client);
      const got: string[] = [];
      for await (const line of decodeTextLines(client)) got.push(line);
      expect(got).toEqual(["héllo", "world", "€"]);
    } finally {
      for (const sock of sockets) sock.destroy();
      await new Promise((r) => server.close(r));
    }
  });

  it("lineTransform (Node Transform)", async () => {
    const t = lineTransform({ copy: true });
    const got: string[] = [];
    t.on("data", (l: Uint8Array) => got.push(s(l)));
    const done = new Promise((resolve) => t.on("end", resolve));
    for (const c of input) t.write(c);
    t.end();
    await done;
    expect(got).toEqual(["héllo wörld", "second", "", "last"]);
  });

  it("lineTransformStream (Web TransformStream)", async () => {
    const ts = lineTransformStream({ delimiter: "\n" });
    const reader = ts.readable.getReader();
    const writer = ts.writable.getWriter();
    const got: string[] = [];
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        got.push(s(value));
      }
    })();
    await writer.write(b("a\nb"));
    await writer.write(b("c\n"));
    await writer.close();
    await reading;
    expect(got).toEqual(["a", "bc"]);
  });

  it("lineDecoder is a DecoderFactory", () => {
    const frames: string[] = [];
    const d = lineDecoder({ delimiter: "\n" })({ onFrame: (f) => frames.push(s(f)), onError() {} });
    d.feed(b("x\ny\n"));
    expect(frames).toEqual(["x", "y"]);
  });
});
