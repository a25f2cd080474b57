/**
 * The AMP protocol over in-memory transports: the applicable cases of Twisted's test_amp.py (8.4 of
 * the reference) and the server/client semantics of 4.2–4.4. Expected wire bytes come from `wire()`,
 * a test-only encoder that writes pairs in the order given (independent of encodeBox).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Deferred } from "../../../src/core/deferred.js";
import { ConnectionDone } from "../../../src/core/errors.js";
import {
  AmpList,
  Bytes,
  Integer,
  optional,
  Unicode,
} from "../../../src/protocols/amp/arguments.js";
import type { AmpBox } from "../../../src/protocols/amp/box.js";
import { bigValue, CommandLocator, defineCommand } from "../../../src/protocols/amp/command.js";
import {
  AmpError,
  BoxTooLarge,
  InvalidSignature,
  MalformedAmpBox,
  NoEmptyBoxes,
  RemoteAmpError,
  TooLong,
  UnhandledCommand,
  UnknownRemoteError,
} from "../../../src/protocols/amp/errors.js";
import type { AmpLogger } from "../../../src/protocols/amp/logger.js";
import { AMP, AMPFactory } from "../../../src/protocols/amp/protocol.js";
import { ampIntegerValue } from "../../../src/testing/amp-arbitraries.js";
import { chunked } from "../../../src/testing/arbitraries.js";
import { connectedPair, MemoryTransport } from "../../../src/testing/memory.js";

// ------------------------------------------------------------------------------------------------
// helpers

const utf8 = new TextEncoder();
const b = (s: string) => utf8.encode(s);
const latin = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** Test oracle: one box with its pairs in the given order (latin1 keys, UTF-8 string values). */
function wire(...pairs: Array<[string, string | Uint8Array]>): Uint8Array {
  const parts: number[] = [];
  for (const [k, v] of pairs) {
    const kb = latin(k);
    const vb = typeof v === "string" ? b(v) : v;
    parts.push(kb.length >> 8, kb.length & 0xff, ...kb, vb.length >> 8, vb.length & 0xff, ...vb);
  }
  parts.push(0, 0);
  return Uint8Array.from(parts);
}

function hex(u: Uint8Array): string {
  return Buffer.from(u).toString("hex");
}

function captureLogger(): AmpLogger & { errors: unknown[] } {
  const errors: unknown[] = [];
  return {
    errors,
    error(obj) {
      errors.push(obj.err);
    },
  };
}

/** An AMP on a MemoryTransport that delivers connectionLost once on loseConnection. */
function onMemory(amp: AMP): MemoryTransport {
  const t = new MemoryTransport();
  amp.makeConnection(t);
  return t;
}

function lose(amp: AMP, reason: Error = new ConnectionDone()): void {
  amp.connectionLost(reason);
}

async function failureOf(d: PromiseLike<unknown>): Promise<unknown> {
  try {
    await d;
  } catch (e) {
    return e;
  }
  throw new Error("expected a failure");
}

// ------------------------------------------------------------------------------------------------
// commands used by the tests (mirroring test_amp.py's)

class UnfriendlyGreeting extends Error {
  override name = "UnfriendlyGreeting";
}
class DeathThreat extends Error {
  override name = "DeathThreat";
}
class UnknownProtocol extends Error {}

const Hello = defineCommand({
  name: "hello",
  arguments: {
    hello: Bytes,
    optional: optional(Bytes),
    print: optional(Unicode),
    from: optional(Bytes),
    mixedCase: optional(Bytes),
    "dash-arg": optional(Bytes),
    underscore_arg: optional(Bytes),
  },
  response: { hello: Bytes, print: optional(Unicode) },
  errors: { UNFRIENDLY: UnfriendlyGreeting },
  fatalErrors: { DEAD: DeathThreat },
});

const NoAnswerHello = defineCommand({
  name: "hello",
  arguments: { hello: Bytes },
  response: { hello: Bytes },
  errors: { UNFRIENDLY: UnfriendlyGreeting },
  requiresAnswer: false,
});

const Sum = defineCommand({
  name: "Sum",
  arguments: { a: Integer, b: Integer },
  response: { total: Integer },
});

const Goodbye = defineCommand({
  name: "goodbye",
  response: { goodbye: Unicode },
  responseType: "quit",
});

const GetList = defineCommand({
  name: "getlist",
  arguments: { length: Integer },
  response: { body: AmpList({ x: Integer }) },
});

const DontRejectMe = defineCommand({
  name: "dontrejectme",
  arguments: { magicWord: Unicode, list: optional(AmpList({ name: Unicode })) },
  response: { response: Unicode },
});

const Big = defineCommand({
  name: "big",
  arguments: { data: bigValue(Bytes) },
  response: { size: Integer, data: bigValue(Bytes) },
});

