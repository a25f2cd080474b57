// LineReceiver / LineOnlyReceiver conformance: every case of section 8.1 of the reference
// (Twisted's protocols/test/test_basic.py), written fresh, plus the boundaries of 1.2–1.6.
import { describe, expect, it } from "vitest";
import { Clock } from "../../../src/core/clock.js";
import { NotImplementedError } from "../../../src/core/errors.js";
import type { Producer } from "../../../src/core/interfaces.js";
import {
  LineLengthExceededError,
  LineOnlyReceiver,
  LineReceiver,
} from "../../../src/protocols/receivers/index.js";
import { MemoryTransport } from "../../../src/testing/memory.js";

const enc = new TextEncoder();
const dec = new TextDecoder();
const b = (s: string): Uint8Array => enc.encode(s);
const s = (u: Uint8Array): string => dec.decode(u);

function concatBytes(a: Uint8Array, c: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + c.length);
  out.set(a, 0);
  out.set(c, a.length);
  return out;
}

/** Feeds `data` in packets of `size` bytes, like Twisted's loops (one extra, possibly empty, packet). */
function feedPackets(p: { dataReceived(d: Uint8Array): void }, data: Uint8Array, size: number) {
  for (let i = 0; i < Math.floor(data.length / size) + 1; i++) {
    // Copy each packet and scribble over it afterwards: the receiver must not keep views of it.
    const packet = data.slice(i * size, (i + 1) * size);
    p.dataReceived(packet);
    packet.fill(0x21);
  }
}

/** Twisted's LineTester: `\n`, MAX_LENGTH 64, acting on tokens. */
class LineTester extends LineReceiver {
  override delimiter = "\n";
  override MAX_LENGTH = 64;
  received: Uint8Array[] = [];
  length = 0;
  constructor(readonly clock: Clock | null = null) {
    super();
  }
  override lineReceived(line: Uint8Array): void {
    const text = s(line);
    this.received.push(line.slice());
    if (text === "") this.setRawMode();
    else if (text === "pause") {
      this.pauseProducing();
      this.clock?.callLater(0, () => this.resumeProducing());
    } else if (text === "rawpause") {
      this.pauseProducing();
      this.setRawMode();
      this.received.push(new Uint8Array(0));
      this.clock?.callLater(0, () => this.resumeProducing());
    } else if (text === "stop") this.stopProducing();
    else if (text.startsWith("len ")) this.length = Number.parseInt(text.slice(4), 10);
    else if (text.startsWith("produce")) this.transport.registerProducer(this, false);
    else if (text.startsWith("unproduce")) this.transport.unregisterProducer();
  }
  override rawDataReceived(data: Uint8Array): void {
    const take = data.subarray(0, this.length);
    const rest = data.subarray(this.length);
    this.length -= take.length;
    const last = this.received.length - 1;
    this.received[last] = concatBytes(this.received[last]!, take);
    if (this.length === 0) this.setLineMode(rest);
  }
  override lineLengthExceeded(line: Uint8Array): void {
    if (line.length > this.MAX_LENGTH + 1) this.setLineMode(line.subarray(this.MAX_LENGTH + 1));
  }
}

function connect<P extends LineReceiver | LineOnlyReceiver>(p: P): MemoryTransport {
  const t = new MemoryTransport({ lenient: true });
  p.makeConnection(t);
  return t;
}

