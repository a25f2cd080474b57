import { once } from "node:events";
import net from "node:net";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ReadableStream } from "node:stream/web";
import { afterEach, describe, expect, it } from "vitest";
import {
  decodeIterable,
  decodeLengthPrefixed,
  decodeNetstrings,
  encodeLengthPrefixed,
  encodeNetstring,
  LengthPrefixedError,
  lengthPrefixedDecoder,
  lengthPrefixedTransform,
  lengthPrefixedTransformStream,
  NetstringParseError,
  netstringDecoder,
  netstringTransform,
  netstringTransformStream,
  toNodeTransform,
  toWebTransformStream,
} from "../../../src/protocols/receivers/index.js";

const b = (s: string): Uint8Array => Buffer.from(s, "latin1");
const str = (u: Uint8Array): string => Buffer.from(u).toString("latin1");

/** `bytes` split into chunks of `size`. */
function split(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.slice(i, i + size));
  return out;
}

async function* iterate(chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const c of chunks) yield c;
}

const wire = Buffer.concat(["", "a", "hello", "x".repeat(300)].map((s) => encodeNetstring(s)));
const expected = ["", "a", "hello", "x".repeat(300)];

describe("toNodeTransform / netstringTransform", () => {
  it("decodes any chunking into frames (object mode readable side)", async () => {
    for (const size of [1, 3, 7, 64, 4096]) {
      const frames: string[] = [];
      await pipeline(Readable.from(split(wire, size)), netstringTransform(), async (src) => {
        for await (const f of src as AsyncIterable<Uint8Array>) frames.push(str(f));
      });
      expect(frames).toEqual(expected);
    }
  });

  it("a decode error destroys the stream with the typed error, after the frames before it", async () => {
    const t = netstringTransform({ maxLength: 10 });
    const frames: string[] = [];
    t.on("data", (f: Uint8Array) => frames.push(str(f)));
    t.write(b("1:a,2:bc,99:"));
    const [err] = (await once(t, "error")) as [NetstringParseError];
    expect(err).toBeInstanceOf(NetstringParseError);
    expect(err.kind).toBe("length too long");
    expect(frames).toEqual(["a", "bc"]);
    expect(t.destroyed).toBe(true);
  });

  it("ending inside a frame errors with a truncation", async () => {
    const t = toNodeTransform(lengthPrefixedDecoder({ prefix: 2 }));
    t.on("data", () => {});
    t.end(b("\x00\x05ab"));
    const [err] = (await once(t, "error")) as [LengthPrefixedError];
    expect(err.kind).toBe("truncated");
  });

  it("{ copy: true } detaches frames from the written chunks", async () => {
    const chunk = Buffer.from(wire);
    const t = netstringTransform({ copy: true });
    const frames: Uint8Array[] = [];
    t.on("data", (f: Uint8Array) => frames.push(f));
    t.end(chunk);
    await once(t, "end");
    chunk.fill(0);
    expect(frames.map(str)).toEqual(expected);
  });

  it("without copy, frames are views of the written chunk", async () => {
    const chunk = Buffer.from(encodeNetstring("abc"));
    const t = netstringTransform();
    const frames: Uint8Array[] = [];
    t.on("data", (f: Uint8Array) => frames.push(f));
    t.end(chunk);
    await once(t, "end");
    expect(frames[0]!.buffer).toBe(chunk.buffer);
  });

  it("lengthPrefixedTransform takes the codec options", async () => {
    const input = Buffer.concat(
      ["one", "two"].map((s) => encodeLengthPrefixed(s, { prefix: "varint" })),
    );
    const frames: string[] = [];
    await pipeline(
      Readable.from(split(input, 2)),
      lengthPrefixedTransform({ prefix: "varint" }),
      async (src) => {
        for await (const f of src as AsyncIterable<Uint8Array>) frames.push(str(f));
      },
    );
    expect(frames).toEqual(["one", "two"]);
  });
});

