import { describe, expect, it } from "vitest";
import { ConnectionDone, ConnectionLost } from "../../src/core/errors.js";
import { ClientFactory, Factory } from "../../src/core/factory.js";
import type { Producer } from "../../src/core/interfaces.js";
import { Protocol } from "../../src/core/protocol.js";
import { ProducerAlreadyRegisteredError } from "../../src/core/transport.js";
import {
  connectedPair,
  MemoryReactor,
  MemoryTransport,
  MemoryTransportWithDisconnection,
  TransportStateError,
} from "../../src/testing/memory.js";

const text = (b: Uint8Array) => Buffer.from(b).toString();
const noopProducer: Producer = { pauseProducing() {}, resumeProducing() {}, stopProducing() {} };

describe("MemoryTransport (StringTransport)", () => {
  it("records writes (bytes and UTF-8 strings), value() and clear()", () => {
    const t = new MemoryTransport();
    t.write(Buffer.from("abc"));
    t.write("dé");
    t.writeSequence([Buffer.from("x"), "y"]);
    expect(text(t.value())).toBe("abcdéxy");
    expect(t.text()).toBe("abcdéxy");
    t.clear();
    expect(t.value()).toEqual(new Uint8Array(0));
  });

  it("copies what is written, so later changes to the caller's buffer do not leak in", () => {
    const t = new MemoryTransport();
    const b = Buffer.from("abc");
    t.write(b);
    b[0] = 0x7a;
    expect(t.text()).toBe("abc");
  });

  it("loseConnection only sets disconnecting; abortConnection also disconnected", () => {
    const t = new MemoryTransport();
    const p = new Protocol();
    let lost = 0;
    p.connectionLost = () => {
      lost += 1;
    };
    p.makeConnection(t);
    t.loseConnection();
    expect(t.disconnecting).toBe(true);
    expect(t.disconnected).toBe(false);
    expect(lost).toBe(0);
    t.abortConnection();
    expect(t.disconnected).toBe(true);
    expect(lost).toBe(0);
  });

  it("has Twisted's default addresses, overridable", () => {
    const t = new MemoryTransport();
    expect(t.getHost()).toEqual({ type: "TCP", host: "10.0.0.1", port: 12345 });
    expect(t.getPeer()).toEqual({ type: "TCP", host: "192.168.1.1", port: 54321 });
    const u = new MemoryTransport({ peerAddress: { type: "TCP6", host: "::1", port: 1 } });
    expect(u.getPeer()).toEqual({ type: "TCP6", host: "::1", port: 1 });
  });

  it("registers one producer at a time", () => {
    const t = new MemoryTransport();
    t.registerProducer(noopProducer, true);
    expect(t.producer).toBe(noopProducer);
    expect(t.streaming).toBe(true);
    expect(() => t.registerProducer(noopProducer, false)).toThrow(ProducerAlreadyRegisteredError);
    t.unregisterProducer();
    expect(t.producer).toBeNull();
    expect(t.streaming).toBeNull();
    expect(() => t.unregisterProducer()).toThrow(TransportStateError);
  });

  it("tracks producerState; pause/resume after loseConnection or stop throw unless lenient", () => {
    const t = new MemoryTransport();
    expect(t.producerState).toBe("producing");
    t.pauseProducing();
    expect(t.producerState).toBe("paused");
    t.resumeProducing();
    expect(t.producerState).toBe("producing");
    t.stopProducing();
    expect(t.producerState).toBe("stopped");
    expect(() => t.resumeProducing()).toThrow(TransportStateError);

    const u = new MemoryTransport();
    u.loseConnection();
    expect(() => u.pauseProducing()).toThrow(TransportStateError);
    const lenient = new MemoryTransport({ lenient: true });
    lenient.loseConnection();
    lenient.pauseProducing();
    expect(lenient.producerState).toBe("paused");
  });
});

describe("MemoryTransportWithDisconnection", () => {
  it("delivers connectionLost(ConnectionDone) once on loseConnection", () => {
    const p = new Protocol();
    const reasons: Error[] = [];
    p.connectionLost = (r) => {
      reasons.push(r);
    };
    const t = new MemoryTransportWithDisconnection(p);
    p.makeConnection(t);
    t.loseConnection();
    t.loseConnection();
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toBeInstanceOf(ConnectionDone);
    expect(reasons[0]?.message).toBe("Bye.");
  });
});

