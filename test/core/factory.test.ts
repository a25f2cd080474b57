/**
 * Typed protocols and factories: `Protocol<F>` types `this.factory` by the factory that builds it,
 * `Factory.forProtocol(Cls, ...args)` passes constructor arguments (checked by the compiler), and
 * `buildProtocol` sets the factory. The type assertions are checked by `tsc` (`npm run typecheck`).
 */
import { describe, expect, expectTypeOf, it } from "vitest";
import { ClientFactory, Factory, ServerFactory } from "../../src/core/factory.js";
import type { Address } from "../../src/core/interfaces.js";
import { Protocol } from "../../src/core/protocol.js";

const ADDR: Address = { type: "TCP", host: "127.0.0.1", port: 1234 };

class Greeter extends Protocol<GreeterFactory> {
  greeting(): string {
    return `${this.factory.greeting}, ${this.factory.count++}`;
  }
}

class GreeterFactory extends ServerFactory<Greeter> {
  count = 0;
  constructor(readonly greeting: string) {
    super();
  }
  override buildProtocol(_addr: Address): Greeter {
    return this.adopt(new Greeter());
  }
}

class Tagged extends Protocol {
  constructor(
    readonly tag: string,
    readonly limit: number,
  ) {
    super();
  }
}

class Plain extends Protocol {}

describe("Protocol<F>: this.factory is typed by the factory that builds it", () => {
  it("a Protocol<MyFactory> subclass sees a MyFactory", () => {
    expectTypeOf<Greeter["factory"]>().toEqualTypeOf<GreeterFactory>();
    expectTypeOf<Plain["factory"]>().toEqualTypeOf<object>();
    const factory = new GreeterFactory("hello");
    const p = factory.buildProtocol(ADDR);
    expect(p.factory).toBe(factory);
    expect(p.greeting()).toBe("hello, 0");
    expect(p.greeting()).toBe("hello, 1");
  });

  it("buildProtocol sets the factory before makeConnection", () => {
    const factory = Factory.forProtocol(Plain);
    const p = factory.buildProtocol(ADDR);
    expect(p).toBeInstanceOf(Plain);
    expect(p?.factory).toBe(factory);
    const client = new ClientFactory<Plain>();
    client.protocol = Plain;
    expect(client.buildProtocol(ADDR)?.factory).toBe(client);
  });

  it("a factory without a protocol class refuses the connection", () => {
    expect(new Factory().buildProtocol(ADDR)).toBeNull();
  });
});

describe("Factory.forProtocol", () => {
  it("builds a new protocol per connection with the same constructor arguments", () => {
    const factory = Factory.forProtocol(Tagged, "t", 3);
    expectTypeOf(factory).toEqualTypeOf<Factory<Tagged>>();
    const a = factory.buildProtocol(ADDR);
    const b = factory.buildProtocol(ADDR);
    expect(a).not.toBe(b);
    expect([a?.tag, a?.limit, b?.tag, b?.limit]).toEqual(["t", 3, "t", 3]);
    expect(a?.factory).toBe(factory);
    expect(b?.factory).toBe(factory);
  });

  it("checks the arguments against the constructor", () => {
    // @ts-expect-error: limit must be a number
    Factory.forProtocol(Tagged, "t", "3");
    // @ts-expect-error: missing the limit
    Factory.forProtocol(Tagged, "t");
    // @ts-expect-error: Plain takes no arguments
    Factory.forProtocol(Plain, 1);
    expect(Factory.forProtocol(Plain).buildProtocol(ADDR)).toBeInstanceOf(Plain);
  });

  it("refuses a protocol that needs its own factory class", () => {
    // @ts-expect-error: a Greeter's this.factory must be a GreeterFactory, not a plain Factory
    const unsound = Factory.forProtocol(Greeter);
    // What the compile error prevents: the protocol reads fields its factory does not have.
    expect(unsound.buildProtocol(ADDR)?.greeting()).toBe("undefined, NaN");
  });

  it("counts the ports that use it (startFactory on the first, stopFactory after the last)", () => {
    const calls: string[] = [];
    class Counting extends Factory<Plain> {
      override startFactory(): void {
        calls.push("start");
      }
      override stopFactory(): void {
        calls.push("stop");
      }
    }
    const f = new Counting();
    f.doStart();
    f.doStart();
    f.doStop();
    expect(calls).toEqual(["start"]);
    f.doStop();
    f.doStop(); // one too many: ignored
    expect(calls).toEqual(["start", "stop"]);
    expect(f.numPorts).toBe(0);
  });
});
