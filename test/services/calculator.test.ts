import { afterAll, describe, expect, it } from "vitest";
import { Clock } from "../../src/core/clock.js";
import { flushUnhandledErrors } from "../../src/core/deferred.js";
import { InvalidArgumentError } from "../../src/core/errors.js";
import { CalculatorAMPFactory } from "../../src/services/calculator/amp.js";
import { CalculatorClient } from "../../src/services/calculator/client.js";
import { CalculatorLineFactory } from "../../src/services/calculator/line.js";
import { CalculatorService } from "../../src/services/calculator/service.js";
import { closeAll, deadPort, endpoint, lines, listen } from "./helpers.js";

afterAll(closeAll);

describe("CalculatorService", () => {
  it("adds exactly, bigint beyond 2^53", () => {
    const c = new CalculatorService();
    expect(c.calculate(2, 3, 7)).toEqual({ result: 5, server: 7 });
    expect(c.calculate(Number.MAX_SAFE_INTEGER, 1, 0)).toEqual({ result: 2n ** 53n, server: 0 });
    expect(c.calculate(10n ** 30n, -(10n ** 30n), 0)).toEqual({ result: 0, server: 0 });
    expect(c.count).toBe(3);
  });

  it("a delayed answer waits on the injected clock and never blocks", async () => {
    const clock = new Clock();
    const c = new CalculatorService({ delay: 2, clock });
    let answer: unknown = null;
    const p = c.calculate(1, 1, 3) as Promise<unknown>;
    void p.then((v) => {
      answer = v;
    });
    expect(c.pending).toBe(1);
    clock.advance(1.9);
    await Promise.resolve();
    expect(answer).toBeNull();
    clock.advance(0.1);
    await expect(p).resolves.toEqual({ result: 2, server: 3 });
    expect(c.pending).toBe(0);
    expect(clock.getDelayedCalls()).toHaveLength(0);
  });

  it("rejects a bad delay", () => {
    expect(() => new CalculatorService({ delay: -1 })).toThrow(InvalidArgumentError);
    expect(() => new CalculatorService({ delay: 1 })).toThrow(InvalidArgumentError);
  });
});

describe("calculator over AMP on three ports", () => {
  it("spreads calls over the servers and gathers the results", async () => {
    const service = new CalculatorService();
    const ports = [
      await listen(new CalculatorAMPFactory(service, { serverId: 1 })),
      await listen(new CalculatorAMPFactory(service, { serverId: 2 })),
      await listen(new CalculatorAMPFactory(service, { serverId: 3 })),
    ];
    const client = new CalculatorClient(ports.map(endpoint));
    try {
      const answers = await client.calculateAll(
        Array.from({ length: 7 }, (_, i) => [i, 10 * i] as const),
      );
      expect(answers.map((a) => a.result)).toEqual([0, 11, 22, 33, 44, 55, 66]);
      expect(answers.map((a) => a.server)).toEqual([1, 2, 3, 1, 2, 3, 1]);
      const big = await client.calculateOn(2, 2n ** 70n, 1);
      expect(big).toEqual({ result: 2n ** 70n + 1n, server: 3 });
    } finally {
      client.close();
    }
  });

  it("a down server fails the gathered result with its typed error", async () => {
    const service = new CalculatorService();
    const up = await listen(new CalculatorAMPFactory(service, { serverId: 1 }));
    const down = await deadPort();
    const client = new CalculatorClient([endpoint(up), endpoint(down)]);
    try {
      const err = await client
        .calculateAll([
          [1, 1],
          [2, 2],
        ])
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect((err as { code: string }).code).toBe("ERR_FIRST_ERROR");
      expect((err as { subFailure: { code: string } }).subFailure.code).toBe(
        "ERR_CONNECTION_REFUSED",
      );
    } finally {
      client.close();
    }
  });
});

describe("calculator over lines", () => {
  it("answers A B with the sum and its server id, in order even when delayed", async () => {
    const clock = new Clock();
    const service = new CalculatorService({ delay: 1, clock });
    const port = await listen(new CalculatorLineFactory(service, { serverId: 4 }));
    const pending = lines(port, `1 2\r\nnope\r\n${2n ** 80n} -1\r\n`, 3);
    while (service.pending < 2) await new Promise((r) => setImmediate(r));
    clock.advance(1);
    expect(await pending).toEqual([
      "OK 3 4",
      "ERROR ERR_BAD_REQUEST Expected A SP B (two decimal integers).",
      `OK ${2n ** 80n - 1n} 4`,
    ]);
  });
});

describe("hygiene", () => {
  it("leaves no Deferred with an unhandled failure", () => {
    expect(flushUnhandledErrors().map((e) => `${e.name}: ${e.message}`)).toEqual([]);
  });
});