/** The SimpleSymmetricCommandProtocol of test_amp, as a shared locator. */
function helloLocator(log: unknown[] = []): CommandLocator<AMP> {
  return new CommandLocator<AMP>()
    .responder(Hello, (args) => {
      log.push(args);
      const text = new TextDecoder().decode(args.hello);
      if (text === "fuck") throw new UnfriendlyGreeting("Don't be a dick.");
      if (text === "die") throw new DeathThreat("aieeeeeeeee");
      if (text === "undeclared") throw new UnknownProtocol("Heh, heh, heh.");
      return args.print === undefined
        ? { hello: args.hello }
        : { hello: args.hello, print: args.print };
    })
    .responder(Sum, ({ a, b }) => ({ total: BigInt(a) + BigInt(b) }))
    .responder(Goodbye, () => ({ goodbye: "everyone" }))
    .responder(GetList, ({ length }) => ({
      body: Array.from({ length: Number(length) }, () => ({ x: 1 })),
    }))
    .responder(DontRejectMe, ({ magicWord, list }) => ({
      response: `${magicWord}${list === undefined ? "" : list.map((e) => e.name).join(",")}`,
    }))
    .responder(Big, ({ data }) => ({ size: data.length, data }));
}

function pair(opts: { serverLog?: AmpLogger; clientLog?: AmpLogger; big?: boolean } = {}) {
  const server = new AMP({
    locator: helloLocator(),
    logger: opts.serverLog ?? captureLogger(),
    bigValues: opts.big ?? false,
  });
  const client = new AMP({
    logger: opts.clientLog ?? captureLogger(),
    bigValues: opts.big ?? false,
  });
  const p = connectedPair(server, client);
  return { server, client, flush: () => p.pump.flush() };
}

// ------------------------------------------------------------------------------------------------

describe("AMP wire format (golden vectors of reference 4.1)", () => {
  it("callRemote(Sum) writes _ask 1, _command, sorted arguments", () => {
    const amp = new AMP();
    const t = onMemory(amp);
    const d = amp.callRemote(Sum, { a: 13, b: 81 });
    expect(hex(t.value())).toBe(
      hex(wire(["_ask", "1"], ["_command", "Sum"], ["a", "13"], ["b", "81"])),
    );
    let answer: unknown;
    d.addCallback((r) => {
      answer = r;
    });
    amp.dataReceived(wire(["_answer", "1"], ["total", "94"]));
    expect(answer).toEqual({ total: 94 });
    expect(amp.outstandingCalls).toBe(0);
  });

  it("test_callRemote: first call is {_command: hello, _ask: 1, hello: world}; extra answer keys ignored", () => {
    const amp = new AMP();
    const t = onMemory(amp);
    const d = amp.callRemote(Hello, { hello: b("world") });
    expect(hex(t.value())).toBe(
      hex(wire(["_ask", "1"], ["_command", "hello"], ["hello", "world"])),
    );
    let answer: unknown;
    d.addCallback((r) => {
      answer = r;
    });
    amp.dataReceived(wire(["hello", "yay"], ["print", "ignored"], ["_answer", "1"], ["zz", "x"]));
    expect(answer).toEqual({ hello: b("yay"), print: "ignored" });
  });

  it("test_basicLiteralEmit: wire names keep '-' and case, keys sorted bytewise", () => {
    const amp = new AMP();
    const t = onMemory(amp);
    amp.callRemote(Hello, {
      hello: b("hello test"),
      mixedCase: b("mixed case arg test"),
      "dash-arg": b("x"),
      underscore_arg: b("y"),
    });
    expect(hex(t.value())).toBe(
      hex(
        wire(
          ["_ask", "1"],
          ["_command", "hello"],
          ["dash-arg", "x"],
          ["hello", "hello test"],
          ["mixedCase", "mixed case arg test"],
          ["underscore_arg", "y"],
        ),
      ),
    );
  });

  it("_ask tags count in lowercase hex from 1 (no-answer calls use a number too)", () => {
    const amp = new AMP();
    const t = onMemory(amp);
    const tags: string[] = [];
    for (let i = 0; i < 17; i++) {
      t.clear();
      if (i === 3) {
        amp.callRemote(NoAnswerHello, { hello: b("x") });
        expect(new TextDecoder().decode(t.value())).not.toContain("_ask");
        continue;
      }
      amp.callRemote(Sum, { a: 1, b: 2 });
      const bytes = t.value();
      tags.push(new TextDecoder().decode(bytes.subarray(8, 8 + bytes[7]!)));
    }
    expect(tags).toEqual([
      "1",
      "2",
      "3",
      "5",
      "6",
      "7",
      "8",
      "9",
      "a",
      "b",
      "c",
      "d",
      "e",
      "f",
      "10",
      "11",
    ]);
  });

  it("server answers Sum, Divide-style declared errors, UNHANDLED and UNKNOWN with Twisted's bytes", () => {
    class ZeroDivisionError extends Error {}
    const Divide = defineCommand({
      name: "Divide",
      arguments: { numerator: Integer, denominator: Integer },
      response: { result: Integer },
      errors: { ZERO_DIVISION: ZeroDivisionError },
    });
    const log = captureLogger();
    const amp = new AMP({ logger: log })
      .responder(Sum, ({ a, b }) => ({ total: BigInt(a) + BigInt(b) }))
      .responder(Divide, () => {
        throw new ZeroDivisionError("division by zero");
      });
    const t = onMemory(amp);
    amp.dataReceived(wire(["_ask", "1"], ["_command", "Sum"], ["a", "13"], ["b", "81"]));
    expect(hex(t.value())).toBe(hex(wire(["_answer", "1"], ["total", "94"])));
    t.clear();
    amp.dataReceived(
      wire(["_ask", "2"], ["_command", "Divide"], ["numerator", "1"], ["denominator", "0"]),
    );
    expect(hex(t.value())).toBe(
      hex(
        wire(
          ["_error", "2"],
          ["_error_code", "ZERO_DIVISION"],
          ["_error_description", "division by zero"],
        ),
      ),
    );
    t.clear();
    amp.dataReceived(wire(["_ask", "3"], ["_command", "Nope"]));
    expect(hex(t.value())).toBe(
      hex(
        wire(
          ["_error", "3"],
          ["_error_code", "UNHANDLED"],
          ["_error_description", "Unhandled Command: b'Nope'"],
        ),
      ),
    );
    expect(t.disconnecting).toBe(false);
    t.clear();
    amp.dataReceived(wire(["_ask", "4"], ["_command", "Sum"], ["a", "x"], ["b", "1"]));
    expect(hex(t.value())).toBe(
      hex(
        wire(["_error", "4"], ["_error_code", "UNKNOWN"], ["_error_description", "Unknown Error"]),
      ),
    );
    expect(t.disconnecting).toBe(true);
    expect(log.errors).toHaveLength(1);
  });

  it("the UNHANDLED description is the Python bytes repr of the name", () => {
    const amp = new AMP();
    const t = onMemory(amp);
    amp.dataReceived(wire(["_ask", "1"], ["_command", latin("it's\xff\n")]));
    expect(new TextDecoder().decode(t.value())).toContain(`Unhandled Command: b"it's\\xff\\n"`);
  });

  it("an error description that is not UTF-8 is decoded with replacement", async () => {
    const amp = new AMP();
    onMemory(amp);
    const d = amp.callRemote(Sum, { a: 1, b: 1 });
    amp.dataReceived(
      wire(["_error", "1"], ["_error_code", "BROKEN"], ["_error_description", latin("bad \xff")]),
    );
    const err = (await failureOf(d)) as UnknownRemoteError;
    expect(err).toBeInstanceOf(UnknownRemoteError);
    expect(err.description).toBe("bad \ufffd");
  });

  it("a box sent in connectionMade is written (test_sendBoxInStartReceivingBoxes)", () => {
    class Greeter extends AMP {
      override connectionMade(): void {
        this.sendBox(new Map([["foo", b("bar")]]));
      }
    }
    const t = new MemoryTransport();
    new Greeter().makeConnection(t);
    expect(hex(t.value())).toBe(
      hex(Uint8Array.from([0, 3, 102, 111, 111, 0, 3, 98, 97, 114, 0, 0])),
    );
  });
});

