import { beforeEach, describe, expect, it } from "vitest";
import { Clock } from "../../src/core/clock.js";
import { ConnectionDone } from "../../src/core/errors.js";
import type { Address, Producer, Transport } from "../../src/core/interfaces.js";
import { IdleTimeout, withIdleTimeout } from "../../src/core/policies.js";
import { Protocol } from "../../src/core/protocol.js";

/** A minimal in-memory transport that records writes and closing. */
class FakeTransport implements Transport {
  written: Uint8Array[] = [];
  disconnecting = false;
  write(data: Uint8Array | string): void {
    this.written.push(typeof data === "string" ? new TextEncoder().encode(data) : data);
  }
  writeSequence(data: Iterable<Uint8Array | string>): void {
    for (const d of data) this.write(d);
  }
  loseConnection(): void {
    this.disconnecting = true;
  }
  abortConnection(): void {
    this.disconnecting = true;
  }
  getPeer(): Address {
    return { type: "TCP", host: "127.0.0.1", port: 1 };
  }
  getHost(): Address {
    return { type: "TCP", host: "127.0.0.1", port: 2 };
  }
  pauseProducing(): void {}
  resumeProducing(): void {}
  stopProducing(): void {}
  registerProducer(_producer: Producer, _streaming: boolean): void {}
  unregisterProducer(): void {}
}

/** Twisted's TimeoutTester, built on IdleTimeout. */
class TimeoutTester extends Protocol {
  timedOut = false;
  readonly timeout: IdleTimeout;
  constructor(clock: Clock) {
    super();
    this.timeout = new IdleTimeout(clock, () => this.timeoutConnection(), 3);
  }
  override connectionMade(): void {
    this.timeout.setTimeout(this.timeout.timeOut);
  }
  override dataReceived(_data: Uint8Array): void {
    this.timeout.resetTimeout();
  }
  override connectionLost(reason: Error): void {
    this.timeout.setTimeout(null);
    super.connectionLost(reason);
  }
  timeoutConnection(): void {
    this.timedOut = true;
  }
}

describe("IdleTimeout (Twisted TimeoutMixinTests)", () => {
  let clock: Clock;
  let proto: TimeoutTester;
  beforeEach(() => {
    clock = new Clock();
    proto = new TimeoutTester(clock);
  });

  it("test_overriddenCallLater: schedules on the given clock", () => {
    proto.timeout.setTimeout(10);
    expect(clock.getDelayedCalls()).toHaveLength(1);
  });

  it("test_timeout: times out after timeOut seconds", () => {
    proto.makeConnection(new FakeTransport());
    clock.pump([0, 0.5, 1.0, 1.0]);
    expect(proto.timedOut).toBe(false);
    clock.pump([0, 1.0]);
    expect(proto.timedOut).toBe(true);
  });

  it("test_noTimeout: receiving data delays the timeout", () => {
    proto.makeConnection(new FakeTransport());
    clock.pump([0, 0.5, 1.0, 1.0]);
    expect(proto.timedOut).toBe(false);
    proto.dataReceived(new TextEncoder().encode("hello there"));
    clock.pump([0, 1.0, 1.0, 0.5]);
    expect(proto.timedOut).toBe(false);
    clock.pump([0, 1.0]);
    expect(proto.timedOut).toBe(true);
  });

  it("test_resetTimeout: setting a new value replaces the previous timeout", () => {
    proto.timeout.timeOut = null;
    proto.makeConnection(new FakeTransport());
    expect(clock.getDelayedCalls()).toHaveLength(0);
    proto.timeout.setTimeout(1);
    expect(proto.timeout.timeOut).toBe(1);
    clock.pump([0, 0.9]);
    expect(proto.timedOut).toBe(false);
    clock.pump([0, 0.2]);
    expect(proto.timedOut).toBe(true);
  });

  it("test_cancelTimeout: setTimeout(null) cancels", () => {
    proto.timeout.timeOut = 5;
    proto.makeConnection(new FakeTransport());
    proto.timeout.setTimeout(null);
    expect(proto.timeout.timeOut).toBeNull();
    expect(proto.timeout.pending).toBe(false);
    clock.pump([0, 5, 5, 5]);
    expect(proto.timedOut).toBe(false);
  });

  it("test_setTimeoutReturn: setTimeout returns the previous period", () => {
    proto.timeout.timeOut = 5;
    expect(proto.timeout.setTimeout(10)).toBe(5);
    expect(proto.timeout.setTimeout(null)).toBe(10);
    expect(proto.timeout.setTimeout(1)).toBeNull();
    expect(proto.timeout.timeOut).toBe(1);
    proto.timeout.setTimeout(null);
    expect(clock.getDelayedCalls()).toEqual([]);
  });

  it("test_setTimeoutCancleAlreadyCancelled: cancelling an externally cancelled timeout is fine", () => {
    proto.timeout.setTimeout(3);
    clock.getDelayedCalls()[0]!.cancel();
    expect(proto.timeout.timeOut).not.toBeNull();
    expect(() => proto.timeout.setTimeout(null)).not.toThrow();
    expect(proto.timeout.timeOut).toBeNull();
  });

  it("setTimeout(null) after expiry does not throw; resetTimeout after expiry is a no-op", () => {
    proto.makeConnection(new FakeTransport());
    clock.advance(3);
    expect(proto.timedOut).toBe(true);
    proto.timeout.resetTimeout();
    expect(clock.getDelayedCalls()).toEqual([]);
    expect(() => proto.timeout.setTimeout(null)).not.toThrow();
  });

  it("resetTimeout without a pending countdown does nothing", () => {
    proto.timeout.resetTimeout();
    expect(clock.getDelayedCalls()).toEqual([]);
  });

  it("setTimeout(period) on a running countdown restarts it from now with the new period", () => {
    proto.makeConnection(new FakeTransport());
    clock.advance(2);
    proto.timeout.setTimeout(5);
    clock.advance(4.9);
    expect(proto.timedOut).toBe(false);
    clock.advance(0.1);
    expect(proto.timedOut).toBe(true);
  });

  it("setTimeout(period) after an external cancel starts a fresh countdown (no AlreadyCancelled)", () => {
    proto.timeout.setTimeout(3);
    clock.getDelayedCalls()[0]!.cancel();
    expect(() => proto.timeout.setTimeout(2)).not.toThrow();
    clock.advance(2);
    expect(proto.timedOut).toBe(true);
  });

  it("connectionLost stops the countdown", () => {
    proto.makeConnection(new FakeTransport());
    proto.connectionLost(new ConnectionDone());
    clock.advance(100);
    expect(proto.timedOut).toBe(false);
  });
});

