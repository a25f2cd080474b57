/**
 * The AMP protocol's in-place receive path (typed commands and answers read from the decoder's
 * BoxView, no Map) must behave exactly as the general path (BoxDecoder → Map → boxReceived):
 * same bytes out, same close, same logged errors, same call outcomes, for any boxes in any
 * chunking. A subclass that overrides boxReceived always takes the general path, so it is the
 * oracle. Also: the logging levels and the rate-limited default logger.
 */
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type Deferred, succeed } from "../../../src/core/deferred.js";
import { Bytes, Integer, optional, Unicode } from "../../../src/protocols/amp/arguments.js";
import type { AmpBox } from "../../../src/protocols/amp/box.js";
import { CommandLocator, defineCommand } from "../../../src/protocols/amp/command.js";
import { NoEmptyBoxes } from "../../../src/protocols/amp/errors.js";
import { type AmpLogger, rateLimitedLogger } from "../../../src/protocols/amp/logger.js";
import { AMP, type AMPOptions } from "../../../src/protocols/amp/protocol.js";
import { MemoryTransport } from "../../../src/testing/memory.js";

const latin = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** One box with its pairs in the given order (latin1 keys and values). */
function wire(...pairs: Array<[string, string | Uint8Array]>): Uint8Array {
  const parts: number[] = [];
  for (const [k, v] of pairs) {
    const kb = latin(k);
    const vb = typeof v === "string" ? latin(v) : v;
    parts.push(kb.length >> 8, kb.length & 0xff, ...kb, vb.length >> 8, vb.length & 0xff, ...vb);
  }
  parts.push(0, 0);
  return Uint8Array.from(parts);
}

function concat(parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}

function hex(u: Uint8Array): string {
  return Buffer.from(u).toString("hex");
}

class Oops extends Error {}

const Sum = defineCommand({
  name: "Sum",
  arguments: { a: Integer, b: Integer },
  response: { total: Integer },
});
const Echo = defineCommand({
  name: "Echo",
  arguments: { data: Bytes, note: optional(Unicode) },
  response: { data: Bytes, note: optional(Unicode) },
  errors: { OOPS: Oops },
});
const Later = defineCommand({ name: "Later", arguments: { a: Integer }, response: { a: Integer } });
const Fire = defineCommand({ name: "Fire", arguments: { a: Integer }, requiresAnswer: false });
const Quit = defineCommand({ name: "Quit", responseType: "quit" });

function locator(): CommandLocator<AMP> {
  return new CommandLocator<AMP>()
    .responder(Sum, ({ a, b }) => ({ total: BigInt(a) + BigInt(b) }))
    .responder(Echo, ({ data, note }) => {
      if (note === "oops") throw new Oops("declared");
      if (note === "bug") throw new TypeError("undeclared");
      if (note === "bad") return { data: 7 as unknown as Uint8Array };
      return note === undefined ? { data } : { data, note };
    })
    .responder(Later, ({ a }) => succeed({ a }))
    .responder(Fire, ({ a }) => {
      if (a < 0) throw new Oops("no answer to carry this");
      return {};
    })
    .responder(Quit, () => ({}))
    .rawResponder("Raw", (box: AmpBox) => new Map([["got", Uint8Array.of(box.size)]]));
}

/** Records every report as `level:ErrorClass:message`. */
function recorder(): AmpLogger & { lines: string[] } {
  const lines: string[] = [];
  const line = (level: string, err: unknown) =>
    lines.push(`${level}:${(err as Error).constructor.name}:${(err as Error).message}`);
  return {
    lines,
    error: (obj) => line("error", obj.err),
    warn: (obj) => line("warn", obj.err),
  };
}

/** Always the general path: overriding boxReceived makes the protocol take every box as a Map. */
class GeneralAMP extends AMP {
  override boxReceived(box: AmpBox): void {
    super.boxReceived(box);
  }
}

interface Run {
  out: string;
  disconnecting: boolean;
  log: string[];
}

function run(kind: "fast" | "general", chunks: Uint8Array[], options: AMPOptions = {}): Run {
  const log = recorder();
  const opts = { ...options, locator: locator(), logger: log };
  const amp = kind === "fast" ? new AMP(opts) : new GeneralAMP(opts);
  const t = new MemoryTransport();
  amp.makeConnection(t);
  for (const c of chunks) amp.dataReceived(c.slice());
  return { out: hex(t.value()), disconnecting: t.disconnecting, log: log.lines };
}

