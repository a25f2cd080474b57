import * as net from "node:net";
import { describe, expect, it } from "vitest";
import { Clock } from "../../src/core/clock.js";
import { ConnectionDone, ConnectionRefusedError } from "../../src/core/errors.js";
import { Factory } from "../../src/core/factory.js";
import { Protocol } from "../../src/core/protocol.js";
import { createReactor } from "../../src/core/reactor.js";
import { ReconnectingClientFactory } from "../../src/core/reconnecting.js";
import { MemoryConnector } from "../../src/testing/memory.js";

function fixture(jitter = 0) {
  const clock = new Clock();
  const factory = new ReconnectingClientFactory({ clock });
  factory.jitter = jitter;
  const connector = new MemoryConnector({ type: "TCP", host: "127.0.0.1", port: 1 });
  return { clock, factory, connector };
}

describe("ReconnectingClientFactory", () => {
  it("has Twisted's defaults", () => {
    const f = new ReconnectingClientFactory({ clock: new Clock() });
    expect(f.initialDelay).toBe(1.0);
    // biome-ignore lint/suspicious/noApproximativeNumericConstant: Twisted's literal, on purpose
    expect(f.factor).toBe(2.7182818284590451);
    expect(f.jitter).toBe(0.119626565582);
    expect(f.maxDelay).toBe(3600);
    expect(f.maxRetries).toBeNull();
    expect(f.continueTrying).toBe(true);
    expect(f.delay).toBe(1.0);
  });

  it("waits e, e², e³… (the first retry already multiplied), capped at maxDelay", () => {
    const { clock, factory, connector } = fixture();
    // Twisted's probed sequence (section 6.6 of the reference).
    // biome-ignore lint/suspicious/noApproximativeNumericConstant: the printed value, not a constant
    const expected = [2.718, 7.389, 20.09, 54.6, 148.4, 403.4, 1096.6, 2981.0, 3600, 3600];
    const seen: number[] = [];
    for (const want of expected) {
      factory.clientConnectionFailed(connector, new ConnectionRefusedError());
      const call = factory.pendingRetry;
      expect(call).not.toBeNull();
      const delay = (call?.getTime() ?? 0) - clock.seconds();
      seen.push(delay);
      expect(delay).toBeCloseTo(want, want < 100 ? 2 : 0);
      const before = connector.connectCalls;
      clock.advance(delay * 0.999);
      expect(connector.connectCalls).toBe(before);
      clock.advance(delay * 0.002);
      expect(connector.connectCalls).toBe(before + 1);
    }
    expect(factory.retries).toBe(10);
    expect(seen[8]).toBe(3600);
  });

  it("retries after a lost connection too, and resetDelay starts over", () => {
    const { clock, factory, connector } = fixture();
    factory.clientConnectionLost(connector, new ConnectionDone());
    clock.advance(2.72);
    expect(connector.connectCalls).toBe(1);
    factory.clientConnectionLost(connector, new ConnectionDone());
    expect(factory.delay).toBeCloseTo(Math.E ** 2, 9);
    clock.advance(7.39);
    expect(connector.connectCalls).toBe(2);
    factory.resetDelay();
    expect(factory.delay).toBe(1.0);
    expect(factory.retries).toBe(0);
    factory.clientConnectionLost(connector, new ConnectionDone());
    expect(factory.delay).toBeCloseTo(Math.E, 9);
  });

  it("gives up after maxRetries", () => {
    const { clock, factory, connector } = fixture();
    factory.maxRetries = 2;
    for (let i = 0; i < 3; i++) {
      factory.clientConnectionFailed(connector, new ConnectionRefusedError());
      clock.advance(10_000);
    }
    expect(connector.connectCalls).toBe(2);
    expect(factory.retries).toBe(3);
    expect(factory.pendingRetry).toBeNull();
  });

  it("stopTrying cancels the pending retry and stops an attempt in progress", () => {
    const { clock, factory, connector } = fixture();
    factory.clientConnectionFailed(connector, new ConnectionRefusedError());
    expect(clock.getDelayedCalls()).toHaveLength(1);
    factory.stopTrying();
    expect(clock.getDelayedCalls()).toHaveLength(0);
    expect(connector.stopConnectingCalls).toBe(1);
    expect(factory.continueTrying).toBe(false);
    clock.advance(10_000);
    factory.clientConnectionFailed(connector, new ConnectionRefusedError());
    expect(clock.getDelayedCalls()).toHaveLength(0);
    expect(connector.connectCalls).toBe(0);
  });

  it("jitters with a normal variate from the injected random source", () => {
    const { factory, connector, clock } = fixture(0.119626565582);
    // u1 = e^-0.5 and u2 = 0 make the Box–Muller variate exactly +1 standard deviation.
    const values = [Math.exp(-0.5), 0];
    factory.random = () => values.shift() ?? 0.5;
    factory.clientConnectionFailed(connector, new ConnectionRefusedError());
    const delay = (factory.pendingRetry?.getTime() ?? 0) - clock.seconds();
    expect(delay).toBeCloseTo(Math.E * (1 + 0.119626565582), 9);
  });

  it("reconnects a real client once the server is back (manual clock drives the retries)", async () => {
    const clock = new Clock();
    const reactor = createReactor({ clock });
    // Reserve a port, release it: the first attempt is refused.
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", () => r()));
    const portNumber = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));

    const events: string[] = [];
    let connected!: () => void;
    const made = new Promise<void>((r) => (connected = r));
    let failed!: () => void;
    const firstFailure = new Promise<void>((r) => (failed = r));
    const factory = new ReconnectingClientFactory<Protocol>({ clock });
    factory.jitter = 0;
    factory.buildProtocol = () =>
      new (class extends Protocol {
        override connectionMade(): void {
          factory.resetDelay();
          events.push("made");
          connected();
        }
      })();
    const origFailed = factory.clientConnectionFailed.bind(factory);
    factory.clientConnectionFailed = (c, reason) => {
      events.push(reason.constructor.name);
      origFailed(c, reason);
      failed();
    };
    const connector = reactor.connectTCP("127.0.0.1", portNumber, factory, { timeout: null });
    await firstFailure;
    expect(events).toEqual(["ConnectionRefusedError"]);
    const server = await reactor.listenTCP(portNumber, Factory.forProtocol(Protocol), {
      interface: "127.0.0.1",
    });
    try {
      clock.advance(2.72); // the scheduled retry runs connector.connect()
      await made;
      expect(events).toEqual(["ConnectionRefusedError", "made"]);
      expect(factory.retries).toBe(0);
      factory.stopTrying();
      connector.disconnect();
    } finally {
      await server.stopListening({ closeConnections: true });
    }
  });
});
