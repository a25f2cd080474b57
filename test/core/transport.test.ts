import { createHash } from "node:crypto";
import type * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ConnectionDone, ConnectionLost } from "../../src/core/errors.js";
import { ClientFactory, Factory } from "../../src/core/factory.js";
import type { Address, Producer } from "../../src/core/interfaces.js";
import { Protocol } from "../../src/core/protocol.js";
import { createReactor, type Reactor, type SocketPort } from "../../src/core/reactor.js";
import { ProducerAlreadyRegisteredError, type SocketTransport } from "../../src/core/transport.js";
import { Cleanups, listenLoopback, rawConnect } from "../helpers/loopback.js";
import { streamer } from "./streamer.js";

const MiB = 1024 * 1024;
const cleanups = new Cleanups();
afterEach(cleanups.run);

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBytes(n: number, seed: number): Buffer {
  const rnd = mulberry32(seed);
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (rnd() * 256) | 0;
  return b;
}

class Echo extends Protocol {
  override dataReceived(data: Uint8Array): void {
    this.transport.write(data);
  }
}

const listen = (reactor: Reactor, factory: Factory): Promise<SocketPort> =>
  listenLoopback(reactor, factory, cleanups);

/** A raw node:net client, destroyed after the test. */
const rawClient = (port: number, host = "127.0.0.1"): Promise<net.Socket> =>
  rawConnect(port, { host, cleanups });

function readAll(socket: net.Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on("data", (c: Buffer) => chunks.push(c));
  return new Promise((resolve, reject) => {
    socket.once("end", () => resolve(Buffer.concat(chunks)));
    socket.once("error", reject);
  });
}

function closed(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) resolve();
    else socket.once("close", () => resolve());
  });
}

/** A protocol recording its lifecycle, with a promise for connectionLost. */
class Recorder extends Protocol {
  received: Buffer[] = [];
  reasons: Error[] = [];
  lost: Promise<Error>;
  private resolveLost!: (e: Error) => void;
  constructor() {
    super();
    this.lost = new Promise((r) => (this.resolveLost = r));
  }
  override dataReceived(data: Uint8Array): void {
    this.received.push(Buffer.from(data));
  }
  override connectionLost(reason: Error): void {
    super.connectionLost(reason);
    this.reasons.push(reason);
    this.resolveLost(reason);
  }
  get text(): string {
    return Buffer.concat(this.received).toString();
  }
}

function recordingFactory(): { factory: Factory<Recorder>; made: Promise<Recorder> } {
  let resolve!: (p: Recorder) => void;
  const made = new Promise<Recorder>((r) => (resolve = r));
  const factory = new Factory<Recorder>();
  factory.buildProtocol = () => {
    const p = new (class extends Recorder {
      override connectionMade(): void {
        resolve(this);
      }
    })();
    return p;
  };
  return { factory, made };
}

