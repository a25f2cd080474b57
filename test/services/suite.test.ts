import net from "node:net";
import { describe, expect, it } from "vitest";
import { Clock } from "../../src/core/clock.js";
import { ConfigError } from "../../src/services/errors.js";
import {
  BUILTIN_REGISTRY,
  defaultSuiteConfig,
  resolveServerEndpoint,
  startSuite,
  validateSuiteConfig,
} from "../../src/services/suite/index.js";
import { exchange, lines, reactor } from "./helpers.js";

describe("suite configuration", () => {
  it("the default config is valid and serves every front-end kind on its default port", () => {
    const config = validateSuiteConfig(defaultSuiteConfig());
    const served = Object.entries(config.services).flatMap(([service, s]) =>
      s.listen.map((l) => `${service}:${l.protocol}`),
    );
    for (const f of BUILTIN_REGISTRY.frontEnds())
      expect(served).toContain(`${f.service}:${f.protocol}`);
    expect(config.services.calculator?.listen.map((l) => l.endpoint)).toEqual([
      "tcp:8992",
      "tcp:8993",
      "tcp:8994",
      "tcp:8996",
      "tcp:8997",
      "tcp:8998",
      "tcp:8995",
      "tcp:8999",
    ]);
  });

  it.each([
    [null, /config: must be a JSON object/],
    [{}, /config.services: must be an object/],
    [{ services: {} }, /names no service/],
    [{ services: { echo: { listen: [] } } }, /unknown key "echo"/],
    [{ services: { transform: {} } }, /transform.listen: must be a non-empty array/],
    [
      { services: { transform: { listen: [{ protocol: "smtp", endpoint: "tcp:1" }] } } },
      /has no "smtp" front-end \(known: netstring, line, amp, udp\)/,
    ],
    [
      { services: { transform: { listen: [{ protocol: "line" }] } } },
      /listen\[0\]\.endpoint: missing/,
    ],
    [
      { services: { transform: { listen: [{ protocol: "line", endpoint: "tcp:1", extra: 1 }] } } },
      /unknown key "extra"/,
    ],
    [
      {
        services: {
          poetry: { slow: { interval: -1 }, listen: [{ protocol: "slow", endpoint: "tcp:0" }] },
        },
      },
      /slow.interval: must be a number/,
    ],
    [
      {
        services: { calculator: { delay: "x", listen: [{ protocol: "amp", endpoint: "tcp:0" }] } },
      },
      /calculator.delay/,
    ],
    [
      {
        portOffset: -1,
        services: { transform: { listen: [{ protocol: "line", endpoint: "tcp:0" }] } },
      },
      /portOffset/,
    ],
  ])("rejects %j with a clear ConfigError", (value, message) => {
    expect(() => validateSuiteConfig(value)).toThrow(ConfigError);
    expect(() => validateSuiteConfig(value)).toThrow(message);
  });

  it("the example configuration (examples/weft-serve.json) is valid", async () => {
    const { readFile } = await import("node:fs/promises");
    const config = validateSuiteConfig(
      JSON.parse(await readFile("examples/weft-serve.json", "utf8")),
    );
    expect(config.services.transform?.listen).toHaveLength(4);
    expect(config.services.calculator?.delay).toBe(0.05);
  });

  it("adds the host and the port offset to TCP endpoints", () => {
    expect(resolveServerEndpoint("tcp:10001", "127.0.0.1", 0)).toBe(
      "tcp:10001:interface=127.0.0.1",
    );
    expect(resolveServerEndpoint("tcp:10001", "::1", 100)).toBe("tcp:10101:interface=\\:\\:1");
    expect(resolveServerEndpoint("tcp:0:interface=0.0.0.0", "127.0.0.1", 100)).toBe(
      "tcp:0:interface=0.0.0.0",
    );
    expect(resolveServerEndpoint("tcp:port=5:backlog=9", "127.0.0.1", 1)).toBe(
      "tcp:6:backlog=9:interface=127.0.0.1",
    );
    expect(resolveServerEndpoint("unix:/tmp/x.sock", "127.0.0.1", 5)).toBe("unix:/tmp/x.sock");
    expect(() => resolveServerEndpoint("tcp:http", "127.0.0.1", 0)).toThrow(ConfigError);
    expect(() => resolveServerEndpoint("tcp:65535", "127.0.0.1", 1)).toThrow(ConfigError);
  });
});

