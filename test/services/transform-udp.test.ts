import * as dgram from "node:dgram";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { Clock } from "../../src/core/clock.js";
import { createReactor } from "../../src/core/reactor.js";
import type { UDPPort } from "../../src/core/udp.js";
import { TransformService } from "../../src/services/transform/service.js";
import { TransformUDPProtocol } from "../../src/services/transform/udp.js";

const reactor = createReactor();
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(options: ConstructorParameters<typeof TransformUDPProtocol>[1] = {}) {
  const service = new TransformService();
  service.register("dup", (t) => t + t);
  const protocol = new TransformUDPProtocol(service, options);
  const port: UDPPort = await reactor.listenUDP(0, protocol, { interface: "127.0.0.1" });
  cleanups.push(() => port.stopListening());
  const client = dgram.createSocket("udp4");
  await new Promise<void>((r) => client.bind(0, "127.0.0.1", () => r()));
  cleanups.push(() => new Promise<void>((r) => client.close(() => r())));
  const replies: string[] = [];
  client.on("message", (m) => replies.push(m.toString()));
  const send = (data: string | Uint8Array): void => {
    client.send(data, port.getHost().port, "127.0.0.1");
  };
  /** Waits until the server has received `n` datagrams in all, then a little for the replies. */
  const settle = async (n: number): Promise<void> => {
    for (let i = 0; i < 200 && protocol.stats.received < n; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    for (let i = 0; i < 200 && replies.length < protocol.stats.answered; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  return { protocol, port, client, replies, send, settle, clientPort: client.address().port };
}

describe("transform over UDP", () => {
  it("answers one datagram with one datagram", async () => {
    const { send, settle, replies, protocol } = await setup();
    send("upper hello world");
    send("reverse abc\n");
    send("nosuch transform with a long enough request");
    await settle(3);
    expect(replies.sort()).toEqual(["ERROR ERR_UNKNOWN_TRANSFORM", "OK HELLO WORLD", "OK cba"]);
    expect(protocol.stats).toMatchObject({ received: 3, answered: 3 });
  });

  it("never replies with more bytes than the request", async () => {
    const { send, settle, replies, protocol } = await setup();
    send("dup abcdef"); // the reply would be longer
    send("x y"); // "OK y" is one byte longer than the request
    send("nosuch a"); // even the error would be longer
    await settle(3);
    expect(replies).toEqual([]);
    expect(protocol.stats.tooLargeReplies).toBe(3);
  });

  it("drops and counts malformed and oversized datagrams", async () => {
    const { send, settle, replies, protocol } = await setup({ maxDatagram: 64 });
    send(Buffer.from([0x75, 0x70, 0x70, 0x65, 0x72, 0x20, 0xff, 0xfe])); // not UTF-8
    send("nospace");
    send("bad.name text");
    send(`upper ${"a".repeat(100)}`);
    await settle(4);
    expect(replies).toEqual([]);
    expect(protocol.stats).toMatchObject({ received: 4, malformed: 3, oversized: 1, answered: 0 });
  });

  it("holds a per-source rate limit (a token bucket on the reactor's clock)", async () => {
    const clock = new Clock();
    const { send, settle, replies, protocol } = await setup({ clock, rate: 10, burst: 5 });
    for (let i = 0; i < 20; i++) send(`upper burst number ${i}`);
    await settle(20);
    expect(replies.length).toBe(5);
    expect(protocol.stats.rateLimited).toBe(15);
    clock.advance(0.5); // 5 more tokens
    for (let i = 0; i < 20; i++) send(`upper later number ${i}`);
    await settle(40);
    expect(replies.length).toBe(10);
    expect(protocol.stats.rateLimited).toBe(30);
  });

  it("property: whatever arrives, every reply is at most as long as its request", async () => {
    const { protocol, replies, clientPort } = await setup({ rate: 1e9, burst: 1e9 });
    const from = { type: "UDP" as const, host: "127.0.0.1", port: clientPort };
    const expectedMax: number[] = [];
    const request = fc.oneof(
      fc.uint8Array({ maxLength: 80 }),
      fc
        .tuple(
          fc.constantFrom(
            "upper",
            "reverse",
            "title",
            "rot13",
            "cummingsify",
            "dup",
            "nosuch",
            "x",
          ),
          fc.string({ unit: "grapheme", maxLength: 30 }),
        )
        .map(([n, t]) => Buffer.from(`${n} ${t}`)),
    );
    fc.assert(
      fc.property(request, (data) => {
        const before = protocol.stats.answered;
        protocol.datagramReceived(data, from);
        if (protocol.stats.answered > before) expectedMax.push(data.length);
      }),
      { numRuns: 200 },
    );
    for (let i = 0; i < 200 && replies.length < expectedMax.length; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(replies.length).toBe(expectedMax.length);
    replies.forEach((r, i) => {
      expect(Buffer.byteLength(r)).toBeLessThanOrEqual(expectedMax[i] as number);
    });
  });
});
