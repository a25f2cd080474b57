/**
 * examples/kv-server.ts run as a user runs it (`node --import tsx`, port 0), driven over a real
 * loopback socket with frames built by the encoder and replies read by the shape decoder.
 */
import { connect, type Socket } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { kvReply, kvRequest, OP, STATUS } from "../../../examples/kv-server.js";
import { ShapeDecoder } from "../../../src/protocols/shapes/decoder.js";
import { encodeFrame } from "../../../src/protocols/shapes/encoder.js";
import type { ShapeFrame } from "../../../src/protocols/shapes/shape.js";
import { startExample, stopExamples } from "../../helpers/examples.js";

afterAll(stopExamples);

async function startServer(): Promise<number> {
  return (await startExample("kv-server.ts", ["0"])).ports[0] as number;
}

type Reply = { status: number; value: string };

/** A client connection: sends requests, resolves each with its reply (in order). */
function client(port: number): Promise<{
  socket: Socket;
  ask(op: number, key: string, value?: string): Promise<Reply>;
  closed: Promise<void>;
}> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const waiting: Array<(r: Reply) => void> = [];
    const decoder = new ShapeDecoder(
      {
        onFrame(f: ShapeFrame<typeof kvReply>) {
          waiting.shift()?.({ status: f.status, value: Buffer.from(f.payload).toString() });
        },
        onError: reject,
      },
      kvReply,
    );
    socket.on("data", (d) => decoder.feed(d));
    const closed = new Promise<void>((r) => socket.on("close", () => r()));
    socket.on("error", () => {});
    socket.on("connect", () =>
      resolve({
        socket,
        closed,
        ask(op, key, value = "") {
          const keyBytes = Buffer.from(key);
          const frame = encodeFrame(kvRequest, {
            op,
            keyLength: keyBytes.length,
            payload: Buffer.concat([keyBytes, Buffer.from(value)]),
          });
          // Byte by byte: the server must not care how the request is chunked.
          for (const b of frame) socket.write(Uint8Array.of(b));
          return new Promise<Reply>((r) => waiting.push(r));
        },
      }),
    );
  });
}

describe("examples/kv-server.ts", () => {
  it("sets, gets and deletes keys; the store is shared across connections", async () => {
    const port = await startServer();
    const a = await client(port);
    expect(await a.ask(OP.get, "greeting")).toEqual({ status: STATUS.notFound, value: "" });
    expect(await a.ask(OP.set, "greeting", "hello, weft")).toEqual({
      status: STATUS.ok,
      value: "",
    });
    const b = await client(port);
    expect(await b.ask(OP.get, "greeting")).toEqual({ status: STATUS.ok, value: "hello, weft" });
    expect(await b.ask(OP.delete, "greeting")).toEqual({ status: STATUS.ok, value: "" });
    expect(await a.ask(OP.get, "greeting")).toEqual({ status: STATUS.notFound, value: "" });
    expect(await a.ask(0x3f, "x")).toEqual({ status: STATUS.badRequest, value: "" });
    a.socket.end();
    b.socket.end();
  });

  it("closes a connection whose request announces more than 4096 bytes, before the body", async () => {
    const port = await startServer();
    const c = await client(port);
    // op S, keyLength 1, length 4097 (little-endian): no body follows.
    c.socket.write(Uint8Array.of(OP.set, 1, 0x01, 0x10));
    await c.closed;
    expect(c.socket.destroyed).toBe(true);
  });
});