describe("toWebTransformStream / netstringTransformStream", () => {
  async function collect(stream: ReadableStream<Uint8Array>): Promise<string[]> {
    const out: string[] = [];
    for await (const f of stream) out.push(str(f));
    return out;
  }

  it("decodes a Web ReadableStream of chunks", async () => {
    for (const size of [1, 5, 1000]) {
      const source = ReadableStream.from(split(wire, size));
      expect(await collect(source.pipeThrough(netstringTransformStream()))).toEqual(expected);
    }
  });

  it("errors the stream with the typed error", async () => {
    const source = ReadableStream.from([b("1:a,"), b("x")]);
    const frames: string[] = [];
    let caught: unknown;
    try {
      for await (const f of source.pipeThrough(netstringTransformStream())) frames.push(str(f));
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(NetstringParseError);
    expect((caught as NetstringParseError).kind).toBe("non-digit length");
    expect(frames).toEqual(["a"]);
  });

  it("works for length-prefixed frames and generic factories", async () => {
    const input = encodeLengthPrefixed("hey", { prefix: 8, endian: "little" });
    const s1 = ReadableStream.from(split(input, 3)).pipeThrough(
      lengthPrefixedTransformStream({ prefix: 8, endian: "little" }),
    );
    expect(await collect(s1)).toEqual(["hey"]);
    const s2 = ReadableStream.from([input]).pipeThrough(
      toWebTransformStream(lengthPrefixedDecoder({ prefix: 8, endian: "little" }), { copy: true }),
    );
    expect(await collect(s2)).toEqual(["hey"]);
  });

  it("a frame cut short at the end errors the stream", async () => {
    const source = ReadableStream.from([b("5:ab")]);
    await expect(collect(source.pipeThrough(netstringTransformStream()))).rejects.toMatchObject({
      code: "ERR_NETSTRING_PARSE",
      kind: "truncated",
    });
  });
});

describe("decodeIterable / decodeNetstrings over async iterables", () => {
  it("yields the frames of any chunking", async () => {
    for (const size of [1, 2, 9, 10000]) {
      const frames: string[] = [];
      for await (const f of decodeNetstrings(iterate(split(wire, size)))) frames.push(str(f));
      expect(frames).toEqual(expected);
    }
  });

  it("yields all frames of a chunk before pulling the next chunk", async () => {
    const log: string[] = [];
    async function* source(): AsyncGenerator<Uint8Array> {
      log.push("pull 1");
      yield b("1:a,1:b,1:");
      log.push("pull 2");
      yield b("c,");
    }
    for await (const f of decodeIterable(netstringDecoder(), source())) log.push(str(f));
    expect(log).toEqual(["pull 1", "a", "b", "pull 2", "c"]);
  });

  it("throws the typed error after the frames before it", async () => {
    const frames: string[] = [];
    await expect(async () => {
      for await (const f of decodeLengthPrefixed(iterate([b("\x01a\x02b")]), { prefix: 1 })) {
        frames.push(str(f));
      }
    }).rejects.toBeInstanceOf(LengthPrefixedError);
    expect(frames).toEqual(["a"]);
  });

  it("accepts strings from a source in text mode", async () => {
    async function* text(): AsyncGenerator<string> {
      yield "3:a";
      yield "bc,";
    }
    const frames: string[] = [];
    for await (const f of decodeNetstrings(text())) frames.push(str(f));
    expect(frames).toEqual(["abc"]);
  });
});

describe("decodeNetstrings over a real socket", () => {
  const servers: net.Server[] = [];
  const sockets: net.Socket[] = [];
  afterEach(async () => {
    for (const s of sockets) s.destroy();
    sockets.length = 0;
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    servers.length = 0;
  });

  async function serve(handler: (s: net.Socket) => void): Promise<number> {
    const server = net.createServer((s) => {
      sockets.push(s);
      handler(s);
    });
    servers.push(server);
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    return (server.address() as net.AddressInfo).port;
  }

  it("for await (const frame of decodeNetstrings(socket)) reads every frame", async () => {
    const port = await serve((s) => {
      // written in awkward pieces, then closed
      for (const piece of split(wire, 5)) s.write(piece);
      s.end();
    });
    const socket = net.connect(port, "127.0.0.1");
    sockets.push(socket);
    const frames: string[] = [];
    for await (const f of decodeNetstrings(socket)) frames.push(str(f));
    expect(frames).toEqual(expected);
  });

  it("breaking out of the loop destroys the socket", async () => {
    const port = await serve((s) => {
      s.write(Buffer.concat([encodeNetstring("first"), encodeNetstring("second")]));
    });
    const socket = net.connect(port, "127.0.0.1");
    sockets.push(socket);
    for await (const f of decodeNetstrings(socket)) {
      expect(str(f)).toBe("first");
      break;
    }
    expect(socket.destroyed).toBe(true);
  });

  it("a malformed stream from the peer throws the typed error", async () => {
    const port = await serve((s) => {
      s.end(b("2:ok,01:x,"));
    });
    const socket = net.connect(port, "127.0.0.1");
    sockets.push(socket);
    const frames: string[] = [];
    let caught: unknown;
    try {
      for await (const f of decodeNetstrings(socket)) frames.push(str(f));
    } catch (e) {
      caught = e;
    }
    expect(frames).toEqual(["ok"]);
    expect(caught).toMatchObject({ kind: "leading zero", offset: 6 });
  });
});
