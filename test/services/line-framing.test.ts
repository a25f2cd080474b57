/** The line front-end's own CRLF framing, in memory: every chunking, limits, lone CR/LF. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  TransformLineFactory,
  type TransformLineProtocol,
} from "../../src/services/transform/line.js";
import { TransformService } from "../../src/services/transform/service.js";
import { MemoryTransport } from "../../src/testing/memory.js";

const service = new TransformService();

function connect(maxLineLength = 100): {
  proto: TransformLineProtocol;
  transport: MemoryTransport;
} {
  const factory = new TransformLineFactory(service, { maxLineLength });
  const proto = factory.buildProtocol({
    type: "TCP",
    host: "127.0.0.1",
    port: 1,
  }) as TransformLineProtocol;
  const transport = new MemoryTransport();
  proto.makeConnection(transport);
  return { proto, transport };
}

function feed(chunks: Uint8Array[], maxLineLength?: number): { out: string; closed: boolean } {
  const { proto, transport } = connect(maxLineLength);
  for (const c of chunks) proto.dataReceived(c);
  return { out: transport.text(), closed: transport.disconnecting };
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe("line front-end framing", () => {
  it("a lone CR or LF is part of the line; only CRLF ends it", () => {
    expect(feed([enc("reverse a\rb\nc\r\nupper x\r\n")]).out).toBe("OK c\\nb\\ra\r\nOK X\r\n");
  });

  it("a CRLF split across chunks, and a UTF-8 character split across chunks", () => {
    const bytes = enc("reverse añ😀\r\nupper é\r\n");
    for (let cut = 0; cut <= bytes.length; cut++) {
      expect(feed([bytes.subarray(0, cut), bytes.subarray(cut)]).out).toBe("OK 😀ña\r\nOK É\r\n");
    }
  });

  it("any chunking gives the same replies as one chunk", () => {
    const requests = fc.array(
      fc.tuple(
        fc.constantFrom("upper", "reverse", "nope", "rot13"),
        fc.string({ unit: "grapheme", maxLength: 20 }).filter((t) => !t.includes("\r\n")),
      ),
      { maxLength: 12 },
    );
    fc.assert(
      fc.property(requests, fc.array(fc.nat(), { maxLength: 8 }), (reqs, cuts) => {
        const stream = enc(reqs.map(([n, t]) => `${n} ${t}\r\n`).join(""));
        const whole = feed([stream]).out;
        const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        const chunks: Uint8Array[] = [];
        let at = 0;
        for (const p of points) {
          chunks.push(stream.subarray(at, p));
          at = p;
        }
        chunks.push(stream.subarray(at));
        expect(feed(chunks).out).toBe(whole);
        expect(whole.split("\r\n").length - 1).toBe(reqs.length);
      }),
      { numRuns: 150 },
    );
  });

  it("a long line trickling in byte by byte, then more lines in the same chunk as its end", () => {
    // Only new bytes are searched and the pending part is kept in a doubling buffer: linear cost.
    const long = `upper ${"a".repeat(60_000)}`;
    const { proto, transport } = connect(65_536);
    const bytes = enc(long);
    for (let i = 0; i < bytes.length; i++) proto.dataReceived(bytes.subarray(i, i + 1));
    proto.dataReceived(enc("\r\nreverse ab\r\nupper c"));
    proto.dataReceived(enc("\r"));
    proto.dataReceived(enc("\n"));
    expect(transport.text()).toBe(`OK ${"A".repeat(60_000)}\r\nOK ba\r\nOK C\r\n`);
  });

  it("a complete line over the limit: ERROR, then close, nothing more", () => {
    const r = feed([enc(`upper ${"x".repeat(95)}\r\nupper ok\r\n`)], 100);
    expect(r.out).toBe("ERROR ERR_BAD_REQUEST Line longer than 100 bytes.\r\n");
    expect(r.closed).toBe(true);
  });

  it("a line of exactly the limit is fine", () => {
    expect(feed([enc(`upper ${"x".repeat(94)}\r\n`)], 100).out).toBe(`OK ${"X".repeat(94)}\r\n`);
  });

  it("an unterminated line over the limit closes before buffering more", () => {
    const { proto, transport } = connect(100);
    proto.dataReceived(enc("upper "));
    proto.dataReceived(enc(`${"x".repeat(94)}\r`)); // 100 bytes and a CR: may still end well
    expect(transport.disconnecting).toBe(false);
    proto.dataReceived(enc("\n"));
    expect(transport.text()).toBe(`OK ${"X".repeat(94)}\r\n`);
    transport.clear();
    proto.dataReceived(enc("upper "));
    proto.dataReceived(enc("x".repeat(95))); // 101 bytes, no CR: can no longer fit
    expect(transport.disconnecting).toBe(true);
    expect(transport.text()).toBe("ERROR ERR_BAD_REQUEST Line longer than 100 bytes.\r\n");
  });

  it("invalid UTF-8 in one line does not spoil the others in the same chunk", () => {
    const bad = new Uint8Array([
      ...enc("upper a\r\nupper "),
      0xc3,
      0x28,
      ...enc("\r\nupper b\r\n"),
    ]);
    expect(feed([bad]).out).toBe(
      "OK A\r\nERROR ERR_BAD_REQUEST The request is not valid UTF-8.\r\nOK B\r\n",
    );
  });

  it("arbitrary bytes never throw; every reply is a well-formed line", () => {
    const bytes = fc
      .uint8Array({ maxLength: 300 })
      .map((b) => b.map((x) => (x % 7 === 0 ? 0x0d : x % 11 === 0 ? 0x0a : x)));
    fc.assert(
      fc.property(fc.array(bytes, { maxLength: 6 }), (chunks) => {
        const { out } = feed(chunks, 64);
        if (out === "") return;
        expect(out.endsWith("\r\n")).toBe(true);
        for (const line of out.slice(0, -2).split("\r\n"))
          expect(line).toMatch(/^(OK |ERROR ERR_[A-Z_]+ )/);
      }),
      { numRuns: 200 },
    );
  });

  it("replies to one chunk leave in one write", () => {
    const { proto, transport } = connect();
    const writes: unknown[] = [];
    const write = transport.write.bind(transport);
    transport.write = (d) => {
      writes.push(d);
      write(d);
    };
    proto.dataReceived(enc("upper a\r\nupper b\r\nnope c\r\n"));
    expect(writes).toHaveLength(1);
  });
});