/** Boxes of every kind the receive path distinguishes, good and bad. */
const boxArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc
    .tuple(fc.integer({ min: 1, max: 0xfff }), fc.integer(), fc.integer(), fc.boolean())
    .map(([tag, a, b, swap]) => {
      const pairs: Array<[string, string]> = [
        ["_ask", tag.toString(16)],
        ["_command", "Sum"],
        ["a", String(a)],
        ["b", String(b)],
      ];
      return wire(...(swap ? pairs.reverse() : pairs));
    }),
  fc
    .tuple(
      fc.integer({ min: 1, max: 99 }),
      fc.uint8Array({ maxLength: 40 }),
      fc.constantFrom(undefined, "hi", "oops", "bug", "bad", "\xc3\xa9", "\xff"),
    )
    .map(([tag, data, note]) =>
      wire(
        ["_command", "Echo"],
        ["data", data],
        ...(note === undefined ? [] : [["note", note] as [string, string]]),
        ["_ask", String(tag)],
      ),
    ),
  fc.constantFrom(
    wire(["_ask", "1"], ["_command", "Sum"], ["a", "x"], ["b", "1"]), // bad argument
    wire(["_ask", "2"], ["_command", "Sum"], ["a", "1"]), // missing argument
    wire(["_ask", "3"], ["_command", "Sum"], ["a", " 1_0 "], ["b", "99999999999999999999"]),
    wire(["_ask", "4"], ["_command", "Sum"], ["a", "1"], ["b", "2"], ["a", "40"]), // last a wins
    wire(["_ask", "5"], ["_ask", "6"], ["_command", "Sum"], ["a", "1"], ["b", "2"]),
    wire(["_ask", "7"], ["_command", "Later"], ["a", "5"]),
    wire(["_command", "Fire"], ["a", "1"]),
    wire(["_command", "Fire"], ["a", "-1"]), // fails with no answer asked: logged, closed
    wire(["_ask", "8"], ["_command", "Nope"]),
    wire(["_ask", "9"], ["_command", "Raw"], ["x", "y"]),
    wire(["_ask", "a"], ["_command", "Quit"]),
    wire(["_answer", "1"], ["total", "2"]), // answers no call
    wire(["_error", "1"], ["_error_code", "X"], ["_error_description", "y"]),
    wire(["_ask", "b"], ["_command", "Sum"], ["_answer", "1"], ["a", "1"], ["b", "1"]),
    wire(["hello", "x"]), // NoEmptyBoxes
    wire(["_ask", "c"], ["_command", "Echo"], ["data", new Uint8Array(5000).fill(65)]), // > carry
    wire(
      ["_ask", "d"],
      ["_command", "Echo"],
      ["data", "x"],
      ["k1", ""],
      ["k2", ""],
      ["k3", ""],
      ["k4", ""],
      ["k5", ""],
    ), // 8 pairs: over maxKeys 6 when that limit is set
    Uint8Array.of(0, 0),
    Uint8Array.of(1, 0, 0, 0),
  ),
  fc.uint8Array({ maxLength: 12 }),
);

/** The stream cut at the given points. */
function cut(bytes: Uint8Array, points: number[]): Uint8Array[] {
  const sorted = points.map((p) => p % (bytes.length + 1)).sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of sorted) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  out.push(bytes.subarray(prev));
  return out;
}

