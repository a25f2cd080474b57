import * as dgram from "node:dgram";
import { afterEach, describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/core/errors.js";
import type { Address } from "../../src/core/interfaces.js";
import { createReactor } from "../../src/core/reactor.js";
import { DatagramProtocol, MessageLengthError, type UDPPort } from "../../src/core/udp.js";
import { udpServerFromString } from "../../src/core/udp-endpoint.js";

const reactor = createReactor();
const ports: UDPPort[] = [];
afterEach(async () => {
  await Promise.all(ports.splice(0).map((p) => p.stopListening()));
});

class Echo extends DatagramProtocol {
  override datagramReceived(data: Uint8Array, addr: Address): void {
    this.transport.write(data, addr);
  }
}

/** Collects datagrams; `next()` resolves with the next one. */
class Collector extends DatagramProtocol {
  readonly got: Array<[string, Address]> = [];
  readonly events: string[] = [];
  #waiters: Array<(v: [string, Address]) => void> = [];
  override startProtocol(): void {
    this.events.push("start");
  }
  override stopProtocol(): void {
    this.events.push("stop");
  }
  override connectionRefused(): void {
    this.events.push("refused");
  }
  override datagramReceived(data: Uint8Array, addr: Address): void {
    const item: [string, Address] = [Buffer.from(data).toString(), addr];
    const w = this.#waiters.shift();
    if (w !== undefined) w(item);
    else this.got.push(item);
  }
  next(ms = 2000): Promise<[string, Address]> {
    const item = this.got.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("no datagram")), ms);
      this.#waiters.push((v) => {
        clearTimeout(t);
        resolve(v);
      });
    });
  }
}

async function listen(p: DatagramProtocol, iface = "127.0.0.1", extra = {}): Promise<UDPPort> {
  const port = await reactor.listenUDP(0, p, { interface: iface, ...extra });
  ports.push(port);
  return port;
}

const turns = (n: number): Promise<void> =>
  n === 0 ? Promise.resolve() : new Promise((r) => setTimeout(r, 10)).then(() => turns(n - 1));