describe("AMP output batching", () => {
  class CountingTransport extends MemoryTransport {
    writes = 0;
    override write(data: Uint8Array | string): void {
      this.writes++;
      super.write(data);
    }
  }

  it("the answers to one chunk leave in one write, in request order", () => {
    const amp = new AMP({ locator: helloLocator() });
    const t = new CountingTransport();
    amp.makeConnection(t);
    const reqs = [1, 2, 3].map((i) =>
      wire(["_ask", String(i)], ["_command", "Sum"], ["a", String(i)], ["b", "10"]),
    );
    amp.dataReceived(Buffer.concat(reqs));
    expect(t.writes).toBe(1);
    expect(hex(t.value())).toBe(
      hex(
        Buffer.concat([
          wire(["_answer", "1"], ["total", "11"]),
          wire(["_answer", "2"], ["total", "12"]),
          wire(["_answer", "3"], ["total", "13"]),
        ]),
      ),
    );
  });

  it("a call made by a callback while a chunk is handled leaves after the chunk's answers", async () => {
    const amp = new AMP({ locator: helloLocator() });
    const t = new CountingTransport();
    amp.makeConnection(t);
    const first = amp.callRemote(Sum, { a: 1, b: 1 });
    first.addCallback(() => amp.callRemote(Sum, { a: 2, b: 2 }));
    t.clear();
    t.writes = 0;
    amp.dataReceived(
      Buffer.concat([
        wire(["_answer", "1"], ["total", "2"]),
        wire(["_ask", "1"], ["_command", "Sum"], ["a", "5"], ["b", "5"]),
      ]),
    );
    expect(t.writes).toBe(1);
    expect(hex(t.value())).toBe(
      hex(
        Buffer.concat([
          wire(["_ask", "2"], ["_command", "Sum"], ["a", "2"], ["b", "2"]),
          wire(["_answer", "1"], ["total", "10"]),
        ]),
      ),
    );
  });

  it("callRemoteString refuses a name that is not latin1 text", () => {
    const amp = new AMP();
    const t = onMemory(amp);
    expect(() => amp.callRemoteString("snow☃")).toThrow(InvalidSignature);
    expect(() => amp.callRemoteString("")).toThrow(InvalidSignature);
    expect(t.value()).toHaveLength(0);
  });
});