class Echo extends Protocol {
  override dataReceived(data: Uint8Array): void {
    this.transport.write(data);
  }
}

class Collector extends Protocol {
  got = "";
  reasons: Error[] = [];
  override dataReceived(data: Uint8Array): void {
    this.got += text(data);
  }
  override connectionLost(reason: Error): void {
    super.connectionLost(reason);
    this.reasons.push(reason);
  }
}

describe("connectedPair (iosim)", () => {
  it("moves nothing until pumped; flush runs a conversation to quiet", () => {
    const server = new Echo();
    const client = new Collector();
    const { pump, serverTransport } = connectedPair(server, client);
    client.transport.write("hello");
    expect(client.got).toBe("");
    expect(pump.pump()).toBe(true); // client → server; server writes the echo
    expect(client.got).toBe("");
    pump.flush();
    expect(client.got).toBe("hello");
    expect(pump.pump()).toBe(false);
    expect(server.transport.getPeer()).toEqual(client.transport.getHost());
    expect(serverTransport.getHost()).toEqual({ type: "TCP", host: "127.0.0.1", port: 10001 });
  });

  it("delivers pending bytes, then connectionLost(ConnectionDone) to both sides", () => {
    class Greeter extends Protocol {
      reasons: Error[] = [];
      override connectionMade(): void {
        this.transport.write("bye now");
        this.transport.loseConnection();
      }
      override connectionLost(reason: Error): void {
        this.reasons.push(reason);
      }
    }
    const server = new Greeter();
    const client = new Collector();
    const { pump } = connectedPair(server, client);
    pump.flush();
    expect(client.got).toBe("bye now");
    expect(client.reasons).toHaveLength(1);
    expect(client.reasons[0]).toBeInstanceOf(ConnectionDone);
    expect(server.reasons).toHaveLength(1);
    expect(server.reasons[0]).toBeInstanceOf(ConnectionDone);
  });

  it("abortConnection drops pending bytes and both sides see ConnectionLost", () => {
    const server = new Collector();
    const client = new Collector();
    const { pump } = connectedPair(server, client);
    client.transport.write("never delivered");
    client.transport.abortConnection();
    pump.flush();
    expect(server.got).toBe("");
    expect(server.reasons[0]).toBeInstanceOf(ConnectionLost);
    expect(client.reasons[0]).toBeInstanceOf(ConnectionLost);
  });

  it("holds data for a side that paused reading", () => {
    const server = new Collector();
    const client = new Collector();
    const { pump } = connectedPair(server, client);
    server.transport.pauseProducing();
    client.transport.write("wait");
    pump.flush();
    expect(server.got).toBe("");
    server.transport.resumeProducing();
    pump.flush();
    expect(server.got).toBe("wait");
  });

  it("throws rather than loop forever on a ping-pong that never ends", () => {
    const a = new Echo();
    const b = new Echo();
    const { pump } = connectedPair(a, b);
    a.transport.write("x");
    expect(() => pump.flush(50)).toThrow(TransportStateError);
  });
});

describe("MemoryReactor", () => {
  it("records listen and connect calls without I/O", async () => {
    const reactor = new MemoryReactor();
    const f = Factory.forProtocol(Echo);
    const port = await reactor.listenTCP(8080, f, { interface: "127.0.0.1" });
    expect(reactor.tcpServers).toEqual([
      { port: 8080, factory: f, options: { interface: "127.0.0.1" } },
    ]);
    expect(port.getHost()).toEqual({ type: "TCP", host: "127.0.0.1", port: 8080 });
    expect(f.numPorts).toBe(1);
    await port.stopListening();
    expect(f.numPorts).toBe(0);

    const cf = new ClientFactory();
    let started = 0;
    cf.startedConnecting = () => {
      started += 1;
    };
    const c = reactor.connectTCP("::1", 25, cf, { timeout: 5 });
    expect(started).toBe(1);
    expect(reactor.tcpClients[0]).toMatchObject({ host: "::1", port: 25, options: { timeout: 5 } });
    expect(c.getDestination()).toEqual({ type: "TCP6", host: "::1", port: 25 });
    const calls: number[] = [];
    reactor.callLater(1, () => calls.push(reactor.seconds()));
    reactor.clock.advance(1);
    expect(calls).toEqual([1]);
  });
});