describe("SocketTransport over TCP", () => {
  it("echoes 1 MiB to each of 200 concurrent clients, byte-exact, through random-size writes", async () => {
    const reactor = createReactor();
    const port = await listen(reactor, Factory.forProtocol(Echo));
    const N = 200;
    const SIZE = MiB;
    const base = randomBytes(SIZE, 42);

    class Sender extends Protocol {
      offset: number;
      received = 0;
      mismatch = -1;
      done: Promise<void>;
      private finish!: () => void;
      private fail!: (e: Error) => void;
      constructor(private readonly index: number) {
        super();
        this.offset = (index * 7919) % SIZE;
        this.done = new Promise((res, rej) => {
          this.finish = res;
          this.fail = rej;
        });
      }
      override connectionMade(): void {
        const rnd = mulberry32(this.index + 1);
        let sent = 0;
        while (sent < SIZE) {
          const n = Math.min(SIZE - sent, 1 + Math.floor(rnd() * 65536));
          this.writeRange(sent, n);
          sent += n;
        }
      }
      private writeRange(from: number, n: number): void {
        // Bytes from `base` starting at `offset + from`, wrapping around: views, no copies.
        let at = (this.offset + from) % SIZE;
        let left = n;
        while (left > 0) {
          const take = Math.min(left, SIZE - at);
          this.transport.write(base.subarray(at, at + take));
          left -= take;
          at = (at + take) % SIZE;
        }
      }
      override dataReceived(data: Uint8Array): void {
        let at = (this.offset + this.received) % SIZE;
        let i = 0;
        while (i < data.length) {
          const take = Math.min(data.length - i, SIZE - at);
          if (
            this.mismatch < 0 &&
            Buffer.compare(data.subarray(i, i + take), base.subarray(at, at + take)) !== 0
          ) {
            this.mismatch = this.received + i;
          }
          i += take;
          at = (at + take) % SIZE;
        }
        this.received += data.length;
        if (this.received >= SIZE) this.transport.loseConnection();
      }
      override connectionLost(reason: Error): void {
        if (this.received === SIZE && this.mismatch < 0 && reason instanceof ConnectionDone)
          this.finish();
        else
          this.fail(
            new Error(
              `client ${this.index}: ${this.received} bytes, mismatch ${this.mismatch}, ${reason.message}`,
            ),
          );
      }
    }

    const senders: Sender[] = [];
    for (let i = 0; i < N; i++) {
      const s = new Sender(i);
      senders.push(s);
      const f = new ClientFactory<Sender>();
      f.buildProtocol = () => s;
      reactor.connectTCP("127.0.0.1", port.getHost().port, f);
    }
    await Promise.all(senders.map((s) => s.done));
    expect(senders.every((s) => s.received === SIZE)).toBe(true);
  });

  it("loseConnection right after a 32 MiB write delivers every byte before the FIN", async () => {
    const reactor = createReactor();
    const payload = randomBytes(32 * MiB, 7);
    let server!: SocketTransport;
    class Blaster extends Protocol {
      override connectionMade(): void {
        server = this.transport as SocketTransport;
        this.transport.write(payload);
        this.transport.loseConnection();
        expect(this.transport.disconnecting).toBe(true);
        this.transport.loseConnection(); // idempotent
      }
    }
    const port = await listen(reactor, Factory.forProtocol(Blaster));
    const client = await rawClient(port.getHost().port);
    const got = await readAll(client);
    expect(got.length).toBe(payload.length);
    expect(createHash("sha256").update(got).digest("hex")).toBe(
      createHash("sha256").update(payload).digest("hex"),
    );
    await closed(client);
    expect(server.disconnecting).toBe(true);
  });

  it("pauses a streaming producer while the peer does not read, keeping the buffer bounded", async () => {
    const reactor = createReactor();
    const TOTAL = 64 * MiB;
    const CHUNK = Buffer.alloc(64 * 1024, 0x61);
    let sentAtFirstPause = -1;
    let firstPause!: () => void;
    const paused = new Promise<void>((r) => (firstPause = r));
    const { Streamer, stats } = streamer(TOTAL, CHUNK, (sent) => {
      if (sentAtFirstPause < 0) {
        sentAtFirstPause = sent;
        firstPause();
      }
    });
    const port = await listen(reactor, Factory.forProtocol(Streamer));
    const client = await rawClient(port.getHost().port);
    client.pause();
    await paused;
    // The producer stopped long before 64 MiB: the kernel and Node buffers hold only a few MiB.
    expect(sentAtFirstPause).toBeGreaterThan(0);
    expect(sentAtFirstPause).toBeLessThan(32 * MiB);
    let received = 0;
    client.on("data", (c: Buffer) => {
      received += c.length;
    });
    const ended = new Promise<void>((r) => client.once("end", () => r()));
    client.resume();
    await ended;
    expect(received).toBe(TOTAL);
    expect(stats.maxBuffered).toBeLessThan(2 * MiB);
    expect(stats.pauses).toBeGreaterThan(1);
  });

  it("asks a pull (non-streaming) producer for more each time the buffer drains", async () => {
    const reactor = createReactor();
    const TOTAL = 4 * MiB;
    const CHUNK = Buffer.alloc(256 * 1024, 0x62);
    class Puller extends Protocol implements Producer {
      sent = 0;
      calls = 0;
      override connectionMade(): void {
        this.transport.registerProducer(this, false);
      }
      pauseProducing(): void {}
      resumeProducing(): void {
        this.calls += 1;
        if (this.sent >= TOTAL) return;
        this.transport.write(CHUNK);
        this.sent += CHUNK.length;
        if (this.sent >= TOTAL) {
          this.transport.unregisterProducer();
          this.transport.loseConnection();
        }
      }
      stopProducing(): void {}
    }
    let puller!: Puller;
    const f = new Factory<Puller>();
    f.buildProtocol = () => (puller = new Puller());
    const port = await listen(reactor, f);
    const client = await rawClient(port.getHost().port);
    const got = await readAll(client);
    expect(got.length).toBe(TOTAL);
    expect(puller.calls).toBe(TOTAL / CHUNK.length);
  });

  it("loseConnection waits for a registered producer to unregister (Twisted)", async () => {
    const reactor = createReactor();
    let proto!: Protocol;
    const producer: Producer = { pauseProducing() {}, resumeProducing() {}, stopProducing() {} };
    class Lingering extends Protocol {
      override connectionMade(): void {
        proto = this;
        this.transport.registerProducer(producer, true);
        this.transport.write("first ");
        this.transport.loseConnection();
        expect(this.transport.disconnecting).toBe(true);
      }
    }
    const port = await listen(reactor, Factory.forProtocol(Lingering));
    const client = await rawClient(port.getHost().port);
    const all = readAll(client);
    const first = await new Promise<string>((r) =>
      client.once("data", (c: Buffer) => r(c.toString())),
    );
    expect(first).toBe("first ");
    // Still open: the producer can keep writing until it unregisters.
    proto.transport.write("second");
    proto.transport.unregisterProducer();
    expect((await all).toString()).toBe("first second");
  });

  it("sends all writes made while handling one chunk as ONE socket write", async () => {
    const reactor = createReactor();
    const counts = { chunks: 0, socketWrites: 0, pongs: 0 };
    let connectedWrites = -1;
    class Pong extends Protocol {
      override connectionMade(): void {
        const socket = (this.transport as SocketTransport).socket as net.Socket & {
          _write: (...a: unknown[]) => void;
          _writev: (...a: unknown[]) => void;
        };
        const w = socket._write.bind(socket);
        const wv = socket._writev.bind(socket);
        socket._write = (...a: unknown[]) => {
          counts.socketWrites += 1;
          w(...a);
        };
        socket._writev = (...a: unknown[]) => {
          counts.socketWrites += 1;
          wv(...a);
        };
        // A write outside dataReceived leaves at once, on its own.
        this.transport.write("hello\n");
        connectedWrites = counts.socketWrites;
      }
      override dataReceived(data: Uint8Array): void {
        counts.chunks += 1;
        for (const b of data) {
          if (b === 0x0a) {
            counts.pongs += 1;
            this.transport.write("pong\n");
          }
        }
      }
    }
    const port = await listen(reactor, Factory.forProtocol(Pong));
    const client = await rawClient(port.getHost().port);
    let text = "";
    const all = new Promise<void>((resolve) => {
      client.on("data", (c: Buffer) => {
        text += c.toString();
        if (text.length === "hello\n".length + 100 * 5) resolve();
      });
    });
    client.write("ping\n".repeat(100));
    await all;
    expect(connectedWrites).toBe(1);
    expect(counts.pongs).toBe(100);
    expect(text).toBe("hello\n" + "pong\n".repeat(100));
    // One socket write per chunk read (plus the greeting), however many replies each chunk made.
    expect(counts.socketWrites).toBe(1 + counts.chunks);
    expect(counts.chunks).toBeLessThan(100);
  });

  it("aborts only the connection whose dataReceived threw, and logs the error", async () => {
    const logged: unknown[] = [];
    const reactor = createReactor({ logger: (_m, e) => logged.push(e) });
    const lost: Error[] = [];
    class Fragile extends Protocol {
      override dataReceived(data: Uint8Array): void {
        const s = Buffer.from(data).toString();
        this.transport.write(s);
        if (s.includes("boom")) {
          throw new Error("kaboom");
        }
      }
      override connectionLost(reason: Error): void {
        lost.push(reason);
      }
    }
    const port = await listen(reactor, Factory.forProtocol(Fragile));
    const good = await rawClient(port.getHost().port);
    const bad = await rawClient(port.getHost().port);
    bad.on("error", () => {});
    const badData: Buffer[] = [];
    bad.on("data", (c: Buffer) => badData.push(c));
    bad.write("boom");
    await closed(bad);
    expect(badData.length).toBe(0); // the reply written before the throw was dropped with the connection
    expect(logged).toHaveLength(1);
    expect((logged[0] as Error).message).toBe("kaboom");
    expect(lost).toHaveLength(1);
    expect(lost[0]).toBeInstanceOf(ConnectionLost);
    expect((lost[0] as ConnectionLost).code).toBe("ERR_CONNECTION_LOST");
    expect((lost[0] as ConnectionLost).cause).toBe(logged[0]);
    // The other connection is untouched.
    const echoed = new Promise<string>((r) => good.once("data", (c: Buffer) => r(c.toString())));
    good.write("still here");
    expect(await echoed).toBe("still here");
  });

  it("delivers exactly one connectionLost: ConnectionDone on a clean close", async () => {
    const reactor = createReactor();
    const { factory, made } = recordingFactory();
    const port = await listen(reactor, factory);
    const client = await rawClient(port.getHost().port);
    const server = await made;
    client.end("bye");
    const reason = await server.lost;
    await closed(client);
    expect(reason).toBeInstanceOf(ConnectionDone);
    expect((reason as ConnectionDone).code).toBe("ERR_CONNECTION_DONE");
    expect(server.text).toBe("bye");
    expect(server.reasons).toHaveLength(1);
    expect(server.connected).toBe(false);
    // Writes after the connection is gone are no-ops.
    server.transport.write("ignored");
    server.transport.loseConnection();
    server.transport.abortConnection();
    expect(server.reasons).toHaveLength(1);
  });

  it("delivers ConnectionLost with the socket error when the peer resets", async () => {
    const reactor = createReactor();
    const { factory, made } = recordingFactory();
    const port = await listen(reactor, factory);
    const client = await rawClient(port.getHost().port);
    const server = await made;
    client.resetAndDestroy();
    const reason = await server.lost;
    expect(reason).toBeInstanceOf(ConnectionLost);
    expect((reason.cause as NodeJS.ErrnoException).code).toBe("ECONNRESET");
    expect(server.reasons).toHaveLength(1);
  });

  it("abortConnection drops buffered data and the peer sees the connection go", async () => {
    const reactor = createReactor();
    const { factory, made } = recordingFactory();
    const port = await listen(reactor, factory);
    const client = await rawClient(port.getHost().port);
    client.on("error", () => {});
    const server = await made;
    client.pause(); // do not read: the server's write stays buffered
    server.transport.write(Buffer.alloc(64 * MiB));
    server.transport.abortConnection();
    expect(server.transport.disconnecting).toBe(true);
    const reason = await server.lost;
    expect(reason).toBeInstanceOf(ConnectionLost);
    let received = 0;
    client.on("data", (c: Buffer) => {
      received += c.length;
    });
    client.resume();
    await closed(client);
    expect(received).toBeLessThan(64 * MiB);
  });

  it("pauseProducing stops dataReceived until resumeProducing", async () => {
    const reactor = createReactor();
    const { factory, made } = recordingFactory();
    const port = await listen(reactor, factory);
    const client = await rawClient(port.getHost().port);
    const server = await made;
    server.transport.pauseProducing();
    client.write("one");
    // A round trip through a second connection proves the loop ran while paused.
    const probe = await rawClient(port.getHost().port);
    await new Promise<void>((r) => probe.end(() => r()));
    await closed(probe);
    expect(server.received).toHaveLength(0);
    const got = new Promise<void>((r) => {
      const orig = server.dataReceived.bind(server);
      server.dataReceived = (d) => {
        orig(d);
        r();
      };
    });
    server.transport.resumeProducing();
    await got;
    expect(server.text).toBe("one");
  });

  it("reports TCP and TCP6 addresses and refuses a second producer", async () => {
    const reactor = createReactor();
    const { factory, made } = recordingFactory();
    const port = await reactor.listenTCP(0, factory, { interface: "::1" });
    cleanups.push(() => port.stopListening({ closeConnections: true }));
    expect(port.getHost()).toEqual({ type: "TCP6", host: "::1", port: port.getHost().port });
    const client = await rawClient(port.getHost().port, "::1");
    const server = await made;
    expect(server.transport.getHost()).toEqual({
      type: "TCP6",
      host: "::1",
      port: port.getHost().port,
    });
    expect(server.transport.getPeer()).toEqual({
      type: "TCP6",
      host: "::1",
      port: client.localPort,
    });
    const p: Producer = { pauseProducing() {}, resumeProducing() {}, stopProducing() {} };
    server.transport.registerProducer(p, true);
    expect(() => server.transport.registerProducer(p, true)).toThrow(
      ProducerAlreadyRegisteredError,
    );
    try {
      server.transport.registerProducer(p, true);
    } catch (e) {
      expect((e as ProducerAlreadyRegisteredError).code).toBe("ERR_PRODUCER_ALREADY_REGISTERED");
    }
    let stopped = 0;
    server.transport.unregisterProducer();
    server.transport.registerProducer({ ...p, stopProducing: () => (stopped += 1) }, true);
    client.end();
    await server.lost;
    expect(stopped).toBe(1); // the producer is stopped when the connection goes
  });
});