describe("withIdleTimeout", () => {
  class Recorder extends Protocol {
    events: string[] = [];
    override connectionMade(): void {
      this.events.push("made");
    }
    override dataReceived(data: Uint8Array): void {
      this.events.push(`data:${new TextDecoder().decode(data)}`);
    }
    override connectionLost(reason: Error): void {
      this.events.push(`lost:${reason.name}`);
      super.connectionLost(reason);
    }
  }

  it("closes an idle connection with loseConnection, resetting on each dataReceived", () => {
    const clock = new Clock();
    const p = new Recorder();
    withIdleTimeout(p, clock, 10);
    expect(clock.getDelayedCalls()).toEqual([]); // not started before the connection
    const t = new FakeTransport();
    p.makeConnection(t);
    expect(p.events).toEqual(["made"]);
    clock.advance(9);
    p.dataReceived(new TextEncoder().encode("ping"));
    expect(p.events).toEqual(["made", "data:ping"]);
    clock.advance(9);
    expect(t.disconnecting).toBe(false);
    clock.advance(1);
    expect(t.disconnecting).toBe(true);
    p.connectionLost(new ConnectionDone());
    expect(p.events).toEqual(["made", "data:ping", "lost:ConnectionDone"]);
    expect(clock.getDelayedCalls()).toEqual([]);
  });

  it("connectionLost cancels the countdown", () => {
    const clock = new Clock();
    const p = new Recorder();
    const timeout = withIdleTimeout(p, clock, 5);
    const t = new FakeTransport();
    p.makeConnection(t);
    expect(timeout.pending).toBe(true);
    p.connectionLost(new ConnectionDone());
    expect(timeout.pending).toBe(false);
    clock.advance(10);
    expect(t.disconnecting).toBe(false);
  });

  it("starts at once on an already-connected protocol, and calls a custom onTimeout", () => {
    const clock = new Clock();
    const p = new Recorder();
    p.makeConnection(new FakeTransport());
    let fired = 0;
    const timeout = withIdleTimeout(p, clock, 2, { onTimeout: () => fired++ });
    clock.advance(2);
    expect(fired).toBe(1);
    expect(p.transport.disconnecting).toBe(false);
    // The period can be changed afterwards.
    expect(timeout.setTimeout(4)).toBe(2);
    clock.advance(4);
    expect(fired).toBe(2);
  });
});