describe("LineReceiver (test_basic.py LineReceiverTests)", () => {
  const buffer = b(
    "len 10\n\n0123456789len 5\n\n1234\nlen 20\nfoo 123\n\n0123456789\n012345678len 0\nfoo 5\n\n" +
      "1234567890123456789012345678901234567890123456789012345678901234567890\nlen 1\n\na",
  );
  const output = [
    "len 10",
    "0123456789",
    "len 5",
    "1234\n",
    "len 20",
    "foo 123",
    "0123456789\n012345678",
    "len 0",
    "foo 5",
    "",
    "67890",
    "len 1",
    "a",
  ];

  it("test_buffer: every packet size 1..9 gives the same lines, raw parts and over-long recovery", () => {
    for (let size = 1; size < 10; size++) {
      const a = new LineTester();
      connect(a);
      feedPackets(a, buffer, size);
      expect(a.received.map(s), `packet size ${size}`).toEqual(output);
    }
  });

  it("test_pausing: a pause inside lineReceived holds the buffered lines until resumed", () => {
    const data = b("twiddle1\ntwiddle2\npause\ntwiddle3\n");
    for (let size = 1; size < 10; size++) {
      const clock = new Clock();
      const a = new LineTester(clock);
      const t = connect(a);
      feedPackets(a, data, size);
      expect(a.received.map(s)).toEqual(["twiddle1", "twiddle2", "pause"]);
      expect(t.producerState).toBe("paused");
      clock.advance(0);
      expect(a.received.map(s)).toEqual(["twiddle1", "twiddle2", "pause", "twiddle3"]);
      expect(t.producerState).toBe("producing");
    }
  });

  it("test_rawPausing: pausing in raw mode holds raw data until resumed", () => {
    const data = b("twiddle1\ntwiddle2\nlen 5\nrawpause\n12345twiddle3\n");
    for (let size = 1; size < 10; size++) {
      const clock = new Clock();
      const a = new LineTester(clock);
      connect(a);
      feedPackets(a, data, size);
      expect(a.received.map(s)).toEqual(["twiddle1", "twiddle2", "len 5", "rawpause", ""]);
      clock.advance(0);
      expect(a.received.map(s)).toEqual([
        "twiddle1",
        "twiddle2",
        "len 5",
        "rawpause",
        "12345",
        "twiddle3",
      ]);
    }
  });

  it("test_stopProducing: nothing is delivered after stopProducing", () => {
    const data = b("twiddle1\ntwiddle2\nstop\nmore\nstuff\n");
    for (let size = 1; size < 10; size++) {
      const a = new LineTester();
      const t = connect(a);
      feedPackets(a, data, size);
      expect(a.received.map(s)).toEqual(["twiddle1", "twiddle2", "stop"]);
      expect(t.producerState).toBe("stopped");
    }
  });

  it("test_lineReceiverAsProducer: registering itself as a pull producer mid-chunk loses nothing", () => {
    // A transport that, like Twisted's FileWrapper, resumes a non-streaming producer at once:
    // resumeProducing re-enters dataReceived from inside lineReceived.
    class ResumingTransport extends MemoryTransport {
      override registerProducer(producer: Producer, streaming: boolean): void {
        super.registerProducer(producer, streaming);
        if (!streaming) producer.resumeProducing();
      }
    }
    const a = new LineTester();
    a.makeConnection(new ResumingTransport({ lenient: true }));
    a.dataReceived(b("produce\nhello world\nunproduce\ngoodbye\n"));
    expect(a.received.map(s)).toEqual(["produce", "hello world", "unproduce", "goodbye"]);
  });

  it("test_clearLineBuffer: returns the rest of the chunk and forgets it", () => {
    class ClearingReceiver extends LineReceiver {
      line = "";
      rest = "";
      override lineReceived(line: Uint8Array): void {
        this.line = s(line);
        this.rest = s(this.clearLineBuffer());
      }
    }
    const p = new ClearingReceiver();
    p.dataReceived(b("foo\r\nbar\r\nbaz"));
    expect(p.line).toBe("foo");
    expect(p.rest).toBe("bar\r\nbaz");
    p.dataReceived(b("quux\r\n"));
    expect(p.line).toBe("quux");
    expect(p.rest).toBe("");
  });

  it("test_stackRecursion: flipping modes 100,000 times in one chunk neither recurses nor goes quadratic", () => {
    class FlippingLineTester extends LineReceiver {
      override delimiter = "\n";
      lines: string[] = [];
      override lineReceived(line: Uint8Array): void {
        this.lines.push(s(line));
        this.setRawMode();
      }
      override rawDataReceived(data: Uint8Array): void {
        this.setLineMode(data.subarray(1));
      }
    }
    const p = new FlippingLineTester();
    connect(p);
    const limit = 100_000;
    p.dataReceived(b("x\nx".repeat(limit)));
    expect(p.lines.join("")).toBe("x".repeat(limit));
  });

  it("test_maximumLineLength: a line one byte too long disconnects", () => {
    const p = new LineReceiver();
    const t = connect(p);
    p.dataReceived(b(`${"x".repeat(16384 + 1)}\r\nr`));
    expect(t.disconnecting).toBe(true);
  });

  it("test_maximumLineLengthPartialDelimiter: a delimiter split across chunks never triggers the limit", () => {
    const p = new LineTester();
    p.MAX_LENGTH = 4;
    const t = connect(p);
    const line = "xxx";
    p.dataReceived(b(line));
    p.dataReceived(b(""));
    p.dataReceived(b(`\n${line}`));
    expect(t.disconnecting).toBe(false);
    expect(p.received.map(s)).toEqual([line]);
    // With a two-byte delimiter: M bytes, "\r", then "\n".
    const q = new (class extends LineReceiver {
      got: string[] = [];
      override lineReceived(l: Uint8Array): void {
        this.got.push(s(l));
      }
    })();
    q.MAX_LENGTH = 4;
    const t2 = connect(q);
    q.dataReceived(b("xxxx"));
    q.dataReceived(b("\r"));
    q.dataReceived(b("\nxxx"));
    expect(t2.disconnecting).toBe(false);
    expect(q.got).toEqual(["xxxx"]);
  });

  it("test_notQuiteMaximumLineLengthUnfinished: M bytes + the delimiter's first byte is tolerated", () => {
    const p = new LineReceiver();
    p.delimiter = "\r\n";
    const t = connect(p);
    p.dataReceived(b(`${"x".repeat(16384)}\r`));
    expect(t.disconnecting).toBe(false);
  });

  it("illegal input fed one byte at a time closes at exactly MAX_LENGTH + delimiter length bytes", () => {
    for (const delim of ["\n", "\r\n", "XYZ"]) {
      const p = new (class extends LineReceiver {
        received: string[] = [];
        override delimiter = delim;
        override MAX_LENGTH = 64;
        override lineReceived(line: Uint8Array): void {
          this.received.push(s(line));
        }
      })();
      const t = connect(p);
      const limit = 64 + delim.length;
      for (let i = 1; i <= limit; i++) {
        p.dataReceived(b("x"));
        expect(t.disconnecting, `${JSON.stringify(delim)} after ${i} bytes`).toBe(i >= limit);
      }
      p.dataReceived(b(`${delim}ok${delim}`));
      expect(p.received).toEqual([]);
    }
  });

  it("test_rawDataError (divergence): a handler's return value is ignored, processing goes on", () => {
    class Returning extends LineReceiver {
      raw: string[] = [];
      lines: string[] = [];
      override lineReceived(line: Uint8Array): void {
        this.lines.push(s(line));
        if (s(line) === "raw") this.setRawMode();
      }
      // An async handler returns a (truthy) Promise: it must not stop the loop.
      override async rawDataReceived(data: Uint8Array): Promise<void> {
        this.raw.push(s(data));
        this.setLineMode(data.subarray(4));
      }
    }
    const p = new Returning();
    connect(p);
    p.dataReceived(b("raw\r\ndatamore\r\nlines\r\n"));
    expect(p.raw).toEqual(["datamore\r\nlines\r\n"]);
    expect(p.lines).toEqual(["raw", "more", "lines"]);
  });

  it("test_rawDataReceivedNotImplemented / test_lineReceivedNotImplemented", () => {
    const p = new LineReceiver();
    expect(() => p.rawDataReceived(b("foo"))).toThrow(NotImplementedError);
    expect(() => p.lineReceived(b("foo"))).toThrow(NotImplementedError);
    const q = new LineOnlyReceiver();
    expect(() => q.lineReceived(b("foo"))).toThrow(NotImplementedError);
  });
});

