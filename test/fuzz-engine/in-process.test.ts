/**
 * fuzzProtocol/fuzzDecoder (weft/testing) over every weft receiver: weft's own protocols must show
 * no finding, and planted bugs must be found and shrunk.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeBox } from "../../src/protocols/amp/box.js";
import { CommandLocator, defineCommand, Integer } from "../../src/protocols/amp/index.js";
import { AMP } from "../../src/protocols/amp/protocol.js";
import {
  Int32StringReceiver,
  LengthPrefixedReceiver,
  LineReceiver,
  lengthPrefixedDecoder,
  NetstringReceiver,
  netstringDecoder,
} from "../../src/protocols/receivers/index.js";
import { defineShape, ShapeReceiver, uint } from "../../src/protocols/shapes/index.js";
import { FuzzFindingError, fuzzDecoder, fuzzProtocol } from "../../src/testing/index.js";

const quiet = { error() {}, warn() {} };
const RUNS = { numRuns: 150, seed: 42 };

class NetEcho extends NetstringReceiver {
  override stringReceived(d: Uint8Array): void {
    this.sendString(d);
  }
}
class LineEcho extends LineReceiver {
  override lineReceived(d: Uint8Array): void {
    this.sendLine(d);
  }
}
class Int32Echo extends Int32StringReceiver {
  override stringReceived(d: Uint8Array): void {
    this.sendString(d);
  }
}
class VarintEcho extends LengthPrefixedReceiver {
  override prefix: number | "varint" = "varint";
  override stringReceived(d: Uint8Array): void {
    this.sendString(d);
  }
}
const kv = defineShape({ name: "kv", before: [uint("op")], length: 2, maxLength: 1000 });
class ShapeEcho extends ShapeReceiver<typeof kv> {
  shape = kv;
  override frameReceived(f: { op: number; payload: Uint8Array }): void {
    this.sendFrame({ op: f.op, payload: f.payload });
  }
}
const Sum = defineCommand({
  name: "Sum",
  arguments: { a: Integer, b: Integer },
  response: { total: Integer },
});
const locator = new CommandLocator<AMP>().responder(Sum, ({ a, b }) => ({
  total: BigInt(a) + BigInt(b),
}));

describe("fuzzProtocol finds nothing in weft's receivers", () => {
  it("netstring", () => {
    fc.assert(
      fuzzProtocol(() => new NetEcho(), { framing: "netstring", maxLength: 99999 }),
      RUNS,
    );
  });
  it("netstring with a probe", () => {
    const probe = new TextEncoder().encode("5:hello,");
    fc.assert(
      fuzzProtocol(() => new NetEcho(), { framing: "netstring", probe }),
      RUNS,
    );
  });
  it("lines (short limit)", () => {
    const make = () => {
      const p = new LineEcho();
      p.MAX_LENGTH = 100;
      return p;
    };
    fc.assert(fuzzProtocol(make, { framing: "line", maxLength: 100 }), RUNS);
  });
  it("length-prefixed, 4-byte and varint", () => {
    fc.assert(
      fuzzProtocol(() => new Int32Echo(), { framing: "length-prefixed", prefix: 4 }),
      RUNS,
    );
    fc.assert(
      fuzzProtocol(() => new VarintEcho(), { framing: "length-prefixed", prefix: "varint" }),
      RUNS,
    );
  });
  it("a declared shape", () => {
    fc.assert(
      fuzzProtocol(() => new ShapeEcho(), { framing: "length-prefixed", shape: kv }),
      RUNS,
    );
  });
  it("AMP, with a Sum call as the probe", () => {
    const probe = encodeBox(
      new Map([
        ["_ask", new TextEncoder().encode("1")],
        ["_command", new TextEncoder().encode("Sum")],
        ["a", new TextEncoder().encode("1")],
        ["b", new TextEncoder().encode("2")],
      ]),
    );
    fc.assert(
      fuzzProtocol(() => new AMP({ locator, logger: quiet }), { framing: "amp", probe }),
      RUNS,
    );
  });
  it("fuzzDecoder: weft's decoders agree with the grammar", () => {
    fc.assert(fuzzDecoder(netstringDecoder(), { framing: "netstring" }), RUNS);
    fc.assert(
      fuzzDecoder(lengthPrefixedDecoder({ prefix: 2 }), { framing: "length-prefixed", prefix: 2 }),
      RUNS,
    );
  });
});

describe("fuzzProtocol finds planted bugs and shrinks them", () => {
  function failure(run: () => void): FuzzFindingError {
    try {
      run();
    } catch (err) {
      const cause = (err as { cause?: unknown }).cause;
      if (cause instanceof FuzzFindingError) return cause;
      if (err instanceof FuzzFindingError) return err;
      throw err;
    }
    throw new Error("no finding");
  }

  it("a reply to malformed input", () => {
    class Chatty extends NetstringReceiver {
      #first = true;
      override dataReceived(d: Uint8Array): void {
        const b = d[0];
        if (this.#first && b !== undefined && (b < 0x30 || b > 0x39))
          this.transport.write("5:error,");
        this.#first = false;
        super.dataReceived(d);
      }
    }
    const f = failure(() =>
      fc.assert(
        fuzzProtocol(() => new Chatty(), { framing: "netstring" }),
        RUNS,
      ),
    );
    expect(f.verdict.oracle).toBe("accepted-malformed");
    expect(f.message).toContain('sent "\\x00" in chunks [1];'); // one byte, one chunk
  });

  it("a throw out of dataReceived", () => {
    class Thrower extends NetstringReceiver {
      override stringReceived(d: Uint8Array): void {
        if (d.includes(0xff)) throw new Error("boom");
        this.sendString(d);
      }
    }
    const f = failure(() =>
      fc.assert(
        fuzzProtocol(() => new Thrower(), { framing: "netstring" }),
        RUNS,
      ),
    );
    expect(f.verdict.oracle).toBe("crash");
    expect(f.message).toContain('sent "1:\\xff,"');
  });

  it("a wrong length in replies", () => {
    class Liar extends NetstringReceiver {
      override stringReceived(d: Uint8Array): void {
        this.transport.write(`${d.length + 1}:`);
        this.transport.write(d);
        this.transport.write(",");
        this.transport.loseConnection();
      }
    }
    const f = failure(() =>
      fc.assert(
        fuzzProtocol(() => new Liar(), { framing: "netstring" }),
        RUNS,
      ),
    );
    expect(f.verdict.oracle).toBe("malformed-reply");
  });
});
