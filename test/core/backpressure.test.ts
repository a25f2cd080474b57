/**
 * Read-side backpressure: a request/response server stops reading while its write buffer is full,
 * so a peer that pipelines requests and never reads the replies cannot make it buffer without
 * bound (STYLE.md anti-pattern E).
 */
import { createHash } from "node:crypto";
import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ConnectionDone, ConnectionLost } from "../../src/core/errors.js";
import { Factory } from "../../src/core/factory.js";
import { Protocol } from "../../src/core/protocol.js";
import { createReactor, type ReactorOptions, type SocketPort } from "../../src/core/reactor.js";
import type { SocketTransport } from "../../src/core/transport.js";
import { LineReceiver } from "../../src/protocols/receivers/index.js";
import { Cleanups, rawConnect } from "../helpers/loopback.js";
import { streamer } from "./streamer.js";

const MiB = 1024 * 1024;
const cleanups = new Cleanups();
afterEach(cleanups.run);

/** A raw node:net client that does not read until told to (paused from the start). */
const rawClient = (port: number): Promise<net.Socket> =>
  rawConnect(port, { paused: true, cleanups });

/**
 * One full round trip through the event loop and the kernel (a second connection opened and
 * closed): whatever the loop had to deliver meanwhile has been delivered.
 */
async function roundTrip(port: number): Promise<void> {
  const probe = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ port, host: "127.0.0.1" }, () => resolve(s));
    s.once("error", reject);
  });
  await new Promise<void>((r) => {
    probe.once("close", () => r());
    probe.end();
    probe.resume();
  });
}

/** Bounded polling: re-checks `cond` after each round trip, fails after `max` tries. */
async function until(port: number, what: string, cond: () => boolean, max = 500): Promise<void> {
  for (let i = 0; i < max; i++) {
    if (cond()) return;
    await roundTrip(port);
  }
  throw new Error(`still not true after ${max} round trips: ${what}`);
}

