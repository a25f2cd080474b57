/**
 * Netstring and Int8/16/32 interop with the real Twisted (22.4, /usr/bin/python3), over loopback,
 * both directions: weft's receiver talks to Twisted's (empty, 1-byte writes, MAX_LENGTH-sized
 * messages), and each side closes when the other sends a malformed frame. The Twisted side is
 * test/interop/netstring_intn_peer.py. If Twisted is missing these tests FAIL (never skip).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientFromString, connectProtocol } from "../../src/core/endpoints.js";
import type { WeftError } from "../../src/core/errors.js";
import { ServerFactory } from "../../src/core/factory.js";
import type { Protocol } from "../../src/core/protocol.js";
import { createReactor, type SocketPort } from "../../src/core/reactor.js";
import {
  encodeLengthPrefixed,
  encodeNetstring,
  Int8StringReceiver,
  Int16StringReceiver,
  Int32StringReceiver,
  type LengthPrefixedReceiver,
  NetstringReceiver,
} from "../../src/protocols/receivers/index.js";
import { interopScript, PYTHON, requireTwisted } from "../helpers/twisted.js";

const SCRIPT = interopScript("netstring_intn_peer.py");

type Kind = "netstring" | "int8" | "int16" | "int32";
type AnyReceiver = NetstringReceiver | LengthPrefixedReceiver;

interface KindSpec {
  kind: Kind;
  max: number;
  base: new () => AnyReceiver;
  encode(data: Uint8Array): Uint8Array;
  /** A frame weft's sender would never produce, which Twisted must refuse. */
  malformed: Uint8Array;
  /** What weft reports when Twisted sends its malformed frame. */
  weftError: string;
}

const specs: KindSpec[] = [
  {
    kind: "netstring",
    max: 99999,
    base: NetstringReceiver,
    encode: (d) => encodeNetstring(d),
    malformed: Buffer.from("01:a,"),
    weftError: "missing colon",
  },
  {
    kind: "int8",
    max: 200,
    base: Int8StringReceiver,
    encode: (d) => encodeLengthPrefixed(d, { prefix: 1 }),
    malformed: Uint8Array.of(201, 0x7a),
    weftError: "limit 201",
  },
  {
    kind: "int16",
    max: 60000,
    base: Int16StringReceiver,
    encode: (d) => encodeLengthPrefixed(d, { prefix: 2 }),
    malformed: Uint8Array.of(0xea, 0x61, 0x7a),
    weftError: "limit 60001",
  },
  {
    kind: "int32",
    max: 99999,
    base: Int32StringReceiver,
    encode: (d) => encodeLengthPrefixed(d, { prefix: 4 }),
    malformed: Uint8Array.of(0, 1, 0x86, 0xa0, 0x7a),
    weftError: "limit 100000",
  },
];

/** The messages the Python peer uses: empty, 1 byte, a short one, MAX-sized. */
function messages(max: number): Uint8Array[] {
  const big = new Uint8Array(max);
  for (let i = 0; i < max; i++) big[i] = (i * 7 + 3) % 256;
  return [new Uint8Array(0), Buffer.from("a"), Buffer.from("hello, world"), big];
}

