import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Clock } from "../../src/core/clock.js";
import { flushUnhandledErrors } from "../../src/core/deferred.js";
import { TimeoutError } from "../../src/core/errors.js";
import {
  BadRequestError,
  NoReplyError,
  TransformFailedError,
  UnknownTransformError,
} from "../../src/services/errors.js";
import { TransformAMPFactory } from "../../src/services/transform/amp.js";
import {
  TransformProxy,
  type TransformVia,
  transformViaNetstring,
} from "../../src/services/transform/clients.js";
import { TransformLineFactory } from "../../src/services/transform/line.js";
import { TransformNetstringFactory } from "../../src/services/transform/netstring.js";
import { TransformService } from "../../src/services/transform/service.js";
import { closeAll, deadPort, endpoint, exchange, lines, listen, rawServer } from "./helpers.js";

// One service instance behind all three front-ends.
const service = new TransformService();
let releaseSlow: Array<() => void> = [];
service.register(
  "slow",
  (t) => new Promise<string>((resolve) => releaseSlow.push(() => resolve(`slow:${t}`))),
);
service.register("later", async (t) => `later:${t}`);
service.register("crlf", (t) => `${t}\r\n${t}`);
service.register("boom", () => {
  throw new Error("kaput");
});

const ports = { netstring: 0, line: 0, amp: 0 };

beforeAll(async () => {
  ports.netstring = await listen(new TransformNetstringFactory(service));
  ports.line = await listen(new TransformLineFactory(service, { maxLineLength: 1000 }));
  ports.amp = await listen(new TransformAMPFactory(service));
});
afterAll(closeAll);

describe("transform over netstrings (the tutorial's protocol)", () => {
  it("answers one netstring and closes", async () => {
    expect((await exchange(ports.netstring, "23:cummingsify.Hello There,")).toString()).toBe(
      "11:hello there,",
    );
  });

  it("splits at the first '.'", async () => {
    expect((await exchange(ports.netstring, "11:upper.a.b.c,")).toString()).toBe("5:A.B.C,");
  });

  it("handles UTF-8 text", async () => {
    const req = Buffer.from("reverse.añ😀");
    const out = await exchange(
      ports.netstring,
      Buffer.concat([Buffer.from(`${req.length}:`), req, Buffer.from(",")]),
    );
    expect(out.toString()).toBe(`${Buffer.byteLength("😀ña")}:😀ña,`);
  });

  it.each([
    ["no '.'", "5:upper,"],
    ["unknown transform", "10:__proto__.,"],
    ["failing transform", "6:boom.x,"],
    ["malformed netstring", "abc"],
    ["missing comma", "7:upper.xX"],
  ])("%s: closes without a reply", async (_what, request) => {
    expect((await exchange(ports.netstring, request)).length).toBe(0);
  });

  it("an async transform replies when it is done", async () => {
    expect((await exchange(ports.netstring, "9:later.abc,")).toString()).toBe("9:later:abc,");
  });

  it("the client gets the result, or NoReplyError when the server refuses", async () => {
    await expect(transformViaNetstring(endpoint(ports.netstring), "upper", "ok")).resolves.toBe(
      "OK",
    );
    await expect(
      transformViaNetstring(endpoint(ports.netstring), "nope", "x"),
    ).rejects.toBeInstanceOf(NoReplyError);
  });
});

describe("transform over lines", () => {
  it("answers many requests on one connection, errors included", async () => {
    const out = await lines(
      ports.line,
      "upper hello\r\nreverse abc\r\nnope x\r\nno-space\r\nboom x\r\ncummingsify A B\r\n",
      6,
    );
    expect(out).toEqual([
      "OK HELLO",
      "OK cba",
      'ERROR ERR_UNKNOWN_TRANSFORM Unknown transform: "nope"',
      "ERROR ERR_BAD_REQUEST Expected NAME SP TEXT.",
      'ERROR ERR_TRANSFORM_FAILED Transform "boom" failed: kaput',
      "OK a b",
    ]);
  });

  it("keeps pipelined replies in request order when a transform is async", async () => {
    const out = await lines(
      ports.line,
      "later 1\r\nupper 2\r\nlater 3\r\nnope 4\r\nupper 5\r\n",
      5,
    );
    expect(out).toEqual([
      "OK later:1",
      "OK 2",
      "OK later:3",
      'ERROR ERR_UNKNOWN_TRANSFORM Unknown transform: "nope"',
      "OK 5",
    ]);
  });

  it("holds later replies until a slow transform finishes", async () => {
    releaseSlow = [];
    const pending = lines(ports.line, "slow a\r\nupper b\r\n", 2);
    while (releaseSlow.length === 0) await new Promise((r) => setImmediate(r));
    for (const release of releaseSlow) release();
    expect(await pending).toEqual(["OK slow:a", "OK B"]);
  });

  it("escapes CR/LF in results so the framing holds", async () => {
    expect(await lines(ports.line, "crlf x\r\nreverse a\\\\b\r\n", 2)).toEqual([
      "OK x\\r\\nx",
      "OK b\\\\a",
    ]);
  });

  it("rejects invalid UTF-8 with ERR_BAD_REQUEST and stays open", async () => {
    const bad = Buffer.concat([
      Buffer.from("upper "),
      Buffer.from([0xff, 0xfe]),
      Buffer.from("\r\nupper ok\r\n"),
    ]);
    const out = await lines(ports.line, bad, 2);
    expect(out[0]).toBe("ERROR ERR_BAD_REQUEST The request is not valid UTF-8.");
    expect(out[1]).toBe("OK OK");
  });

  it("answers an over-long line with an error and closes", async () => {
    const reply = (await exchange(ports.line, `upper ${"x".repeat(2000)}\r\n`)).toString();
    expect(reply).toMatch(/^ERROR ERR_BAD_REQUEST Line longer than 1000 bytes\.\r\n$/);
  });

  it("the client maps ERROR codes back to the typed errors", async () => {
    const proxy = new TransformProxy(endpoint(ports.line), { via: "line" });
    try {
      await expect(proxy.xform("upper", "a\r\nb")).resolves.toBe("A\r\nB");
      await expect(proxy.xform("nope", "x")).rejects.toBeInstanceOf(UnknownTransformError);
      await expect(proxy.xform("boom", "x")).rejects.toBeInstanceOf(TransformFailedError);
      await expect(proxy.xform("bad name", "x")).rejects.toBeInstanceOf(UnknownTransformError);
      const many = await Promise.all(
        Array.from({ length: 50 }, (_, i) => proxy.xform(i % 2 ? "later" : "upper", `t${i}`)),
      );
      expect(many).toEqual(Array.from({ length: 50 }, (_, i) => (i % 2 ? `later:t${i}` : `T${i}`)));
    } finally {
      proxy.close();
    }
    void BadRequestError;
  });
});