describe("LineReceiver length limits (section 1.3, M = 8, L = 2)", () => {
  class Recorder extends LineReceiver {
    lines: string[] = [];
    exceeded: string[] = [];
    errors: LineLengthExceededError[] = [];
    override MAX_LENGTH = 8;
    override lineReceived(line: Uint8Array): void {
      this.lines.push(s(line));
    }
    override lineLengthExceeded(line: Uint8Array, error: LineLengthExceededError): void {
      this.exceeded.push(s(line));
      this.errors.push(error);
      super.lineLengthExceeded(line, error);
    }
  }

  const cases: [string, string[], string[], boolean][] = [
    ["xxxxxxxx\r\n", ["xxxxxxxx"], [], false],
    ["xxxxxxxxx\r\n", [], ["xxxxxxxxx\r\n"], true],
    ["xxxxxxxxx", [], [], false],
    ["xxxxxxxx\r", [], [], false],
    ["xxxxxxxxxx", [], ["xxxxxxxxxx"], true],
    ["xxxxxxxx\r\nxxxxxxxxxx", ["xxxxxxxx"], ["xxxxxxxxxx"], true],
    ["ok\r\nyyyyyyyyy\r\nz\r\n", ["ok"], ["yyyyyyyyy\r\nz\r\n"], true],
    ["a\nb\r\n", ["a\nb"], [], false],
  ];
  for (const [input, lines, exceeded, closed] of cases) {
    it(`${JSON.stringify(input)} in every packet size`, () => {
      for (let size = 1; size < 10; size++) {
        const p = new Recorder();
        const t = connect(p);
        feedPackets(p, b(input), size);
        expect(p.lines, `size ${size}`).toEqual(lines);
        // In one chunk, lineLengthExceeded gets everything buffered; in smaller packets, what was
        // buffered when the limit was crossed (M + L bytes without a delimiter, as in Twisted).
        if (size >= input.length) expect(p.exceeded).toEqual(exceeded);
        else if (exceeded.length > 0) {
          expect(p.exceeded.length).toBe(1);
          expect(exceeded[0]!.startsWith(p.exceeded[0]!)).toBe(true);
          expect(p.exceeded[0]!.length).toBeGreaterThanOrEqual(Math.min(10, exceeded[0]!.length));
        } else expect(p.exceeded).toEqual([]);
        expect(t.disconnecting).toBe(closed);
        for (const e of p.errors) {
          expect(e).toBeInstanceOf(LineLengthExceededError);
          expect(e.code).toBe("ERR_LINE_LENGTH_EXCEEDED");
          expect(e.maxLength).toBe(8);
        }
      }
    });
  }
});

