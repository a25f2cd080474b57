import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Clock, NodeClock } from "../../src/core/clock.js";
import { flushUnhandledErrors } from "../../src/core/deferred.js";
import { ConnectionDone, InvalidArgumentError, TimeoutError } from "../../src/core/errors.js";
import type { Factory } from "../../src/core/factory.js";
import {
  BadReplyError,
  NoReplyError,
  PoemIncompleteError,
  PoemNotFoundError,
} from "../../src/services/errors.js";
import { PoetryAMPFactory } from "../../src/services/poetry/amp.js";
import { getPoem } from "../../src/services/poetry/clients.js";
import { FastPoetryFactory } from "../../src/services/poetry/fast.js";
import { PoetryNetstringFactory } from "../../src/services/poetry/netstring.js";
import { PoetryService } from "../../src/services/poetry/service.js";
import { SlowPoetryFactory, type SlowPoetryProtocol } from "../../src/services/poetry/slow.js";
import { MemoryTransport } from "../../src/testing/memory.js";
import { closeAll, deadPort, endpoint, exchange, listen, rawServer } from "./helpers.js";

let poetry: PoetryService;
beforeAll(async () => {
  poetry = await PoetryService.bundled();
});
afterAll(closeAll);

describe("PoetryService", () => {
  it("loads the bundled public-domain poems", () => {
    expect(poetry.names()).toEqual([
      "blake-sick-rose",
      "dickinson-hope",
      "keats-bright-star",
      "shelley-ozymandias",
      "whitman-spider",
    ]);
    expect(poetry.getPoem("keats-bright-star").text).toMatch(
      /^Bright star, would I were stedfast as thou art—/,
    );
    expect(poetry.defaultPoem.name).toBe("blake-sick-rose");
    expect(poetry.getPoem().name).toBe("blake-sick-rose");
    expect(poetry.getPoem("whitman-spider").bytes).toEqual(
      new TextEncoder().encode(poetry.getPoem("whitman-spider").text),
    );
  });

  it("unknown names are PoemNotFoundError, prototype names included", () => {
    for (const name of ["nope", "__proto__", "constructor"]) {
      expect(() => poetry.getPoem(name)).toThrow(PoemNotFoundError);
    }
  });

  it("loads a folder of NAME.txt files", async () => {
    const dir = await mkdtemp(join(tmpdir(), "weft-poems-"));
    try {
      await writeFile(join(dir, "b.txt"), "bee\n");
      await writeFile(join(dir, "a.txt"), "ay\n");
      await writeFile(join(dir, "notes.md"), "ignored");
      const s = await PoetryService.fromDirectory(dir, { defaultPoem: "b" });
      expect(s.names()).toEqual(["a", "b"]);
      expect(s.defaultPoem.text).toBe("bee\n");
      await expect(PoetryService.fromDirectory(join(dir, "missing"))).rejects.toBeInstanceOf(
        InvalidArgumentError,
      );
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it("needs at least one poem", () => {
    expect(() => new PoetryService([])).toThrow(InvalidArgumentError);
  });
});

describe("fast poetry server", () => {
  it("writes the poem and closes", async () => {
    const port = await listen(new FastPoetryFactory(poetry, { poem: "dickinson-hope" }));
    expect((await exchange(port)).toString()).toBe(poetry.getPoem("dickinson-hope").text);
    await expect(getPoem(endpoint(port))).resolves.toBe(poetry.getPoem("dickinson-hope").text);
  });
});

describe("slow poetry server (driven by the manual Clock)", () => {
  function connect(factory: Factory): { proto: SlowPoetryProtocol; transport: MemoryTransport } {
    const proto = factory.buildProtocol({
      type: "TCP",
      host: "127.0.0.1",
      port: 1,
    }) as SlowPoetryProtocol;
    const transport = new MemoryTransport();
    proto.makeConnection(transport);
    return { proto, transport };
  }

  it("sends N bytes every D seconds, then closes", () => {
    const clock = new Clock();
    const poem = poetry.getPoem("blake-sick-rose");
    const factory = new SlowPoetryFactory(poetry, { clock, bytesPerTick: 10, interval: 0.5 });
    const { transport } = connect(factory);
    expect(transport.value().length).toBe(10);
    clock.advance(0.4);
    expect(transport.value().length).toBe(10);
    clock.advance(0.1);
    expect(transport.value().length).toBe(20);
    const ticks = Math.ceil(poem.bytes.length / 10) - 2;
    for (let i = 0; i < ticks; i++) clock.advance(0.5);
    expect(transport.value()).toEqual(poem.bytes);
    expect(transport.disconnecting).toBe(true);
    expect(clock.getDelayedCalls()).toHaveLength(0);
  });

  it("a client that leaves mid-poem stops its timer", () => {
    const clock = new Clock();
    const factory = new SlowPoetryFactory(poetry, { clock, bytesPerTick: 7, interval: 1 });
    const { proto, transport } = connect(factory);
    clock.advance(1);
    clock.advance(1);
    expect(transport.value().length).toBe(21);
    expect(clock.getDelayedCalls()).toHaveLength(1);
    proto.connectionLost(new ConnectionDone());
    expect(clock.getDelayedCalls()).toHaveLength(0);
    expect(proto.timer).toBeNull();
    clock.advance(10);
    expect(transport.value().length).toBe(21);
  });

  it("serves a whole poem over loopback with the real clock", async () => {
    const factory = new SlowPoetryFactory(poetry, {
      clock: new NodeClock(),
      bytesPerTick: 64,
      interval: 0,
    });
    const port = await listen(factory);
    await expect(getPoem(endpoint(port))).resolves.toBe(poetry.defaultPoem.text);
  });

  it("rejects bad pacing", () => {
    const clock = new Clock();
    expect(() => new SlowPoetryFactory(poetry, { clock, bytesPerTick: 0 })).toThrow(
      InvalidArgumentError,
    );
    expect(() => new SlowPoetryFactory(poetry, { clock, interval: -1 })).toThrow(
      InvalidArgumentError,
    );
  });
});

describe("poem by name", () => {
  it("over netstrings: a name in, the poem out", async () => {
    const port = await listen(new PoetryNetstringFactory(poetry));
    const name = "shelley-ozymandias";
    const reply = await exchange(port, `${name.length}:${name},`);
    const bytes = poetry.getPoem(name).bytes;
    expect(reply.toString()).toBe(`${bytes.length}:${poetry.getPoem(name).text},`);
    await expect(getPoem(endpoint(port), { via: "netstring", name })).resolves.toBe(
      poetry.getPoem(name).text,
    );
    await expect(getPoem(endpoint(port), { via: "netstring" })).resolves.toBe(
      poetry.defaultPoem.text,
    );
    await expect(
      getPoem(endpoint(port), { via: "netstring", name: "nope" }),
    ).rejects.toBeInstanceOf(NoReplyError);
  });

  it("over AMP: GetPoem(name) → poem, UNKNOWN_POEM declared", async () => {
    const port = await listen(new PoetryAMPFactory(poetry));
    await expect(getPoem(endpoint(port), { via: "amp", name: "whitman-spider" })).resolves.toBe(
      poetry.getPoem("whitman-spider").text,
    );
    const err = await getPoem(endpoint(port), { via: "amp", name: "nope" }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PoemNotFoundError);
    expect((err as PoemNotFoundError).message).toBe('No poem named "nope"');
  });
});

describe("getPoem failures", () => {
  it("connection refused → the typed connect error", async () => {
    const port = await deadPort();
    const err = await getPoem(endpoint(port)).then(
      () => null,
      (e: unknown) => e,
    );
    expect((err as { code: string }).code).toBe("ERR_CONNECTION_REFUSED");
  });

  it("a netstring poem cut short → PoemIncompleteError with the byte counts", async () => {
    const server = await rawServer((s) => s.end("100:only the first words"));
    try {
      const err = await getPoem(endpoint(server.port), { via: "netstring" }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(PoemIncompleteError);
      expect((err as PoemIncompleteError).code).toBe("ERR_POEM_INCOMPLETE");
      expect((err as PoemIncompleteError).expected).toBe(100);
      expect((err as PoemIncompleteError).received).toBe("only the first words".length);
    } finally {
      await server.close();
    }
  });

  it("a raw poem whose connection is reset → PoemIncompleteError", async () => {
    let socket: import("node:net").Socket | null = null;
    const server = await rawServer((s) => {
      socket = s;
      s.write("half a poem");
    });
    try {
      // reset the connection once the client has the first bytes
      const onData = (): void => {
        socket?.resetAndDestroy();
      };
      const err = await getPoem(endpoint(server.port), { onData }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(PoemIncompleteError);
      expect((err as PoemIncompleteError).received).toBe("half a poem".length);
    } finally {
      await server.close();
    }
  });

  it("a poem longer than maxLength → BadReplyError (raw and netstring)", async () => {
    const port = await listen(new FastPoetryFactory(poetry));
    await expect(getPoem(endpoint(port), { maxLength: 20 })).rejects.toBeInstanceOf(BadReplyError);
    const ns = await listen(new PoetryNetstringFactory(poetry));
    await expect(getPoem(endpoint(ns), { via: "netstring", maxLength: 20 })).rejects.toBeInstanceOf(
      BadReplyError,
    );
  });

  it("a server that never finishes → TimeoutError on the manual clock", async () => {
    let connected: () => void = () => undefined;
    const seen = new Promise<void>((r) => {
      connected = r;
    });
    const server = await rawServer((s) => {
      s.write("Once upon");
      connected();
    });
    const clock = new Clock();
    try {
      const outcome = getPoem(endpoint(server.port), { timeout: 3, clock }).then(
        () => null,
        (e: unknown) => e,
      );
      await seen;
      clock.advance(3);
      expect(await outcome).toBeInstanceOf(TimeoutError);
      expect(clock.getDelayedCalls()).toHaveLength(0);
    } finally {
      await server.close();
    }
  });
});

describe("hygiene", () => {
  it("leaves no Deferred with an unhandled failure", () => {
    expect(flushUnhandledErrors().map((e) => `${e.name}: ${e.message}`)).toEqual([]);
  });
});
