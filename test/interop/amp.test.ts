/**
 * AMP interop with the real Twisted (22.4, /usr/bin/python3): a Twisted client calls weft's server,
 * and weft's client calls a Twisted server, both checking every answer. If Twisted is missing these
 * tests FAIL (never skip).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  calculatorLocator,
  Divide,
  Echo,
  Sum,
  Transform,
  UnknownTransform,
  ZeroDivisionError,
} from "../../examples/amp-commands.js";
import { gatherResults } from "../../src/core/deferred-list.js";
import { clientFromString, connectProtocol } from "../../src/core/endpoints.js";
import { ConnectionDone } from "../../src/core/errors.js";
import { createReactor } from "../../src/core/reactor.js";
import { Unicode } from "../../src/protocols/amp/arguments.js";
import { bigValue, defineCommand } from "../../src/protocols/amp/command.js";
import { type AmpError, RemoteAmpError, UnhandledCommand } from "../../src/protocols/amp/errors.js";
import { AMP, AMPFactory } from "../../src/protocols/amp/protocol.js";
import {
  type PythonServer,
  requireTwisted,
  runPython,
  startPythonServer,
} from "../helpers/twisted.js";

describe("AMP interop with Twisted", () => {
  beforeAll(() => requireTwisted("AMP interop"));

  it("a Twisted AMP client gets every answer right from weft's server", async () => {
    const reactor = createReactor();
    const logged: unknown[] = [];
    const logger = { error: (obj: { err: unknown }) => void logged.push(obj.err) };
    const port = await reactor.listenTCP(0, new AMPFactory(calculatorLocator(), { logger }), {
      interface: "127.0.0.1",
    });
    try {
      const { code, out } = await runPython("amp_client.py", [
        "127.0.0.1",
        String(port.getHost().port),
      ]);
      expect(out).toMatch(/^OK \d+/m);
      expect(out).not.toContain("FAIL");
      expect(code).toBe(0);
      // The bad-argument call is logged server-side (as Twisted logs it), nothing else is.
      expect(logged).toHaveLength(1);
      expect((logged[0] as AmpError).code).toBe("ERR_AMP_ARGUMENT");
    } finally {
      await port.stopListening({ closeConnections: true });
    }
  }, 30_000);

  describe("weft's client against a Twisted AMP server", () => {
    let server: PythonServer;
    let amp: AMP;

    beforeAll(async () => {
      server = await startPythonServer("amp_server.py", [], { stdin: "pipe" });
      const reactor = createReactor();
      amp = await connectProtocol(
        clientFromString(reactor, `tcp:127.0.0.1:${server.port}`),
        new AMP(),
      );
    }, 20_000);

    afterAll(async () => {
      amp?.transport.loseConnection();
      await server?.stop();
    });

    it("Sum, with numbers and bigints", async () => {
      expect(await amp.callRemote(Sum, { a: 13, b: 81 })).toEqual({ total: 94 });
      const big = 2n ** 70n + 12345n;
      expect(await amp.callRemote(Sum, { a: big, b: -(2n ** 65n) })).toEqual({
        total: big - 2n ** 65n,
      });
    });

    it("Divide, and its declared ZERO_DIVISION error", async () => {
      expect(await amp.callRemote(Divide, { numerator: 1, denominator: 3 })).toEqual({
        result: 1 / 3,
      });
      expect(await amp.callRemote(Divide, { numerator: -7, denominator: 2 })).toEqual({
        result: -3.5,
      });
      const err = await amp.callRemote(Divide, { numerator: 1, denominator: 0 }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ZeroDivisionError);
      expect((err as Error).message).toBe("division by zero");
    });

    it("Echo: non-ASCII text and a 60,000-byte value", async () => {
      for (const text of ["hello", "", "☃ héllo 日本 😀"]) {
        expect(await amp.callRemote(Echo, { text })).toEqual({ text });
      }
      const long = `${"x".repeat(59990)}☃☃☃y`;
      expect(Buffer.byteLength(long)).toBe(60000);
      expect(await amp.callRemote(Echo, { text: long })).toEqual({ text: long });
    });

    it("Transform, and its declared UNKNOWN_TRANSFORM error", async () => {
      expect(
        await amp.callRemote(Transform, { name: "cummingsify", text: "Hello World ÉTÉ" }),
      ).toEqual({ text: "hello world été" });
      expect(await amp.callRemote(Transform, { name: "reverse", text: "ab☃😀c" })).toEqual({
        text: "c😀☃ba",
      });
      const err = await amp.callRemote(Transform, { name: "nope", text: "x" }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(UnknownTransform);
      expect((err as Error).message).toBe("no such transform: nope");
    });

    it("an unknown command gives UnhandledCommand and the connection stays usable", async () => {
      const Nope = defineCommand({ name: "Nope" });
      const err = await amp.callRemote(Nope, {}).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(UnhandledCommand);
      expect((err as UnhandledCommand).description).toBe("Unhandled Command: b'Nope'");
      expect(await amp.callRemote(Sum, { a: 1, b: 2 })).toEqual({ total: 3 });
    });

    it("a bad argument gets UNKNOWN / Unknown Error from Twisted, which then closes", async () => {
      const side = await connectProtocol(
        clientFromString(createReactor(), `tcp:127.0.0.1:${server.port}`),
        new AMP(),
      );
      const err = await side
        .callRemoteString("Sum", [
          ["a", new TextEncoder().encode("x")],
          ["b", new TextEncoder().encode("1")],
        ])
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(RemoteAmpError);
      expect((err as RemoteAmpError).errorCode).toBe("UNKNOWN");
      expect((err as RemoteAmpError).description).toBe("Unknown Error");
      const next = await side.callRemote(Sum, { a: 1, b: 2 }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(next).toBeInstanceOf(ConnectionDone);
    });

    it("a big value (weft extension) reaches Twisted as ordinary keys: it parses the box and ignores name.2", async () => {
      const BigEcho = defineCommand({
        name: "Echo",
        arguments: { text: bigValue(Unicode) },
        response: { text: bigValue(Unicode) },
      });
      const r = await amp.callRemote(BigEcho, { text: "x".repeat(100_000) });
      expect(r.text).toBe("x".repeat(65535));
      expect(await amp.callRemote(Sum, { a: 2, b: 2 })).toEqual({ total: 4 });
    });

    it("1,000 pipelined calls all get their own answer", async () => {
      const calls = Array.from({ length: 1000 }, (_, i) => amp.callRemote(Sum, { a: i, b: i * 3 }));
      const results = await gatherResults(calls);
      expect(results.map((r) => r.total)).toEqual(Array.from({ length: 1000 }, (_, i) => i * 4));
    });
  });
});