describe("LineReceiverLineLengthExceededTests (M = 6)", () => {
  class Catcher extends LineReceiver {
    override MAX_LENGTH = 6;
    longLines: string[] = [];
    override lineReceived(): void {}
    override lineLengthExceeded(line: Uint8Array): void {
      this.longLines.push(s(line));
    }
  }
  const setup = () => {
    const p = new Catcher();
    const t = connect(p);
    return { p, t };
  };

  it("test_longUnendedLine", () => {
    const { p } = setup();
    p.dataReceived(b("x".repeat(14)));
    expect(p.longLines).toEqual(["x".repeat(14)]);
  });
  it("test_longLineAfterShortLine", () => {
    const { p } = setup();
    p.dataReceived(b(`x\r\n${"x".repeat(14)}`));
    expect(p.longLines).toEqual(["x".repeat(14)]);
  });
  it("test_longLineWithDelimiter", () => {
    const { p } = setup();
    const input = `${"x".repeat(14)}\r\n${"x".repeat(14)}`;
    p.dataReceived(b(input));
    expect(p.longLines).toEqual([input]);
  });
  it("test_multipleLongLines", () => {
    const { p } = setup();
    const input = `${"x".repeat(14)}\r\n`.repeat(2);
    p.dataReceived(b(input));
    expect(p.longLines).toEqual([input]);
  });
  it("test_maximumLineLength / test_maximumLineLengthRemaining (default receiver)", () => {
    const p = new LineReceiver();
    const t = connect(p);
    p.dataReceived(b(`${"x".repeat(16385)}\r\nr`));
    expect(t.disconnecting).toBe(true);
    const q = new LineReceiver();
    const t2 = connect(q);
    q.dataReceived(b("x".repeat(16384 + 2)));
    expect(t2.disconnecting).toBe(true);
  });
});