describe("startSuite", () => {
  it("serves one service over another protocol by configuration only, and stops", async () => {
    const suite = await startSuite(
      reactor,
      validateSuiteConfig({
        services: {
          transform: {
            listen: [
              { protocol: "line", endpoint: "tcp:0" },
              { protocol: "line", endpoint: "tcp:0" },
            ],
          },
          poetry: { poem: "whitman-spider", listen: [{ protocol: "fast", endpoint: "tcp:0" }] },
        },
      }),
    );
    try {
      expect(suite.frontEnds.map((f) => `${f.service}/${f.protocol}/${f.address.host}`)).toEqual([
        "poetry/fast/127.0.0.1",
        "transform/line/127.0.0.1",
        "transform/line/127.0.0.1",
      ]);
      const [fast, line1, line2] = suite.frontEnds.map((f) => f.address.port);
      expect((await exchange(fast as number)).toString()).toMatch(/^A noiseless patient spider/);
      expect(await lines(line1 as number, "upper a\r\n", 1)).toEqual(["OK A"]);
      expect(await lines(line2 as number, "reverse ab\r\n", 1)).toEqual(["OK ba"]);
    } finally {
      await suite.stop();
    }
  });

  it("a bad endpoint or poem is a ConfigError before anything listens", async () => {
    await expect(
      startSuite(
        reactor,
        validateSuiteConfig({
          services: { transform: { listen: [{ protocol: "line", endpoint: "tcp:0:bogus=1" }] } },
        }),
      ),
    ).rejects.toBeInstanceOf(ConfigError);
    await expect(
      startSuite(
        reactor,
        validateSuiteConfig({
          services: { poetry: { poem: "nope", listen: [{ protocol: "fast", endpoint: "tcp:0" }] } },
        }),
      ),
    ).rejects.toThrow(/No poem named "nope"/);
  });

  it("a port that cannot be opened closes the ones already open and rethrows", async () => {
    const first = await startSuite(
      reactor,
      validateSuiteConfig({
        services: { transform: { listen: [{ protocol: "line", endpoint: "tcp:0" }] } },
      }),
    );
    const busy = first.frontEnds[0]?.address.port as number;
    try {
      const err = await startSuite(
        reactor,
        validateSuiteConfig({
          services: {
            transform: {
              listen: [
                { protocol: "netstring", endpoint: "tcp:0" },
                { protocol: "line", endpoint: `tcp:${busy}` },
              ],
            },
          },
        }),
      ).then(
        () => null,
        (e: unknown) => e,
      );
      expect((err as { code: string }).code).toBe("ERR_CANNOT_LISTEN");
    } finally {
      await first.stop();
    }
  });

  it("stop() aborts connections whose peer never closes once the grace period is over", async () => {
    const clock = new Clock();
    const suite = await startSuite(
      reactor,
      validateSuiteConfig({
        services: { transform: { listen: [{ protocol: "line", endpoint: "tcp:0" }] } },
      }),
      { clock },
    );
    const port = suite.frontEnds[0]?.address.port as number;
    // a peer that reads our FIN but never closes its own side
    const peer = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
    peer.on("error", () => undefined);
    await new Promise<void>((r) => peer.on("connect", () => r()));
    expect(await lines(port, "upper x\r\n", 1)).toEqual(["OK X"]);
    let done = false;
    const stopped = suite.stop({ graceSeconds: 5 }).then(() => {
      done = true;
    });
    while (clock.getDelayedCalls().length === 0) await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false);
    clock.advance(5);
    await stopped; // resolves only once every connection of the suite is gone
    expect(clock.getDelayedCalls()).toHaveLength(0);
    peer.destroy();
  });
});