describe("AMP round trips (test_amp.AMPTests)", () => {
  it("test_helloWorldCommand and Unicode (wor\\u1234ld in `print`)", async () => {
    const { client, flush } = pair();
    const d = client.callRemote(Hello, { hello: b("world"), print: "wor\u1234ld" });
    flush();
    expect(await d).toEqual({ hello: b("world"), print: "wor\u1234ld" });
  });

  it("test_basicStructuredEmit: the responder gets wire names as keys, absent optionals left out", async () => {
    const seen: unknown[] = [];
    const server = new AMP({ locator: helloLocator(seen) });
    const client = new AMP();
    const p = connectedPair(server, client);
    const d = client.callRemote(Hello, {
      hello: b("hello test"),
      mixedCase: b("mixed case arg test"),
      "dash-arg": b("x"),
      underscore_arg: b("y"),
    });
    p.pump.flush();
    await d;
    expect(seen).toEqual([
      {
        hello: b("hello test"),
        mixedCase: b("mixed case arg test"),
        "dash-arg": b("x"),
        underscore_arg: b("y"),
      },
    ]);
    expect(Object.keys(seen[0] as object)).not.toContain("print");
  });

  it("test_helloWorld low level: callRemoteString returns the raw answer box", async () => {
    const { client, flush } = pair();
    const d = client.callRemoteString("hello", [["hello", b("world")]]);
    flush();
    const box = (await d) as AmpBox;
    expect(box.get("hello")).toEqual(b("world"));
    expect(box.get("_answer")).toEqual(b("1"));
  });

  it("test_callRemoteStringRequiresAnswerFalse: resolves undefined", async () => {
    const { client, flush } = pair();
    const d = client.callRemoteString("hello", [["hello", b("world")]], false);
    flush();
    expect(await d).toBeUndefined();
  });

  it("test_unknownCommandLow / High: UnhandledCommand and the connection stays usable", async () => {
    const { client, flush } = pair();
    const low = client.callRemoteString("WTF", []);
    flush();
    const lowErr = (await failureOf(low)) as UnhandledCommand;
    expect(lowErr).toBeInstanceOf(UnhandledCommand);
    expect(lowErr.code).toBe("ERR_AMP_UNHANDLED_COMMAND");
    expect(lowErr.description).toBe("Unhandled Command: b'WTF'");
    const Wtf = defineCommand({ name: "WTF" });
    const high = client.callRemote(Wtf, {});
    flush();
    expect(await failureOf(high)).toBeInstanceOf(UnhandledCommand);
    const ok = client.callRemote(Sum, { a: 2, b: 3 });
    flush();
    expect(await ok).toEqual({ total: 5 });
  });

  it("test_helloErrorHandling: declared error rebuilt with its description; connection open", async () => {
    const { client, flush } = pair();
    const d = client.callRemote(Hello, { hello: b("fuck") });
    flush();
    const err = await failureOf(d);
    expect(err).toBeInstanceOf(UnfriendlyGreeting);
    expect((err as Error).message).toBe("Don't be a dick.");
    const ok = client.callRemote(Sum, { a: 1, b: 1 });
    flush();
    expect(await ok).toEqual({ total: 2 });
  });

  it("test_helloFatalErrorHandling: fatal error, then the next call fails with ConnectionDone", async () => {
    const { client, flush } = pair();
    const d = client.callRemote(Hello, { hello: b("die") });
    flush();
    const err = await failureOf(d);
    expect(err).toBeInstanceOf(DeathThreat);
    expect((err as Error).message).toBe("aieeeeeeeee");
    expect(client.connected).toBe(false);
    expect(await failureOf(client.callRemote(Sum, { a: 1, b: 1 }))).toBeInstanceOf(ConnectionDone);
  });

  it("test_helloNoErrorHandling: undeclared → UnknownRemoteError, logged, next call ConnectionDone", async () => {
    const serverLog = captureLogger();
    const { client, flush } = pair({ serverLog });
    const d = client.callRemote(Hello, { hello: b("undeclared") });
    flush();
    const err = (await failureOf(d)) as UnknownRemoteError;
    expect(err).toBeInstanceOf(UnknownRemoteError);
    expect(err.errorCode).toBe("UNKNOWN");
    expect(err.description).toBe("Unknown Error");
    expect(serverLog.errors[0]).toBeInstanceOf(UnknownProtocol);
    expect(await failureOf(client.callRemote(Sum, { a: 1, b: 1 }))).toBeInstanceOf(ConnectionDone);
  });

  it("test_brokenReturnValue: a responder returning undefined → UNKNOWN, BadLocalReturn logged", async () => {
    const serverLog = captureLogger();
    const server = new AMP({ logger: serverLog }).responder(
      Sum,
      () => undefined as unknown as { total: number },
    );
    const client = new AMP();
    const p = connectedPair(server, client);
    const d = client.callRemote(Sum, { a: 1, b: 1 });
    p.pump.flush();
    expect(await failureOf(d)).toBeInstanceOf(UnknownRemoteError);
    expect((serverLog.errors[0] as AmpError).code).toBe("ERR_AMP_BAD_LOCAL_RETURN");
    expect(String((serverLog.errors[0] as Error).message)).toContain("undefined");
  });

  it("test_unknownArgument: an extra argument key is ignored by the responder", async () => {
    const { client, flush } = pair();
    const d = client.callRemoteString("Sum", [
      ["a", b("1")],
      ["b", b("2")],
      ["bonus", b("surprise")],
    ]);
    flush();
    expect(((await d) as AmpBox).get("total")).toEqual(b("3"));
  });

  it("missing required response key → InvalidSignature to the caller", async () => {
    const amp = new AMP();
    onMemory(amp);
    const d = amp.callRemote(Sum, { a: 1, b: 2 });
    amp.dataReceived(wire(["_answer", "1"], ["sum", "3"]));
    const err = await failureOf(d);
    expect(err).toBeInstanceOf(InvalidSignature);
    expect((err as Error).message).toContain("total");
  });

  it("test_failEarlyOnArgSending: a missing argument fails before sending; unknown ones throw", async () => {
    const amp = new AMP();
    const t = onMemory(amp);
    const d = amp.callRemote(Sum, { a: 1 } as unknown as { a: number; b: number });
    expect(await failureOf(d)).toBeInstanceOf(InvalidSignature);
    expect(() =>
      amp.callRemote(Sum, { a: 1, b: 2, c: 3 } as unknown as { a: number; b: number }),
    ).toThrow(InvalidSignature);
    expect(t.value()).toHaveLength(0);
  });

  it("test_keyTooLong / test_valueTooLong: TooLong thrown synchronously, nothing written", () => {
    const amp = new AMP();
    const t = onMemory(amp);
    let err: unknown;
    try {
      amp.callRemoteString("hello", [["H".repeat(256), b("x")]]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TooLong);
    expect((err as TooLong).isKey).toBe(true);
    expect((err as TooLong).isLocal).toBe(true);
    expect((err as TooLong).keyName).toBeNull();
    expect((err as Error).message).toContain("256");
    expect((err as Error).message).toContain("key");
    try {
      amp.callRemote(Hello, { hello: new Uint8Array(65536) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TooLong);
    expect((err as TooLong).isKey).toBe(false);
    expect((err as TooLong).isLocal).toBe(true);
    expect((err as TooLong).keyName).toBe("hello");
    expect((err as Error).message).toContain("65536");
    expect(t.value()).toHaveLength(0);
    expect(amp.outstandingCalls).toBe(0);
  });

  it("test_quitBoxQuits: a QuitBox answer is sent, then the connection closes", async () => {
    const { client, flush } = pair();
    const d = client.callRemote(Goodbye, {});
    flush();
    expect(await d).toEqual({ goodbye: "everyone" });
    expect(client.connected).toBe(false);
  });

  it("test_ampListCommand: GetList(length=10) → [{x: 1}] × 10", async () => {
    const { client, flush } = pair();
    const d = client.callRemote(GetList, { length: 10 });
    flush();
    expect((await d).body).toEqual(Array.from({ length: 10 }, () => ({ x: 1 })));
  });

  it("test_optionalAmpListOmitted / Present", async () => {
    const { client, flush } = pair();
    const omitted = client.callRemote(DontRejectMe, { magicWord: "please" });
    const present = client.callRemote(DontRejectMe, {
      magicWord: "please",
      list: [{ name: "foo" }],
    });
    flush();
    expect(await omitted).toEqual({ response: "please" });
    expect(await present).toEqual({ response: "pleasefoo" });
  });

  it("async responders (Promise and Deferred) answer when they settle, out of order", async () => {
    const gates: Array<Deferred<{ total: number }>> = [];
    let resolvePromise: (v: { total: number }) => void = () => {};
    const Slow = defineCommand({ name: "slow", response: { total: Integer } });
    const server = new AMP()
      .responder(Slow, () => {
        const d = new Deferred<{ total: number }>();
        gates.push(d);
        return d;
      })
      .responder(
        Sum,
        () =>
          new Promise<{ total: number }>((r) => {
            resolvePromise = r;
          }),
      );
    const client = new AMP();
    const p = connectedPair(server, client);
    const slow = client.callRemote(Slow, {});
    const sum = client.callRemote(Sum, { a: 1, b: 2 });
    p.pump.flush();
    resolvePromise({ total: 3 });
    await Promise.resolve();
    p.pump.flush();
    expect(await sum).toEqual({ total: 3 });
    gates[0]!.callback({ total: 7 });
    p.pump.flush();
    expect(await slow).toEqual({ total: 7 });
  });

  it("a rejected Promise with a declared error becomes that error on the caller", async () => {
    const server = new AMP().responder(Hello, async () => {
      throw new UnfriendlyGreeting("later");
    });
    const client = new AMP();
    const p = connectedPair(server, client);
    const d = client.callRemote(Hello, { hello: b("x") });
    p.pump.flush();
    await new Promise((r) => setImmediate(r));
    p.pump.flush();
    const err = await failureOf(d);
    expect(err).toBeInstanceOf(UnfriendlyGreeting);
    expect((err as Error).message).toBe("later");
  });

  it("a responder may throw RemoteAmpError to send its own code", async () => {
    const server = new AMP().responder(Sum, () => {
      throw new RemoteAmpError("BROKEN", "Something has broken");
    });
    const client = new AMP();
    const p = connectedPair(server, client);
    const d = client.callRemoteString("Sum", [
      ["a", b("1")],
      ["b", b("2")],
    ]);
    p.pump.flush();
    const err = (await failureOf(d)) as RemoteAmpError;
    expect(err).toBeInstanceOf(RemoteAmpError);
    expect(err.message).toBe("Code<BROKEN>: Something has broken");
    expect(server.connected).toBe(true);
  });

  it("both sides can call each other on one connection", async () => {
    const a = new AMP({ locator: helloLocator() });
    const c = new AMP({ locator: helloLocator() });
    const p = connectedPair(a, c);
    const x = a.callRemote(Sum, { a: 1, b: 1 });
    const y = c.callRemote(Sum, { a: 2, b: 2 });
    p.pump.flush();
    expect(await x).toEqual({ total: 2 });
    expect(await y).toEqual({ total: 4 });
  });

  it("an AMPFactory shares one locator with every connection; own responders take precedence", async () => {
    const locator = helloLocator();
    const factory = new AMPFactory(locator);
    const addr = { type: "TCP" as const, host: "127.0.0.1", port: 1 };
    const s1 = factory.buildProtocol(addr);
    const s2 = factory.buildProtocol(addr).responder(Sum, () => ({ total: -1 }));
    expect(s1.locator).toBe(locator);
    expect(s1.factory).toBe(factory);
    const c1 = new AMP();
    const c2 = new AMP();
    const p1 = connectedPair(s1, c1);
    const p2 = connectedPair(s2, c2);
    const d1 = c1.callRemote(Sum, { a: 1, b: 1 });
    const d2 = c2.callRemote(Sum, { a: 1, b: 1 });
    p1.pump.flush();
    p2.pump.flush();
    expect(await d1).toEqual({ total: 2 });
    expect(await d2).toEqual({ total: -1 });
  });
});

describe("AMP requiresAnswer: false", () => {
  it("test_requiresNoAnswer: no _ask, resolves undefined, the responder runs", async () => {
    const seen: unknown[] = [];
    const server = new AMP({ locator: helloLocator(seen) });
    const client = new AMP();
    const p = connectedPair(server, client);
    const d = client.callRemote(NoAnswerHello, { hello: b("world") });
    expect(await d).toBeUndefined();
    p.pump.flush();
    expect(seen).toEqual([{ hello: b("world") }]);
    expect(server.connected).toBe(true);
  });

  it("test_requiresNoAnswerFail: a failing no-answer command is logged and drops the connection", async () => {
    const serverLog = captureLogger();
    const { client, flush } = pair({ serverLog });
    await client.callRemote(NoAnswerHello, { hello: b("fuck") });
    flush();
    expect(serverLog.errors[0]).toBeInstanceOf(UnfriendlyGreeting);
    expect(client.connected).toBe(false);
    expect(await failureOf(client.callRemote(Sum, { a: 1, b: 1 }))).toBeInstanceOf(ConnectionDone);
    // test_requiresNoAnswerAfterFail: a no-answer call after the loss resolves undefined
    expect(await client.callRemote(NoAnswerHello, { hello: b("x") })).toBeUndefined();
  });

  it("test_noAnswerResponderAskedForAnswer: a caller may still ask; the responder answers", async () => {
    const { client, flush } = pair();
    const d = client.callRemoteString("hello", [["hello", b("Hello!")]], true);
    flush();
    expect(((await d) as AmpBox).get("hello")).toEqual(b("Hello!"));
  });
});

describe("AMP connection loss and protocol violations", () => {
  it("a lost connection fails every call in flight with the loss reason; later calls at once", async () => {
    const amp = new AMP();
    onMemory(amp);
    const d1 = amp.callRemote(Sum, { a: 1, b: 1 });
    const d2 = amp.callRemote(Sum, { a: 1, b: 1 });
    const reason = new ConnectionDone();
    lose(amp, reason);
    expect(await failureOf(d1)).toBe(reason);
    expect(await failureOf(d2)).toBe(reason);
    expect(await failureOf(amp.callRemote(Sum, { a: 1, b: 1 }))).toBe(reason);
  });

  it("test_lateAnswer: an answer produced after the connection died is dropped quietly", async () => {
    const gate = new Deferred<{ total: number }>();
    const log = captureLogger();
    const server = new AMP({ logger: log }).responder(Sum, () => gate);
    const t = onMemory(server);
    server.dataReceived(wire(["_ask", "1"], ["_command", "Sum"], ["a", "1"], ["b", "2"]));
    lose(server);
    gate.callback({ total: 3 });
    expect(t.value()).toHaveLength(0);
    expect(log.errors).toEqual([]);
  });

  it("key-length overflow (\\x01\\x00) closes; calls in flight fail with TooLong(isKey, remote)", async () => {
    for (const prefix of [
      new Uint8Array(0),
      wire(["k", "v"]).subarray(0, -2), // first box, subsequent key
    ]) {
      const amp = new AMP({ logger: captureLogger() });
      const t = onMemory(amp);
      const d = amp.callRemote(Sum, { a: 1, b: 1 });
      amp.dataReceived(prefix);
      expect(t.disconnecting).toBe(false);
      amp.dataReceived(Uint8Array.from([1, 0]));
      expect(t.disconnecting).toBe(true);
      lose(amp);
      const err = (await failureOf(d)) as TooLong;
      expect(err).toBeInstanceOf(TooLong);
      expect(err.isKey).toBe(true);
      expect(err.isLocal).toBe(false);
      expect(err.value).toBeNull();
      expect(err.keyName).toBeNull();
    }
  });

  it("decoder limits: a box over maxKeys closes; calls in flight fail with BoxTooLarge", async () => {
    const amp = new AMP({ logger: captureLogger(), decoder: { maxKeys: 3 } });
    const t = onMemory(amp);
    const d = amp.callRemote(Sum, { a: 1, b: 1 });
    amp.dataReceived(wire(["a", "1"], ["b", "2"], ["c", "3"], ["d", "4"]));
    expect(t.disconnecting).toBe(true);
    lose(amp);
    const err = (await failureOf(d)) as BoxTooLarge;
    expect(err).toBeInstanceOf(BoxTooLarge);
    expect(err.code).toBe("ERR_AMP_BOX_TOO_LARGE");
  });

  it("test_subsequentBoxFirstKeyExcessiveLength: a whole box first, then \\x01\\x00", () => {
    const seen: unknown[] = [];
    const amp = new AMP({ locator: helloLocator(seen), logger: captureLogger() });
    const t = onMemory(amp);
    amp.dataReceived(wire(["_command", "hello"], ["hello", "x"]));
    expect(seen).toHaveLength(1);
    amp.dataReceived(Uint8Array.from([1, 0]));
    expect(t.disconnecting).toBe(true);
  });

  it("test_sillyEmptyThing: an empty box → NoEmptyBoxes, closed, reason given to calls in flight", async () => {
    const log = captureLogger();
    const amp = new AMP({ logger: log });
    const t = onMemory(amp);
    const d = amp.callRemote(Sum, { a: 1, b: 1 });
    amp.dataReceived(Uint8Array.from([0, 0]));
    expect(t.disconnecting).toBe(true);
    lose(amp);
    expect(await failureOf(d)).toBeInstanceOf(NoEmptyBoxes);
    expect(log.errors[0]).toBeInstanceOf(NoEmptyBoxes);
  });

  it("boxes with only user keys or only _ask are NoEmptyBoxes too; later boxes in the chunk are ignored", () => {
    for (const bad of [wire(["hello", "x"]), wire(["_ask", "1"])]) {
      const seen: unknown[] = [];
      const amp = new AMP({ locator: helloLocator(seen), logger: captureLogger() });
      const t = onMemory(amp);
      const next = wire(["_command", "hello"], ["hello", "x"]);
      const chunk = new Uint8Array(bad.length + next.length);
      chunk.set(bad);
      chunk.set(next, bad.length);
      amp.dataReceived(chunk);
      expect(t.disconnecting).toBe(true);
      expect(seen).toEqual([]);
    }
  });

  it("an answer or error for a tag not in flight closes the connection", () => {
    for (const bad of [
      wire(["_answer", "7"], ["total", "1"]),
      wire(["_error", "7"], ["_error_code", "X"], ["_error_description", "y"]),
    ]) {
      const log = captureLogger();
      const amp = new AMP({ logger: log });
      const t = onMemory(amp);
      amp.dataReceived(bad);
      expect(t.disconnecting).toBe(true);
      expect(log.errors[0]).toBeInstanceOf(MalformedAmpBox);
    }
  });

  it("dispatch priority: a box with _answer and _command is an answer", async () => {
    const seen: unknown[] = [];
    const amp = new AMP({ locator: helloLocator(seen) });
    onMemory(amp);
    const d = amp.callRemote(Sum, { a: 1, b: 1 });
    amp.dataReceived(wire(["_answer", "1"], ["_command", "hello"], ["hello", "x"], ["total", "2"]));
    expect(await d).toEqual({ total: 2 });
    expect(seen).toEqual([]);
  });

  it("a responder answer too long to encode → no reply at all, logged, connection dropped", () => {
    const log = captureLogger();
    const amp = new AMP({ logger: log }).responder(Hello, () => ({ hello: new Uint8Array(70000) }));
    const t = onMemory(amp);
    amp.dataReceived(wire(["_ask", "1"], ["_command", "hello"], ["hello", "x"]));
    expect(t.value()).toHaveLength(0);
    expect(t.disconnecting).toBe(true);
    expect(log.errors[0]).toBeInstanceOf(TooLong);
  });

  it("property: arbitrary bytes in any chunking never throw; each run ends open or closed with a typed error", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 40 }),
            fc.constantFrom(
              wire(["_ask", "1"], ["_command", "Sum"], ["a", "1"], ["b", "2"]),
              wire(["_command", "hello"], ["hello", "x"]),
              wire(["_answer", "1"], ["total", "2"]),
              wire(["_error", "2"], ["_error_code", "X"], ["_error_description", "y"]),
              Uint8Array.from([0, 0]),
              Uint8Array.from([1, 0]),
            ),
          ),
          { maxLength: 12 },
        ),
        (chunks) => {
          const log = captureLogger();
          const amp = new AMP({ locator: helloLocator(), logger: log });
          const t = onMemory(amp);
          const calls = [amp.callRemote(Sum, { a: 1, b: 1 }), amp.callRemote(Sum, { a: 2, b: 2 })];
          for (const c of chunks) amp.dataReceived(c);
          lose(amp);
          for (const d of calls) d.addErrback(() => undefined);
          if (t.disconnecting) {
            expect(log.errors.length).toBeGreaterThanOrEqual(1);
            for (const e of log.errors) expect(e).toBeInstanceOf(Error);
            expect(log.errors.some((e) => e instanceof AmpError)).toBe(true);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("AMP properties over arbitrary chunking", () => {
  it("a server answers a stream of Sum calls the same whatever the chunking, each total exact", () => {
    fc.assert(
      fc.property(
        fc
          .array(fc.tuple(ampIntegerValue(), ampIntegerValue()), { minLength: 1, maxLength: 8 })
          .chain((pairs) => {
            const reqs = pairs.map(([a, c], i) =>
              wire(
                ["_ask", (i + 1).toString(16)],
                ["_command", "Sum"],
                ["a", String(a)],
                ["b", String(c)],
              ),
            );
            const bytes = Buffer.concat(reqs);
            return fc.tuple(fc.constant(pairs), fc.constant(bytes), chunked(bytes));
          }),
        ([pairs, bytes, chunks]) => {
          const whole = new AMP({ locator: helloLocator() });
          const tw = onMemory(whole);
          whole.dataReceived(bytes);
          const split = new AMP({ locator: helloLocator() });
          const ts = onMemory(split);
          for (const c of chunks) split.dataReceived(c);
          expect(hex(ts.value())).toBe(hex(tw.value()));
          const expected = Buffer.concat(
            pairs.map(([a, c], i) =>
              wire(["_answer", (i + 1).toString(16)], ["total", String(BigInt(a) + BigInt(c))]),
            ),
          );
          expect(hex(tw.value())).toBe(hex(expected));
        },
      ),
      { numRuns: 100 },
    );
  });

  it("a client resolves every call right whatever the chunking of the answers", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(ampIntegerValue(), { minLength: 1, maxLength: 8 }).chain((totals) => {
          const bytes = Buffer.concat(
            totals.map((t, i) => wire(["_answer", (i + 1).toString(16)], ["total", String(t)])),
          );
          return fc.tuple(fc.constant(totals), chunked(bytes));
        }),
        async ([totals, chunks]) => {
          const amp = new AMP();
          onMemory(amp);
          const calls = totals.map(() => amp.callRemote(Sum, { a: 0, b: 0 }));
          for (const c of chunks) amp.dataReceived(c);
          const got = await Promise.all(calls.map((d) => d.asPromise()));
          expect(got.map((r) => BigInt(r.total))).toEqual(totals.map((t) => BigInt(t)));
          expect(amp.outstandingCalls).toBe(0);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe("weft extension: values over 64 KiB (BigString convention)", () => {
  it("bigValue() splits into name, name.2, name.3 … and joins them back", async () => {
    const { client, flush } = pair();
    const data = new Uint8Array(200_000).map((_, i) => i % 251);
    const d = client.callRemote(Big, { data });
    flush();
    const r = await d;
    expect(r.size).toBe(200_000);
    expect(Buffer.from(r.data).equals(data)).toBe(true);
  });

  it("the split is visible on the wire as ordinary keys a Twisted peer can parse", () => {
    const amp = new AMP();
    const t = onMemory(amp);
    amp.callRemote(Big, { data: new Uint8Array(65535 * 2 + 10) });
    const text = Buffer.from(t.value()).toString("latin1");
    expect(text).toContain("\x00\x04data\xff\xff");
    expect(text).toContain("\x00\x06data.2\xff\xff");
    expect(text).toContain("\x00\x06data.3\x00\x0a");
    expect(text).not.toContain("data.4");
  });

  it("per protocol: { bigValues: true } applies to every argument", async () => {
    const { client, flush } = pair({ big: true });
    const hello = new Uint8Array(100_000).fill(7);
    const d = client.callRemote(Hello, { hello });
    flush();
    expect(Buffer.from((await d).hello).equals(hello)).toBe(true);
  });

  it("without the extension a big value is still refused with TooLong", () => {
    const amp = new AMP();
    onMemory(amp);
    expect(() => amp.callRemote(Hello, { hello: new Uint8Array(65536) })).toThrow(TooLong);
  });
});