describe("connection setup and teardown", () => {
  it("gives every clean close its own ConnectionDone (stack-free, but a real, separate instance)", async () => {
    const reactor = createReactor();
    const recorders: Recorder[] = [];
    const factory = new Factory<Recorder>();
    factory.buildProtocol = () => {
      const p = new Recorder();
      recorders.push(p);
      return p;
    };
    const port = await listen(reactor, factory);
    for (let i = 0; i < 2; i++) {
      const client = await rawClient(port.getHost().port);
      client.end();
      await closed(client);
    }
    const [a, b] = await Promise.all(recorders.map((r) => r.lost));
    expect(a).toBeInstanceOf(ConnectionDone);
    expect(b).toBeInstanceOf(ConnectionDone);
    expect(a).not.toBe(b);
    expect((a as ConnectionDone).code).toBe("ERR_CONNECTION_DONE");
    expect(a?.message).toBe("Connection was closed cleanly.");
    expect(a?.name).toBe("ConnectionDone");
    expect(Object.isFrozen(a)).toBe(false);
    (a as Error).message = "changed by a protocol";
    expect(b?.message).toBe("Connection was closed cleanly.");
    expect(new ConnectionDone().stack).toContain("ConnectionDone"); // stack capture is untouched elsewhere
  });

  it("shares one set of socket listeners between connections and adds 'drain' only when needed", async () => {
    const reactor = createReactor();
    const transports: SocketTransport[] = [];
    const made: Array<() => void> = [];
    const both = new Promise<void>((r) => made.push(r));
    const factory = Factory.forProtocol(
      class extends Protocol {
        override connectionMade(): void {
          transports.push(this.transport as SocketTransport);
          if (transports.length === 2) made[0]?.();
        }
      },
    );
    const port = await listen(reactor, factory);
    await rawClient(port.getHost().port);
    await rawClient(port.getHost().port);
    await both;
    const [s1, s2] = transports.map((t) => t.socket) as [net.Socket, net.Socket];
    for (const event of ["data", "error", "close"] as const) {
      const mine1 = s1.listeners(event).filter((l) => !s2.listeners(event).includes(l));
      expect(mine1).toEqual([]); // nothing per connection: the same functions on both sockets
    }
    expect(s1.listenerCount("end")).toBe(s2.listenerCount("end")); // Node's own only
    expect(s1.listenerCount("drain")).toBe(0);
    transports[0]?.registerProducer(
      { pauseProducing() {}, resumeProducing() {}, stopProducing() {} },
      false,
    );
    expect(s1.listenerCount("drain")).toBe(1);
  });

  it("hands buildProtocol the peer address, looked up when read; getPeer() caches it past the close", async () => {
    const reactor = createReactor();
    const seen: Address[] = [];
    const { factory: inner, made } = recordingFactory();
    const factory = new Factory<Recorder>();
    factory.buildProtocol = (addr) => {
      seen.push(addr);
      return inner.buildProtocol(addr);
    };
    const port = await listen(reactor, factory);
    const client = await rawClient(port.getHost().port);
    const server = await made;
    const expected = { type: "TCP", host: "127.0.0.1", port: client.localPort };
    const addr = seen[0] as Address;
    expect({ type: addr.type, host: addr.host, port: addr.port }).toEqual(expected);
    expect(JSON.parse(JSON.stringify(addr))).toEqual(expected);
    expect(server.transport.getPeer()).toEqual(expected);
    expect(server.transport.getHost()).toEqual({
      type: "TCP",
      host: "127.0.0.1",
      port: port.getHost().port,
    });
    client.end();
    await server.lost;
    expect(server.transport.getPeer()).toEqual(expected);
    expect(server.transport.disconnecting).toBe(true);
  });

  it("an aborted connection still knows its peer in connectionLost", async () => {
    const reactor = createReactor();
    let peerAtLoss!: (a: Address) => void;
    const got = new Promise<Address>((r) => (peerAtLoss = r));
    const factory = Factory.forProtocol(
      class extends Protocol {
        override connectionMade(): void {
          this.transport.abortConnection(); // the peer was never asked for before
        }
        override connectionLost(): void {
          peerAtLoss(this.transport.getPeer());
        }
      },
    );
    const port = await listen(reactor, factory);
    const client = await rawClient(port.getHost().port);
    client.on("error", () => undefined);
    expect(await got).toEqual({ type: "TCP", host: "127.0.0.1", port: client.localPort });
  });

  it("treats the peer's FIN as disconnecting: later writes are dropped and the close stays clean", async () => {
    const reactor = createReactor();
    const { factory, made } = recordingFactory();
    const port = await listen(reactor, factory);
    const client = await rawClient(port.getHost().port);
    const server = await made;
    server.transport.pauseProducing(); // so the FIN is not read until we resume
    client.end();
    const transport = server.transport as SocketTransport;
    const ended = new Promise<void>((r) => transport.socket.once("end", () => r()));
    expect(transport.disconnecting).toBe(false);
    server.transport.resumeProducing();
    await ended;
    expect(transport.disconnecting).toBe(true);
    server.transport.write("dropped after the peer's FIN");
    const reason = await server.lost;
    expect(reason).toBeInstanceOf(ConnectionDone);
    expect(server.reasons).toHaveLength(1);
  });
});
