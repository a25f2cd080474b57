/**
 * Line interop with the real Twisted (22.4, /usr/bin/python3) over loopback, both directions:
 * Twisted's LineReceiver/LineOnlyReceiver echo what weft's LineReceiver sends (empty line, 1-byte
 * line, a MAX_LENGTH line, a line written one byte per write), and weft's echo server does the same
 * for a Twisted client; an over-long line from either side makes the other close. If Twisted is
 * missing these tests FAIL (never skip).
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { Deferred } from "../../src/core/deferred.js";
import { clientFromString, connectProtocol } from "../../src/core/endpoints.js";
import { Factory } from "../../src/core/factory.js";
import { createReactor } from "../../src/core/reactor.js";
import {
  DEFAULT_MAX_LINE_LENGTH,
  type LineLengthExceededError,
  LineReceiver,
} from "../../src/protocols/receivers/index.js";
import { ascii } from "../helpers/bytes.js";
import {
  type PythonServer,
  requireTwisted,
  runPython,
  startPythonServer,
} from "../helpers/twisted.js";

const SCRIPT = "lines_peer.py";
const MAX = DEFAULT_MAX_LINE_LENGTH;

const run = (args: string[]) => runPython(SCRIPT, args);

/** Starts the Twisted line server (`lines_peer.py server KIND`, or `rawserver`). */
function startTwistedServer(kind: "line" | "lineonly" | "raw"): Promise<PythonServer> {
  return startPythonServer(SCRIPT, kind === "raw" ? ["rawserver"] : ["server", kind]);
}

/** The next `lost N EXCEEDED|OK` line the server prints. */
async function nextLost(server: PythonServer): Promise<string> {
  return (await server.next(/lost \d+ \w+/))[0];
}

/** weft's client side: collects lines and the end of the connection. */
class Collector extends LineReceiver {
  lines: Uint8Array[] = [];
  exceeded = false;
  readonly closed: Promise<Error>;
  #closed!: (reason: Error) => void;
  #want = 0;
  #enough: (() => void) | null = null;

  constructor() {
    super();
    this.closed = new Promise((r) => {
      this.#closed = r;
    });
  }
  waitFor(n: number): Promise<void> {
    if (this.lines.length >= n) return Promise.resolve();
    this.#want = n;
    return new Promise((r) => {
      this.#enough = r;
    });
  }
  override lineReceived(line: Uint8Array): void {
    this.lines.push(line.slice());
    if (this.#enough !== null && this.lines.length >= this.#want) {
      this.#enough();
      this.#enough = null;
    }
  }
  override lineLengthExceeded(line: Uint8Array, error: LineLengthExceededError): void {
    this.exceeded = true;
    super.lineLengthExceeded(line, error);
  }
  override connectionLost(reason: Error): void {
    super.connectionLost(reason);
    this.#closed(reason);
  }
}

const yieldToLoop = () => new Promise((r) => setImmediate(r));

/** A {@link Collector} connected to 127.0.0.1:`port`. */
function connectCollector(port: number): Deferred<Collector> {
  return connectProtocol(
    clientFromString(createReactor(), `tcp:127.0.0.1:${port}`),
    new Collector(),
  );
}