describe("transform over AMP", () => {
  it("answers Transform and maps the declared errors", async () => {
    const proxy = new TransformProxy(endpoint(ports.amp), { via: "amp" });
    try {
      await expect(proxy.xform("title", "ode to a nightingale")).resolves.toBe(
        "Ode To A Nightingale",
      );
      const unknown = proxy.xform("toString", "x");
      await expect(unknown).rejects.toBeInstanceOf(UnknownTransformError);
      await expect(proxy.xform("boom", "x")).rejects.toBeInstanceOf(TransformFailedError);
      // the connection survives declared errors
      await expect(proxy.xform("later", "still here")).resolves.toBe("later:still here");
    } finally {
      proxy.close();
    }
  });
});

describe("TransformProxy", () => {
  it("the same service answers the same over all three protocols", async () => {
    const proxies = (["netstring", "line", "amp"] as TransformVia[]).map(
      (via) => new TransformProxy(endpoint(ports[via]), { via }),
    );
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom("cummingsify", "reverse", "upper", "title", "rot13"),
          fc.string({ unit: "grapheme", maxLength: 40 }),
          async (name, text) => {
            const expected = await service.transform(name, text);
            const got = await Promise.all(proxies.map((p) => p.xform(name, text)));
            expect(got).toEqual([expected, expected, expected]);
          },
        ),
        { numRuns: 40 },
      );
    } finally {
      for (const p of proxies) p.close();
    }
  });

  it("fails with the typed connect error when the server is down", async () => {
    const port = await deadPort();
    for (const via of ["netstring", "line", "amp"] as TransformVia[]) {
      const err = await new TransformProxy(endpoint(port), { via }).xform("upper", "x").then(
        () => null,
        (e: unknown) => e,
      );
      expect((err as { code: string }).code).toBe("ERR_CONNECTION_REFUSED");
      // a name no server can have fails before connecting
      await expect(
        new TransformProxy(endpoint(port), { via }).xform("a.b c", "x"),
      ).rejects.toBeInstanceOf(UnknownTransformError);
    }
  });

  it("times out (TimeoutError via the clock) when the server never answers", async () => {
    let gotRequest: () => void = () => undefined;
    const silent = await rawServer((socket) => socket.once("data", () => gotRequest()));
    const clock = new Clock();
    try {
      for (const via of ["netstring", "line", "amp"] as TransformVia[]) {
        const proxy = new TransformProxy(endpoint(silent.port), { via, timeout: 5, clock });
        const requested = new Promise<void>((r) => {
          gotRequest = r;
        });
        const outcome = proxy.xform("upper", "x").then(
          () => "answered",
          (e: unknown) => e,
        );
        await requested; // connected and the request is on the wire; now let the manual clock run out
        clock.advance(4.9);
        const early = await Promise.race([
          outcome,
          new Promise((r) => setImmediate(() => r("pending"))),
        ]);
        expect(early).toBe("pending");
        clock.advance(0.1);
        expect(await outcome).toBeInstanceOf(TimeoutError);
        proxy.close();
      }
      expect(clock.getDelayedCalls()).toHaveLength(0);
    } finally {
      await silent.close();
    }
  });
});

describe("hygiene", () => {
  it("leaves no Deferred with an unhandled failure", () => {
    expect(flushUnhandledErrors().map((e) => `${e.name}: ${e.message}`)).toEqual([]);
  });
});