/** Resolves when `pred()` holds, re-checked on every `poke()`; rejects after `ms`. */
class Waiter {
  private waiting: Array<{ pred: () => boolean; resolve: () => void }> = [];
  poke(): void {
    this.waiting = this.waiting.filter((w) => {
      if (!w.pred()) return true;
      w.resolve();
      return false;
    });
  }
  until(pred: () => boolean, what: string, ms = 15_000): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
      this.waiting.push({
        pred,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }
}

interface Recorded {
  received: Uint8Array[];
  errors: string[];
  lost: Error | null;
}

/** A weft receiver of `base` that records (copies of) strings, errors and the end. */
function recording(
  base: new () => AnyReceiver,
  max: number,
  waiter: Waiter,
  echo: boolean,
): AnyReceiver & Recorded {
  const Base = base as new () => NetstringReceiver & LengthPrefixedReceiver;
  class R extends Base {
    received: Uint8Array[] = [];
    errors: string[] = [];
    lost: Error | null = null;
    override MAX_LENGTH = max;
    override stringReceived(data: Uint8Array): void {
      this.received.push(data.slice());
      if (echo) this.sendString(data);
      waiter.poke();
    }
    override framingError(error: WeftError & { kind: string }): void {
      this.errors.push(error.kind);
      super.framingError(error as never);
      waiter.poke();
    }
    override lengthLimitExceeded(length: number): void {
      this.errors.push(`limit ${length}`);
      super.lengthLimitExceeded(length);
      waiter.poke();
    }
    override connectionLost(reason: Error): void {
      super.connectionLost(reason);
      this.lost = reason;
      waiter.poke();
    }
  }
  return new R();
}

interface Peer {
  child: ChildProcess;
  events: Array<Record<string, unknown>>;
  exited: Promise<number | null>;
}

function startPeer(args: string[], waiter: Waiter): Peer {
  const child = spawn(PYTHON, [SCRIPT, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const events: Array<Record<string, unknown>> = [];
  let buf = "";
  let err = "";
  child.stdout?.on("data", (c: Buffer) => {
    buf += c.toString();
    let nl = buf.indexOf("\n");
    while (nl >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.trim() !== "") events.push(JSON.parse(line) as Record<string, unknown>);
      nl = buf.indexOf("\n");
    }
    waiter.poke();
  });
  child.stderr?.on("data", (c: Buffer) => {
    err += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => {
    child.on("exit", (code) => {
      if (code !== 0 && err !== "") events.push({ event: "stderr", text: err });
      resolve(code);
      waiter.poke();
    });
  });
  return { child, events, exited };
}

const hasEvent = (peer: Peer, name: string) => () => peer.events.some((e) => e["event"] === name);

function writeBytewise(p: Protocol, wire: Uint8Array): void {
  for (let i = 0; i < wire.length; i++) p.transport.write(wire.subarray(i, i + 1));
}

describe.each(specs)("$kind interop with Twisted", (spec) => {
  const reactor = createReactor();
  const msgs = messages(spec.max);

  beforeAll(() => requireTwisted("netstring/IntN interop"));

  describe("weft client ↔ Twisted server", () => {
    const waiter = new Waiter();
    let peer: Peer;
    let port = 0;

    beforeAll(async () => {
      peer = startPeer(["server", spec.kind, String(spec.max)], waiter);
      await waiter.until(hasEvent(peer, "listening"), "the Twisted server to listen");
      port = Number(peer.events.find((e) => e["event"] === "listening")?.["port"]);
    }, 20_000);

    afterAll(async () => {
      peer.child.kill();
      await peer.exited;
    });

    let connections = 0;
    const lostCount = () => peer.events.filter((e) => e["event"] === "lost").length;

    async function connect(): Promise<AnyReceiver & Recorded> {
      const p = recording(spec.base, spec.max, waiter, false);
      await connectProtocol(clientFromString(reactor, `tcp:127.0.0.1:${port}`), p);
      connections += 1;
      return p;
    }

    it("Twisted receives weft's messages (1-byte writes and MAX_LENGTH-sized) and echoes them", async () => {
      const p = await connect();
      for (const m of msgs.slice(0, -1)) writeBytewise(p, spec.encode(m));
      p.sendString(msgs[msgs.length - 1]!);
      await waiter.until(() => p.received.length === msgs.length, "the echoes");
      expect(p.received.map((r) => Buffer.from(r).toString("hex"))).toEqual(
        msgs.map((m) => Buffer.from(m).toString("hex")),
      );
      expect(p.errors).toEqual([]);
      // Twisted's messages, its small ones written one byte at a time.
      p.received = [];
      p.sendString("__bytewise__");
      await waiter.until(() => p.received.length === msgs.length, "Twisted's messages");
      expect(p.received.map((r) => Buffer.from(r).toString("hex"))).toEqual(
        msgs.map((m) => Buffer.from(m).toString("hex")),
      );
      p.transport.loseConnection();
      await waiter.until(() => p.lost !== null, "the connection to close");
    }, 30_000);

    it("a malformed frame from weft makes Twisted close the connection", async () => {
      const p = await connect();
      // Twisted may report an earlier test's connection lost late: wait for it, so the events
      // after `before` are this connection's only.
      await waiter.until(
        () => lostCount() === connections - 1,
        "earlier connections to be reported",
      );
      const before = peer.events.length;
      p.transport.write(spec.malformed);
      await waiter.until(() => p.lost !== null, "Twisted to close");
      await waiter.until(
        () => peer.events.slice(before).some((e) => e["event"] === "lost"),
        "Twisted to report the loss",
      );
      const seen = peer.events.slice(before);
      if (spec.kind === "netstring") {
        expect(seen.find((e) => e["event"] === "lost")).toMatchObject({ brokenPeer: true });
      } else {
        expect(seen.find((e) => e["event"] === "limit")).toMatchObject({ length: spec.max + 1 });
      }
      expect(seen.some((e) => e["event"] === "recv")).toBe(false);
    }, 30_000);

    it("a malformed frame from Twisted makes weft close the connection", async () => {
      const p = await connect();
      p.sendString("__bad__");
      await waiter.until(() => p.lost !== null, "weft to close");
      expect(p.errors).toEqual([spec.weftError]);
      expect(p.received).toEqual([]);
    }, 30_000);
  });

  describe("Twisted client ↔ weft server", () => {
    const waiter = new Waiter();
    let listening: SocketPort;
    const served: Array<AnyReceiver & Recorded> = [];

    beforeAll(async () => {
      class EchoFactory extends ServerFactory {
        override buildProtocol(): Protocol {
          const p = recording(spec.base, spec.max, waiter, true);
          served.push(p);
          return p;
        }
      }
      listening = await reactor.listenTCP(0, new EchoFactory(), { interface: "127.0.0.1" });
    });

    afterAll(async () => {
      await listening.stopListening({ closeConnections: true });
    });

    it("Twisted's client gets its messages echoed, then weft closes on its malformed frame", async () => {
      const peer = startPeer(
        ["client", spec.kind, String(spec.max), String(listening.getHost().port)],
        waiter,
      );
      const code = await peer.exited;
      expect(peer.events.find((e) => e["event"] === "echoes")).toMatchObject({
        ok: true,
        lengths: msgs.map((m) => m.length),
      });
      expect(peer.events.find((e) => e["event"] === "lost")).toBeDefined();
      expect(code).toBe(0);
      await waiter.until(
        () => served.length === 1 && served[0]!.lost !== null,
        "weft's side to end",
      );
      const s = served[0]!;
      expect(s.received.map((r) => r.length)).toEqual(msgs.map((m) => m.length));
      expect(s.errors).toEqual([spec.weftError]);
    }, 30_000);
  });
});