/** Answers each CRLF line with `ok <line>`; records what it saw and the largest buffer. */
class LineEcho extends LineReceiver {
  delivered = 0;
  lines = 0;
  maxBuffered = 0;
  lost: Promise<Error>;
  #resolveLost!: (e: Error) => void;
  constructor() {
    super();
    this.lost = new Promise((r) => (this.#resolveLost = r));
  }
  get socketTransport(): SocketTransport {
    return this.transport as SocketTransport;
  }
  override dataReceived(data: Uint8Array): void {
    this.delivered += data.length;
    super.dataReceived(data);
    const buffered = this.socketTransport.bufferSize;
    if (buffered > this.maxBuffered) this.maxBuffered = buffered;
  }
  override lineReceived(line: Uint8Array): void {
    this.lines += 1;
    this.transport.writeSequence([OK, line, CRLF]);
  }
  override connectionLost(reason: Error): void {
    super.connectionLost(reason);
    this.#resolveLost(reason);
  }
}
const OK = Buffer.from("ok ");
const CRLF = Buffer.from("\r\n");

async function lineServer(
  options: ReactorOptions = {},
): Promise<{ port: number; server: Promise<LineEcho> }> {
  const reactor = createReactor(options);
  let made!: (p: LineEcho) => void;
  const server = new Promise<LineEcho>((r) => (made = r));
  const factory = new Factory<LineEcho>();
  factory.buildProtocol = () => {
    const p = new LineEcho();
    made(p);
    return p;
  };
  const listening: SocketPort = await reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
  cleanups.push(() => listening.stopListening({ closeConnections: true }));
  return { port: listening.getHost().port, server };
}

const LINE = 64; // bytes per request, CRLF included

/** `count` pipelined requests `<index>:xxxx…\r\n` and the exact replies the server owes. */
function requests(count: number): { data: Buffer; replySha: string; replyLength: number } {
  const data = Buffer.alloc(count * LINE, 0x78);
  for (let i = 0; i < count; i++) {
    const at = i * LINE;
    data.write(i.toString(16).padStart(8, "0"), at, "latin1");
    data[at + 8] = 0x3a;
    data[at + LINE - 2] = 0x0d;
    data[at + LINE - 1] = 0x0a;
  }
  const hash = createHash("sha256");
  for (let i = 0; i < count; i++) {
    hash.update(OK);
    hash.update(data.subarray(i * LINE, (i + 1) * LINE));
  }
  return { data, replySha: hash.digest("hex"), replyLength: count * (LINE + OK.length) };
}

/** Writes `data` in 1 MiB pieces (all buffered by the client's Node stream as needed). */
function pipeline(client: net.Socket, data: Buffer): void {
  for (let at = 0; at < data.length; at += MiB) client.write(data.subarray(at, at + MiB));
}

/**
 * A line server paused for a full buffer: a raw client pipelined 16 MiB of requests and reads
 * nothing, until the server stopped reading with the client's writes backed up.
 */
async function pausedLineServer(): Promise<{
  client: net.Socket;
  server: LineEcho;
  t: SocketTransport;
}> {
  const { port, server: made } = await lineServer();
  const client = await rawClient(port);
  const server = await made;
  const t = server.socketTransport;
  pipeline(client, requests((16 * MiB) / LINE).data);
  await until(port, "paused", () => t.readingPausedForBuffer && client.writableLength > 0);
  return { client, server, t };
}

/** Starts reading; resolves with the sha256 of exactly `length` bytes received. */
function readReplies(client: net.Socket, length: number): Promise<string> {
  const hash = createHash("sha256");
  let got = 0;
  return new Promise((resolve, reject) => {
    client.on("data", (c: Buffer) => {
      got += c.length;
      hash.update(c);
      if (got === length) resolve(hash.digest("hex"));
      else if (got > length) reject(new Error(`${got} bytes, expected ${length}`));
    });
    client.once("error", reject);
    client.resume();
  });
}

describe("SocketTransport read-side backpressure", () => {
  it("a line server stops reading from a client that pipelines 64 MiB and never reads, then answers every line in order", async () => {
    const { port, server: made } = await lineServer();
    const client = await rawClient(port);
    const server = await made;
    const t = server.socketTransport;
    const { data, replySha, replyLength } = requests((64 * MiB) / LINE);
    pipeline(client, data);

    // The server fills the kernel buffers, then stops reading: the client's own writes block.
    let last = -1;
    await until(port, "server paused for a full buffer, client blocked, nothing more read", () => {
      const stable =
        t.readingPausedForBuffer &&
        t.socket.isPaused() &&
        client.writableLength > 0 &&
        server.delivered === last;
      last = server.delivered;
      return stable;
    });
    const deliveredWhilePaused = server.delivered;
    const clientBacklog = client.writableLength;
    await roundTrip(port);
    await roundTrip(port);
    expect(server.delivered).toBe(deliveredWhilePaused);
    expect(client.writableLength).toBe(clientBacklog);
    // Most of the 64 MiB still waits in the client; the server holds at most a few MiB of replies.
    expect(clientBacklog).toBeGreaterThan(32 * MiB);
    expect(deliveredWhilePaused).toBeLessThan(32 * MiB);
    expect(t.bufferSize).toBeLessThan(2 * MiB);
    expect(server.maxBuffered).toBeLessThan(2 * MiB);

    // Now the client reads: every reply arrives, byte-exact and in order.
    const sha = await readReplies(client, replyLength);
    expect(sha).toBe(replySha);
    expect(server.lines).toBe(data.length / LINE);
    expect(server.delivered).toBe(data.length);
    expect(server.maxBuffered).toBeLessThan(2 * MiB);
    expect(t.readingPausedForBuffer).toBe(false);
    client.end();
    expect(await server.lost).toBeInstanceOf(ConnectionDone);
  });

  it("with pauseReadingOnFullBuffer: false the server keeps reading (and buffering) as before", async () => {
    const { port, server: made } = await lineServer({ pauseReadingOnFullBuffer: false });
    const client = await rawClient(port);
    const server = await made;
    const { data, replySha, replyLength } = requests((16 * MiB) / LINE);
    pipeline(client, data);
    await until(port, "server read every request", () => server.delivered === data.length);
    expect(server.socketTransport.readingPausedForBuffer).toBe(false);
    // Replies the client does not read pile up in the server.
    expect(server.socketTransport.bufferSize).toBeGreaterThan(4 * MiB);
    expect(await readReplies(client, replyLength)).toBe(replySha);
  });

  it("honours a high-water mark below Node's (4 KiB) and above it (1 MiB)", async () => {
    for (const hwm of [4096, MiB]) {
      const { port, server: made } = await lineServer({ writeHighWaterMark: hwm });
      const client = await rawClient(port);
      const server = await made;
      const t = server.socketTransport;
      const { data, replySha, replyLength } = requests((16 * MiB) / LINE);
      pipeline(client, data);
      await until(port, `paused at ${hwm}`, () => t.readingPausedForBuffer);
      expect(server.delivered).toBeLessThan(data.length);
      expect(await readReplies(client, replyLength)).toBe(replySha);
      expect(server.delivered).toBe(data.length);
      // At most the mark plus the replies to one read (64 KiB of requests).
      expect(server.maxBuffered).toBeLessThan(hwm + 128 * 1024);
      if (hwm > t.socket.writableHighWaterMark) {
        expect(server.maxBuffered).toBeGreaterThan(t.socket.writableHighWaterMark);
      }
    }
  });

  it("pauses and resumes a streaming producer at a high-water mark below Node's", async () => {
    const reactor = createReactor({ writeHighWaterMark: 4096 });
    const TOTAL = 8 * MiB;
    const CHUNK = Buffer.alloc(1024, 0x61);
    const { Streamer, stats } = streamer(TOTAL, CHUNK);
    const listening = await reactor.listenTCP(0, Factory.forProtocol(Streamer), {
      interface: "127.0.0.1",
    });
    cleanups.push(() => listening.stopListening({ closeConnections: true }));
    const client = await rawClient(listening.getHost().port);
    let received = 0;
    client.on("data", (c: Buffer) => {
      received += c.length;
    });
    const ended = new Promise<void>((r) => client.once("end", () => r()));
    client.resume();
    await ended;
    // Paused at least once (the first burst of writes runs before the client can read anything, so
    // the buffer passes the mark), and
    // resumed: a paused producer writes nothing more, so every byte arriving proves the resume.
    // How many more pauses follow depends on how fast the reader drains the loopback buffers
    // (one under heavy load), so their number is not asserted.
    expect(stats.pauses).toBeGreaterThanOrEqual(1);
    expect(received).toBe(TOTAL);
    expect(stats.maxBuffered).toBeLessThan(4096 + CHUNK.length);
  });

  it("a pause requested by the protocol survives a drain; its resume does not undo a drain-pause", async () => {
    const reactor = createReactor();
    let made!: (p: Blob) => void;
    const ready = new Promise<Blob>((r) => (made = r));
    class Blob extends Protocol {
      received = "";
      override connectionMade(): void {
        made(this);
        this.transport.write(Buffer.alloc(8 * MiB, 0x62)); // the client does not read yet
      }
      override dataReceived(data: Uint8Array): void {
        this.received += Buffer.from(data).toString();
      }
    }
    const listening = await reactor.listenTCP(0, Factory.forProtocol(Blob), {
      interface: "127.0.0.1",
    });
    cleanups.push(() => listening.stopListening({ closeConnections: true }));
    const port = listening.getHost().port;
    const client = await rawClient(port);
    const server = await ready;
    const t = server.transport as SocketTransport;
    expect(t.readingPausedForBuffer).toBe(true);
    client.write("hello");
    await roundTrip(port);
    expect(server.received).toBe("");

    // The protocol's resume does not override the pause for the full buffer.
    t.pauseProducing();
    t.resumeProducing();
    expect(t.socket.isPaused()).toBe(true);
    await roundTrip(port);
    expect(server.received).toBe("");

    // The protocol pauses; then the buffer drains: reading stays paused.
    t.pauseProducing();
    let got = 0;
    const drained = new Promise<void>((r) =>
      client.on("data", (c: Buffer) => {
        got += c.length;
        if (got === 8 * MiB) r();
      }),
    );
    client.resume();
    await drained;
    await until(port, "drained", () => !t.readingPausedForBuffer);
    expect(t.bufferSize).toBe(0);
    expect(t.socket.isPaused()).toBe(true);
    await roundTrip(port);
    await roundTrip(port);
    expect(server.received).toBe("");

    // Only the protocol's resume lets the data in.
    t.resumeProducing();
    await until(port, "hello delivered", () => server.received === "hello");
    client.end();
  });

  it("notices a peer that destroys its socket while the server is paused for a full buffer", async () => {
    for (const how of ["destroy", "resetAndDestroy"] as const) {
      const { client, server, t } = await pausedLineServer();
      client.on("error", () => {});
      if (how === "destroy") client.destroy();
      else client.resetAndDestroy();
      const reason = await server.lost;
      expect(reason).toBeInstanceOf(ConnectionLost);
      expect(t.disconnected).toBe(true);
    }
  });

  it("loseConnection while paused for a full buffer sends every reply, then the FIN", async () => {
    const { client, server, t } = await pausedLineServer();
    const answered = server.lines;
    t.loseConnection();
    expect(t.disconnecting).toBe(true);
    // Everything answered so far arrives, then the end.
    const chunks: Buffer[] = [];
    client.on("data", (c: Buffer) => chunks.push(c));
    const ended = new Promise<void>((r) => client.once("end", () => r()));
    client.on("error", () => {});
    client.resume();
    await ended;
    const got = Buffer.concat(chunks);
    expect(got.length).toBe(answered * (LINE + OK.length));
    expect(got.subarray(0, 12).toString()).toBe("ok 00000000:");
    const lastLine = (answered - 1).toString(16).padStart(8, "0");
    expect(got.subarray(got.length - LINE - 3, got.length - LINE + 9).toString()).toBe(
      `ok ${lastLine}:`,
    );
    expect(server.lines).toBe(answered); // nothing read after loseConnection was answered
    await server.lost;
  });

  it("abortConnection and stopProducing still end a connection paused for a full buffer", async () => {
    for (const how of ["abort", "stopProducing"] as const) {
      const { client, server, t } = await pausedLineServer();
      client.on("error", () => {});
      if (how === "abort") {
        t.abortConnection();
        expect(await server.lost).toBeInstanceOf(ConnectionLost);
      } else {
        t.stopProducing();
        expect(t.disconnecting).toBe(true);
        client.resume(); // reading lets the buffered replies and the FIN out
        await server.lost;
      }
      expect(t.disconnected).toBe(true);
      await new Promise<void>((r) => (client.destroyed ? r() : client.once("close", () => r())));
    }
  });
});