describe("ProducerTests.test_pauseResume", () => {
  it("walks every pause/resume state", () => {
    class PauseAfterEveryLine extends LineReceiver {
      override lineReceived(line: Uint8Array): void {
        this.sendLine(line);
        this.pauseProducing();
      }
    }
    const p = new PauseAfterEveryLine();
    const t = connect(p);
    const echoed = () => {
      const v = s(t.value());
      t.clear();
      return v;
    };
    p.dataReceived(b("hello, "));
    expect(echoed()).toBe("");
    expect(p.paused).toBe(false);
    expect(t.producerState).toBe("producing");

    p.dataReceived(b("world\r\n"));
    expect(echoed()).toBe("hello, world\r\n");
    expect(p.paused).toBe(true);
    expect(t.producerState).toBe("paused");

    p.resumeProducing();
    expect(echoed()).toBe("");
    expect(p.paused).toBe(false);
    expect(t.producerState).toBe("producing");

    p.dataReceived(b("hello\r\nworld\r\n"));
    expect(echoed()).toBe("hello\r\n");
    expect(p.paused).toBe(true);

    p.resumeProducing();
    expect(echoed()).toBe("world\r\n");
    expect(p.paused).toBe(true);

    p.dataReceived(b("goodbye\r\n"));
    expect(echoed()).toBe("");
    expect(p.paused).toBe(true);

    p.resumeProducing();
    expect(echoed()).toBe("goodbye\r\n");
    expect(p.paused).toBe(true);

    p.resumeProducing();
    expect(echoed()).toBe("");
    expect(p.paused).toBe(false);
  });
});

describe("LineReceiver details (sections 1.2, 1.4, 1.5)", () => {
  class Log extends LineReceiver {
    events: string[] = [];
    override lineReceived(line: Uint8Array): void {
      this.events.push(`line:${s(line)}`);
      if (s(line) === "raw") this.setRawMode();
      if (s(line) === "close") this.transport.loseConnection();
      if (s(line) === "inject") this.dataReceived(b("injected\r\n"));
    }
    override rawDataReceived(data: Uint8Array): void {
      this.events.push(`raw:${s(data)}`);
    }
  }

  it("setRawMode from lineReceived sends the rest of the same chunk to rawDataReceived", () => {
    const p = new Log();
    connect(p);
    p.dataReceived(b("raw\r\nRAWDATA|line1\r\nline2\r\n"));
    expect(p.events).toEqual(["line:raw", "raw:RAWDATA|line1\r\nline2\r\n"]);
    p.dataReceived(b("more"));
    expect(p.events.at(-1)).toBe("raw:more");
  });

  it("re-entrant data goes after what is still unparsed", () => {
    const p = new Log();
    connect(p);
    p.dataReceived(b("inject\r\nafter\r\n"));
    expect(p.events).toEqual(["line:inject", "line:after", "line:injected"]);
  });

  it("clearLineBuffer then re-feeding the very same chunk from lineReceived", () => {
    const chunk = Buffer.from("a\r\nclear\r\nb\r\n");
    class Refeed extends LineReceiver {
      lines: string[] = [];
      done = false;
      override lineReceived(line: Uint8Array): void {
        this.lines.push(s(line));
        if (s(line) === "clear" && !this.done) {
          this.done = true;
          expect(s(this.clearLineBuffer())).toBe("b\r\n");
          this.dataReceived(chunk);
        }
      }
    }
    const p = new Refeed();
    connect(p);
    p.dataReceived(chunk);
    expect(p.lines).toEqual(["a", "clear", "a", "clear", "b"]);
  });

  it("stops delivering once the transport is disconnecting and ignores later data", () => {
    const p = new Log();
    const t = connect(p);
    p.dataReceived(b("a\r\nclose\r\nb\r\nc\r\n"));
    expect(p.events).toEqual(["line:a", "line:close"]);
    expect(t.disconnecting).toBe(true);
    p.dataReceived(b("d\r\n"));
    expect(p.events).toEqual(["line:a", "line:close"]);
    expect(p.bufferedBytes).toBe(6);
  });

  it("sendLine writes line + delimiter in one write (string or bytes)", () => {
    const p = new Log();
    const t = connect(p);
    const writes: string[] = [];
    const orig = t.write.bind(t);
    t.write = (d: Uint8Array | string) => {
      writes.push(typeof d === "string" ? d : s(d));
      orig(d);
    };
    p.sendLine("héllo");
    p.sendLine(b("bytes"));
    p.delimiter = "\n";
    p.sendLine("nl");
    expect(writes).toEqual(["héllo\r\n", "bytes\r\n", "nl\n"]);
  });

  it("MAX_LENGTH and delimiter can change between chunks", () => {
    const p = new Log();
    connect(p);
    p.dataReceived(b("a\r\nb"));
    p.delimiter = "|";
    p.dataReceived(b("c|d|"));
    expect(p.events).toEqual(["line:a", "line:bc", "line:d"]);
  });

  it("holds no reference to fed chunks after dataReceived returns", () => {
    const p = new Log();
    connect(p);
    const chunk = b("one\r\ntw");
    p.dataReceived(chunk);
    chunk.fill(0x21);
    p.dataReceived(b("o\r\n"));
    expect(p.events).toEqual(["line:one", "line:two"]);
  });
});