describe("AMP in-place receive path", () => {
  it("property: same output, close and log as the general path, for any boxes in any chunking", () => {
    fc.assert(
      fc.property(
        fc.array(boxArb, { maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.constantFrom<AMPOptions>({}, { decoder: { maxKeys: 6, maxBoxBytes: 3000 } }),
        (boxes, points, options) => {
          const chunks = cut(concat(boxes), points);
          expect(run("fast", chunks, options)).toEqual(run("general", chunks, options));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("property: answers to calls settle the same as through the general path, in any chunking", () => {
    /** Makes calls 1..4 (Sum, Echo, Sum, raw), feeds `chunks`, and records how each call ended. */
    const settle = (kind: "fast" | "general", chunks: Uint8Array[]) => {
      const log = recorder();
      const amp = kind === "fast" ? new AMP({ logger: log }) : new GeneralAMP({ logger: log });
      const t = new MemoryTransport();
      amp.makeConnection(t);
      const outcomes: string[] = [];
      const show = (v: unknown): string =>
        JSON.stringify(v, (_k, x) =>
          x instanceof Uint8Array
            ? hex(x)
            : x instanceof Map
              ? [...x].map(([k, y]) => [k, hex(y)])
              : typeof x === "bigint"
                ? `${x}n`
                : x,
        );
      const record = (i: number) => ({
        ok: (v: unknown) => void outcomes.push(`${i} ok ${show(v)}`),
        err: (e: Error) => void outcomes.push(`${i} ${e.constructor.name} ${e.message}`),
      });
      const calls = [
        amp.callRemote(Sum, { a: 1, b: 2 }),
        amp.callRemote(Echo, { data: Uint8Array.of(1) }),
        amp.callRemote(Sum, { a: 3, b: 4 }),
        amp.callRemoteString("Raw", [["x", Uint8Array.of(2)]]),
      ];
      calls.forEach((d, i) => {
        const r = record(i + 1);
        (d as Deferred<unknown>).addCallbacks(r.ok, r.err);
      });
      for (const c of chunks) amp.dataReceived(c.slice());
      return { outcomes, out: hex(t.value()), disconnecting: t.disconnecting, log: log.lines };
    };
    const answerArb: fc.Arbitrary<Uint8Array> = fc.oneof(
      fc
        .tuple(fc.constantFrom("1", "3", "9"), fc.integer(), fc.boolean())
        .map(([tag, total, swap]) => {
          const pairs: Array<[string, string]> = [
            ["_answer", tag],
            ["total", String(total)],
          ];
          return wire(...(swap ? pairs.reverse() : pairs));
        }),
      fc
        .tuple(fc.uint8Array({ maxLength: 20 }), fc.constantFrom(undefined, "hi", "\xff"))
        .map(([data, note]) =>
          wire(
            ["_answer", "2"],
            ["data", data],
            ...(note === undefined ? [] : [["note", note] as [string, string]]),
          ),
        ),
      fc.constantFrom(
        wire(["_answer", "1"], ["total", "x"]), // does not decode: that call fails
        wire(["_answer", "3"]), // missing key
        wire(["_answer", "1"], ["total", "5"], ["total", "6"]), // last wins
        wire(["_answer", "4"], ["got", "z"]), // raw answer
        wire(["_answer", "2"], ["_error", "2"], ["data", ""]), // _answer wins
        wire(["_error", "3"], ["_error_code", "X"], ["_error_description", "no"]),
        wire(["_error", "1"], ["_error_code", "UNHANDLED"], ["_error_description", "u"]),
        wire(["_error", "2"], ["_error_code", "X"]), // malformed error box
        wire(["_answer", "1"], ["_command", "Sum"], ["total", "1"]),
        Uint8Array.of(0, 0),
      ),
      fc.uint8Array({ maxLength: 8 }),
    );
    fc.assert(
      fc.property(
        fc.array(answerArb, { maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (boxes, points) => {
          const chunks = cut(concat(boxes), points);
          expect(settle("fast", chunks)).toEqual(settle("general", chunks));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("answers pipelined Sum calls in one write, whatever the chunking", () => {
    const boxes = Array.from({ length: 64 }, (_, i) =>
      wire(["_ask", (i + 1).toString(16)], ["_command", "Sum"], ["a", String(i)], ["b", "1"]),
    );
    const stream = concat(boxes);
    const expected = hex(
      concat(
        boxes.map((_, i) => wire(["_answer", (i + 1).toString(16)], ["total", String(i + 1)])),
      ),
    );
    const amp = new AMP({ locator: locator(), logger: recorder() });
    const t = new MemoryTransport();
    const writes: number[] = [];
    const write = t.write.bind(t);
    t.write = (d) => {
      writes.push(d.length);
      write(d);
    };
    amp.makeConnection(t);
    amp.dataReceived(stream);
    expect(hex(t.value())).toBe(expected);
    expect(writes).toHaveLength(1);
    // Byte by byte: every box straddles chunks.
    t.clear();
    for (let i = 0; i < stream.length; i++) amp.dataReceived(stream.subarray(i, i + 1));
    expect(hex(t.value())).toBe(expected);
  });

  it("a box larger than the carry, cut by chunk ends, is answered and the next boxes still are", () => {
    const big = wire(["_ask", "1"], ["_command", "Echo"], ["data", new Uint8Array(20000).fill(7)]);
    const next = wire(["_ask", "2"], ["_command", "Sum"], ["a", "1"], ["b", "2"]);
    const stream = concat([big, next, next]);
    const amp = new AMP({ locator: locator(), logger: recorder() });
    const t = new MemoryTransport();
    amp.makeConnection(t);
    for (let i = 0; i < stream.length; i += 1000) amp.dataReceived(stream.subarray(i, i + 1000));
    const answer = wire(["_answer", "2"], ["total", "3"]);
    expect(hex(t.value())).toBe(
      hex(
        concat([wire(["_answer", "1"], ["data", new Uint8Array(20000).fill(7)]), answer, answer]),
      ),
    );
  });

  it("an async responder's answer carries a copy of the tag (the request bytes may be reused)", async () => {
    const amp = new AMP({
      locator: new CommandLocator<AMP>().responder(Sum, async ({ a, b }) => ({
        total: Number(a) + Number(b),
      })),
      logger: recorder(),
    });
    const t = new MemoryTransport();
    amp.makeConnection(t);
    const req = wire(["_ask", "abc"], ["_command", "Sum"], ["a", "1"], ["b", "2"]);
    amp.dataReceived(req);
    req.fill(0);
    await new Promise((r) => setImmediate(r));
    expect(hex(t.value())).toBe(hex(wire(["_answer", "abc"], ["total", "3"])));
  });
});

describe("AMP logging levels", () => {
  it("peer faults go to warn, local faults to error; only the first violation of a chunk", () => {
    const log = recorder();
    const amp = new AMP({ locator: locator(), logger: log });
    const t = new MemoryTransport();
    amp.makeConnection(t);
    amp.dataReceived(wire(["_ask", "1"], ["_command", "Echo"], ["data", "x"], ["note", "bug"]));
    expect(log.lines).toEqual(["error:TypeError:undeclared"]);
    const amp2 = new AMP({ locator: locator(), logger: log });
    amp2.makeConnection(new MemoryTransport());
    amp2.dataReceived(wire(["_ask", "1"], ["_command", "Sum"], ["a", "x"], ["b", "1"]));
    expect(log.lines[1]).toMatch(/^warn:ArgumentError:/);
    const amp3 = new AMP({ locator: locator(), logger: log });
    amp3.makeConnection(new MemoryTransport());
    amp3.dataReceived(concat([Uint8Array.of(0, 0), Uint8Array.of(0, 0), Uint8Array.of(9, 9)]));
    expect(log.lines.slice(2)).toEqual([`warn:NoEmptyBoxes:${new NoEmptyBoxes().message}`]);
  });

  it("a logger without warn gets peer faults at error", () => {
    const errors: unknown[] = [];
    const amp = new AMP({ logger: { error: (obj) => void errors.push(obj.err) } });
    amp.makeConnection(new MemoryTransport());
    amp.dataReceived(Uint8Array.of(0, 0));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(NoEmptyBoxes);
  });
});

describe("rateLimitedLogger", () => {
  function manual() {
    let now = 0;
    const timers: Array<{ at: number; fn: () => void }> = [];
    const lines: string[] = [];
    const logger = rateLimitedLogger({
      maxPerSecond: 3,
      now: () => now,
      setTimer: (fn, ms) => void timers.push({ at: now + ms, fn }),
      sink: {
        error: (msg) => void lines.push(`E ${String(msg)}`),
        warn: (msg) => void lines.push(`W ${String(msg)}`),
      },
    });
    const advance = (ms: number) => {
      now += ms;
      for (const t of timers.splice(0)) {
        if (t.at <= now) t.fn();
        else timers.push(t);
      }
    };
    return { logger, lines, advance, timers };
  }

  it("lets maxPerSecond reports through per second, then one summary of the suppressed ones", () => {
    const { logger, lines, advance, timers } = manual();
    for (let i = 0; i < 10; i++) logger.warn?.({ err: new Error(`e${i}`) }, `peer ${i}`);
    logger.error({ err: new Error("x") }, "local");
    // A peer's fault is one short line: no error object, no stack.
    expect(lines).toEqual([
      'W weft amp: peer 0: "e0"',
      'W weft amp: peer 1: "e1"',
      'W weft amp: peer 2: "e2"',
    ]);
    expect(timers).toHaveLength(1); // one summary timer however many were dropped
    advance(999);
    expect(lines).toHaveLength(3);
    advance(1);
    expect(lines[3]).toBe("W weft amp: suppressed 8 AMP report(s) (over 3 per second)");
    logger.error({ err: new Error("y") }, "local again");
    expect(lines[4]).toBe("E weft amp: local again");
    expect(lines).toHaveLength(5);
  });

  it("the summary also comes with the next report when the timer has not run", () => {
    const late = manual();
    for (let i = 0; i < 5; i++) late.logger.error({ err: null }, `m${i}`);
    late.timers.length = 0; // a timer that never ran
    late.advance(1500);
    late.logger.error({ err: null }, "next");
    expect(late.lines.slice(3)).toEqual([
      "W weft amp: suppressed 2 AMP report(s) (over 3 per second)",
      "E weft amp: next",
    ]);
  });

  describe("the default logger", () => {
    afterEach(() => vi.restoreAllMocks());

    it("a flood of bad peers gives a bounded number of stderr lines", () => {
      const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
      const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
      for (let i = 0; i < 300; i++) {
        const amp = new AMP();
        amp.makeConnection(new MemoryTransport());
        amp.dataReceived(Uint8Array.of(0, 0));
      }
      // 10 per second: a window may roll over once during the loop; never one line per peer.
      expect(error.mock.calls.length + warn.mock.calls.length).toBeLessThanOrEqual(21);
      expect(error.mock.calls.length + warn.mock.calls.length).toBeGreaterThanOrEqual(1);
    });
  });
});