describe("listenUDP", () => {
  it("echoes datagrams; the protocol sees startProtocol and the sender's address", async () => {
    const server = await listen(new Echo());
    const client = new Collector();
    const cport = await listen(client);
    expect(client.events).toEqual(["start"]);
    expect(server.getHost()).toMatchObject({ type: "UDP", host: "127.0.0.1" });
    expect(server.getHost().port).toBeGreaterThan(0);
    cport.write("ping", { host: "127.0.0.1", port: server.getHost().port });
    const [data, from] = await client.next();
    expect(data).toBe("ping");
    expect(from).toEqual({ type: "UDP", host: "127.0.0.1", port: server.getHost().port });
    await cport.stopListening();
    expect(client.events).toEqual(["start", "stop"]);
  });

  it("works over IPv6", async () => {
    const server = await listen(new Echo(), "::1");
    const client = new Collector();
    const cport = await listen(client, "::1");
    cport.write(Buffer.from("v6"), { host: "::1", port: server.getHost().port });
    const [data, from] = await client.next();
    expect(data).toBe("v6");
    expect(from.type).toBe("UDP6");
  });

  it("drops and counts datagrams larger than maxPacketSize", async () => {
    const server = new Collector();
    const sport = await listen(server, "127.0.0.1", { maxPacketSize: 100 });
    const raw = dgram.createSocket("udp4");
    try {
      const to = sport.getHost().port;
      raw.send(Buffer.alloc(101, 97), to, "127.0.0.1");
      raw.send(Buffer.alloc(100, 98), to, "127.0.0.1");
      const [data] = await server.next();
      expect(data).toBe("b".repeat(100));
      expect(sport.oversizeDropped).toBe(1);
    } finally {
      raw.close();
    }
  });

  it("never blocks or throws on loss; refuses impossible datagrams with a typed error", async () => {
    const closed = await listen(new DatagramProtocol());
    const deadPort = closed.getHost().port;
    await closed.stopListening();
    const sender = await listen(new DatagramProtocol());
    const started = Date.now();
    for (let i = 0; i < 1000; i++)
      sender.write("into the void", { host: "127.0.0.1", port: deadPort });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(() => sender.write(Buffer.alloc(70_000), { host: "127.0.0.1", port: deadPort })).toThrow(
      MessageLengthError,
    );
    expect(() => sender.write("no address")).toThrow(InvalidArgumentError);
    await turns(2);
  });

  it("connected UDP: talks to one peer only, and hears 'refused'", async () => {
    const a = new Collector();
    const aport = await listen(a);
    const friend = await listen(new DatagramProtocol());
    const stranger = await listen(new DatagramProtocol());
    await aport.connect("127.0.0.1", friend.getHost().port);
    expect(() => aport.write("x", { host: "127.0.0.1", port: 1 })).toThrow(InvalidArgumentError);
    stranger.write("from stranger", { host: "127.0.0.1", port: aport.getHost().port });
    friend.write("from friend", { host: "127.0.0.1", port: aport.getHost().port });
    const [data] = await a.next();
    expect(data).toBe("from friend");
    expect(a.got).toEqual([]);
    // The peer goes away: the next writes meet ICMP port unreachable.
    await friend.stopListening();
    for (let i = 0; i < 20 && !a.events.includes("refused"); i++) {
      aport.write("anyone?");
      await turns(1);
    }
    expect(a.events).toContain("refused");
  });

  it("multicast: members of a group receive; after leaving they do not", async () => {
    const group = "239.255.43.21";
    const a = new Collector();
    const b = new Collector();
    const opts = { interface: "0.0.0.0", listenMultiple: true };
    const aport = await reactor.listenMulticast(0, a, opts);
    ports.push(aport);
    const port = aport.getHost().port;
    const bport = await reactor.listenMulticast(port, b, opts);
    ports.push(bport);
    for (const p of [aport, bport]) p.joinGroup(group, "127.0.0.1");
    const sender = await listen(new DatagramProtocol());
    sender.setOutgoingInterface("127.0.0.1");
    sender.setLoopbackMode(true);
    sender.write("hello group", { host: group, port });
    expect((await a.next())[0]).toBe("hello group");
    expect((await b.next())[0]).toBe("hello group");
    // Linux delivers a group's datagrams to every socket bound to the port as long as one of them
    // is a member (IP_MULTICAST_ALL), so "left" is shown with both members gone.
    aport.leaveGroup(group, "127.0.0.1");
    bport.leaveGroup(group, "127.0.0.1");
    sender.write("second", { host: group, port });
    await turns(5);
    expect([a.got, b.got]).toEqual([[], []]);
  });

  it("the reactor's shutdown closes its UDP ports", async () => {
    const r = createReactor();
    const c = new Collector();
    const port = await r.listenUDP(0, c, { interface: "127.0.0.1" });
    await r.stop();
    expect(c.events).toEqual(["start", "stop"]);
    await port.stopListening(); // idempotent
  });

  it("rejects a bad port or a busy one with typed errors", async () => {
    await expect(reactor.listenUDP(70_000, new DatagramProtocol())).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    const taken = await listen(new DatagramProtocol());
    await expect(
      reactor.listenUDP(taken.getHost().port, new DatagramProtocol(), { interface: "127.0.0.1" }),
    ).rejects.toMatchObject({ code: "ERR_CANNOT_LISTEN" });
  });
});

describe("udp: endpoint strings", () => {
  it("parses, describes and listens", async () => {
    const e = udpServerFromString(reactor, "udp:0:interface=127.0.0.1:maxPacketSize=1400");
    expect(e.describe()).toBe("udp:0:interface=127.0.0.1:maxPacketSize=1400");
    expect(udpServerFromString(reactor, "udp:10004:\\:\\:1").options.interface).toBe("::1");
    const port = await e.listen(new DatagramProtocol());
    ports.push(port);
    expect(port.maxPacketSize).toBe(1400);
    for (const bad of ["tcp:1", "udp:", "udp:70000", "udp:1:bogus=2", "udp:1:maxPacketSize=0"]) {
      expect(() => udpServerFromString(reactor, bad)).toThrow(InvalidArgumentError);
    }
  });
});