describe("LineOnlyReceiver (section 1.6)", () => {
  class LineOnlyTester extends LineOnlyReceiver {
    override delimiter = "\n";
    override MAX_LENGTH = 64;
    received: string[] = [];
    exceeded: string[] = [];
    override lineReceived(line: Uint8Array): void {
      this.received.push(s(line));
      if (s(line) === "close") this.transport.loseConnection();
    }
    override lineLengthExceeded(line: Uint8Array, error: LineLengthExceededError): void {
      this.exceeded.push(s(line));
      super.lineLengthExceeded(line, error);
    }
  }

  it("test_buffer: multi-line text fed byte by byte gives every line", () => {
    const text = "this is a line\nanother line\n\nthe last line\n";
    const p = new LineOnlyTester();
    connect(p);
    for (const ch of b(text)) p.dataReceived(Uint8Array.of(ch));
    expect(p.received).toEqual(["this is a line", "another line", "", "the last line"]);
  });

  it("test_greaterThanMaximumLineLength", () => {
    const p = new LineOnlyTester();
    const t = connect(p);
    p.dataReceived(b(`${"x".repeat(64 + 2)}\r\nr`));
    expect(t.disconnecting).toBe(true);
  });

  it("a terminated over-long line: lineLengthExceeded(that line only), later lines dropped", () => {
    class Keep extends LineOnlyTester {
      override MAX_LENGTH = 4;
      override lineLengthExceeded(line: Uint8Array): void {
        this.exceeded.push(s(line));
      }
    }
    const p = new Keep();
    const t = connect(p);
    p.dataReceived(b("ok\nxxxxx\ndropped\npart"));
    expect(p.received).toEqual(["ok"]);
    expect(p.exceeded).toEqual(["xxxxx"]);
    expect(t.disconnecting).toBe(false);
    p.dataReceived(b("\n"));
    expect(p.received).toEqual(["ok", "part"]);
  });

  it("an unterminated partial exceeds at > M (M bytes + \\r already does)", () => {
    class Crlf extends LineOnlyTester {
      override delimiter = "\r\n";
      override MAX_LENGTH = 4;
    }
    const p = new Crlf();
    const t = connect(p);
    p.dataReceived(b("xxxx\r"));
    expect(p.exceeded).toEqual(["xxxx\r"]);
    expect(t.disconnecting).toBe(true);
    const q = new Crlf();
    const t2 = connect(q);
    q.dataReceived(b("xxxx"));
    expect(t2.disconnecting).toBe(false);
  });

  it("drops the remaining lines of a chunk when a handler closes the connection", () => {
    const p = new LineOnlyTester();
    const t = connect(p);
    p.dataReceived(b("a\nclose\nb\nc\n"));
    expect(p.received).toEqual(["a", "close"]);
    expect(t.disconnecting).toBe(true);
  });

  it("sendLine uses one writeSequence of (line, delimiter)", () => {
    const p = new LineOnlyTester();
    const t = connect(p);
    const seqs: string[][] = [];
    t.writeSequence = (data: Iterable<Uint8Array | string>) => {
      seqs.push([...data].map((d) => (typeof d === "string" ? d : s(d))));
    };
    p.sendLine("hi");
    expect(seqs).toEqual([["hi", "\n"]]);
  });

  it("is linear: a 1 MiB line in 3-byte chunks completes", () => {
    const p = new LineOnlyTester();
    p.MAX_LENGTH = 1 << 20;
    connect(p);
    const line = b("y".repeat(1 << 20));
    for (let i = 0; i < line.length; i += 3) p.dataReceived(line.subarray(i, i + 3));
    p.dataReceived(b("\n"));
    expect(p.received.length).toBe(1);
    expect(p.received[0]!.length).toBe(1 << 20);
  });
});