describe("line interop with Twisted", () => {
  beforeAll(() => requireTwisted("line interop"));

  for (const kind of ["line", "lineonly"] as const) {
    describe(`weft's LineReceiver against Twisted's ${kind === "line" ? "LineReceiver" : "LineOnlyReceiver"}`, () => {
      it("exchanges empty, 1-byte-write and MAX_LENGTH lines", async () => {
        const server = await startTwistedServer(kind);
        try {
          const p = await connectCollector(server.port);
          p.sendLine("");
          p.sendLine("a");
          p.sendLine("x".repeat(MAX));
          for (const byte of Buffer.from("one byte at a time\r\n")) {
            p.transport.write(Uint8Array.of(byte));
            await yieldToLoop();
          }
          await p.waitFor(4);
          expect(p.lines.map(ascii)).toEqual(["", "a", "x".repeat(MAX), "one byte at a time"]);
          p.transport.loseConnection();
          await p.closed;
          expect(await nextLost(server)).toBe("lost 4 OK");
        } finally {
          await server.stop();
        }
      });

      it("Twisted closes when weft sends a line over MAX_LENGTH", async () => {
        const server = await startTwistedServer(kind);
        try {
          const p = await connectCollector(server.port);
          p.sendLine("fine");
          // Wait for the echo: data still unread when Twisted closes may turn its FIN into a RST.
          await p.waitFor(1);
          p.transport.write(`${"x".repeat(MAX + 1)}\r\nafter\r\n`);
          await p.closed;
          expect(p.lines.map(ascii)).toEqual(["fine"]);
          expect(await nextLost(server)).toBe("lost 1 EXCEEDED");
        } finally {
          await server.stop();
        }
      });
    });
  }

  describe("a Twisted LineReceiver client against weft's echo server", () => {
    class Echo extends LineReceiver {
      override lineReceived(line: Uint8Array): void {
        this.sendLine(line);
      }
    }
    const closedByWeft: boolean[] = [];
    class EchoRecorder extends Echo {
      override lineLengthExceeded(line: Uint8Array, error: LineLengthExceededError): void {
        closedByWeft.push(true);
        super.lineLengthExceeded(line, error);
      }
    }

    it("gets every line echoed (empty, 1-byte writes, MAX_LENGTH)", async () => {
      const reactor = createReactor();
      const port = await reactor.listenTCP(0, Factory.forProtocol(Echo), {
        interface: "127.0.0.1",
      });
      try {
        const { code, out } = await run(["client", String(port.getHost().port), "lines"]);
        expect(out).toMatch(/^OK 4$/m);
        expect(code).toBe(0);
      } finally {
        await port.stopListening({ closeConnections: true });
      }
    });

    it("weft closes when Twisted sends a line over MAX_LENGTH, echoing nothing after it", async () => {
      const reactor = createReactor();
      const port = await reactor.listenTCP(0, Factory.forProtocol(EchoRecorder), {
        interface: "127.0.0.1",
      });
      try {
        const { code, out } = await run(["client", String(port.getHost().port), "toolong"]);
        expect(out).toMatch(/^CLOSED 0$/m);
        expect(code).toBe(0);
        expect(closedByWeft).toEqual([true]);
      } finally {
        await port.stopListening({ closeConnections: true });
      }
    });
  });
});

/**
 * LenEcho (same as lines_peer.py): "len N" switches to raw mode for the next N bytes, answered
 * "raw <hex>", then back to line mode with what followed; any other line is answered "line <line>".
 */
class LenEcho extends LineReceiver {
  want = 0;
  raw: number[] = [];
  override lineReceived(line: Uint8Array): void {
    const t = ascii(line);
    if (t.startsWith("len ")) {
      this.want = Number.parseInt(t.slice(4), 10);
      this.raw = [];
      this.setRawMode();
    } else this.sendLine(`line ${t}`);
  }
  override rawDataReceived(data: Uint8Array): void {
    const take = data.subarray(0, this.want - this.raw.length);
    this.raw.push(...take);
    if (this.raw.length === this.want) {
      this.sendLine(`raw ${Buffer.from(this.raw).toString("hex")}`);
      this.setLineMode(data.subarray(take.length));
    }
  }
}

const RAW_SCRIPT = "hello\r\nlen 5\r\n12345after\r\nlen 3\r\na\r\nend\r\n";
const RAW_REPLIES = ["line hello", "raw 3132333435", "line after", "raw 610d0a", "line end"];

describe("raw mode interop with Twisted (LenEcho: line mode, N raw bytes, line mode again)", () => {
  beforeAll(() => requireTwisted("line interop"));

  for (const how of ["bytewise", "whole"] as const) {
    it(`weft's LenEcho server answers a Twisted client sending ${how}`, async () => {
      const reactor = createReactor();
      const port = await reactor.listenTCP(0, Factory.forProtocol(LenEcho), {
        interface: "127.0.0.1",
      });
      try {
        const { code, out } = await run(["client", String(port.getHost().port), how]);
        expect(out).toMatch(/^OK 5$/m);
        expect(code).toBe(0);
      } finally {
        await port.stopListening({ closeConnections: true });
      }
    });
  }

  it("Twisted's LenEcho server answers weft's client, byte by byte and in one write", async () => {
    const server = await startTwistedServer("raw");
    try {
      const p = await connectCollector(server.port);
      for (const byte of Buffer.from(RAW_SCRIPT)) {
        p.transport.write(Uint8Array.of(byte));
        await yieldToLoop();
      }
      await p.waitFor(5);
      p.transport.write(RAW_SCRIPT);
      await p.waitFor(10);
      expect(p.lines.map(ascii)).toEqual([...RAW_REPLIES, ...RAW_REPLIES]);
      p.transport.loseConnection();
      await p.closed;
    } finally {
      await server.stop();
    }
  });
});
