/** Seed 002's exercise: one config serving different poems on different ports. */
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/services/errors.js";
import { PoetryService } from "../../src/services/poetry/service.js";
import { startSuite } from "../../src/services/suite/index.js";
import { exchange, reactor } from "./helpers.js";

describe("different poems on different ports from one config", () => {
  it("each fast/slow listen entry serves its own `poem`; entries without one the service's", async () => {
    const suite = await startSuite(reactor, {
      services: {
        poetry: {
          poem: "dickinson-hope",
          slow: { bytesPerTick: 4096, interval: 0.001 },
          listen: [
            { protocol: "fast", endpoint: "tcp:0", poem: "whitman-spider" },
            { protocol: "fast", endpoint: "tcp:0", poem: "shelley-ozymandias" },
            { protocol: "slow", endpoint: "tcp:0", poem: "whitman-spider" },
            { protocol: "fast", endpoint: "tcp:0" },
          ],
        },
      },
    });
    try {
      const poems = await PoetryService.bundled();
      const served = await Promise.all(
        suite.frontEnds.map(async (f) => (await exchange(f.address.port)).toString()),
      );
      expect(served).toEqual(
        ["whitman-spider", "shelley-ozymandias", "whitman-spider", "dickinson-hope"].map(
          (name) => poems.getPoem(name).text,
        ),
      );
    } finally {
      await suite.stop();
    }
  });

  it("an unknown poem on one entry is a ConfigError naming that entry", async () => {
    const err = await startSuite(reactor, {
      services: {
        poetry: { listen: [{ protocol: "fast", endpoint: "tcp:0", poem: "nope" }] },
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(
      /config\.services\.poetry\.listen\[0\].*No poem named "nope"/,
    );
  });
});
