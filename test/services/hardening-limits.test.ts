/**
 * Connection limits in a suite: the `limits` sections of the config (checked, with JSON paths),
 * the per-front-end defaults (idle on for request/reply front-ends, off for PB), and limit lines
 * through the suite's logger.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Clock } from "../../src/core/clock.js";
import { createReactor, type SocketPort } from "../../src/core/reactor.js";
import { ConfigError } from "../../src/services/errors.js";
import type { ServiceLogger } from "../../src/services/log.js";
import { checkSuiteConfig, type SuiteConfig } from "../../src/services/suite/config.js";
import { SUITE_IDLE_TIMEOUT } from "../../src/services/suite/limits.js";
import { type RunningSuite, startSuite } from "../../src/services/suite/runner.js";
import { pump, pumpUntil, type Watched, watchedClient, written } from "../core/limits-helpers.js";
import { Cleanups } from "../helpers/loopback.js";

const cleanups = new Cleanups();
afterEach(cleanups.run);

function issuesOf(value: unknown): string[] {
  try {
    checkSuiteConfig(value);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  return [];
}

/** A logger that keeps the warn records. */
function recordingLogger(): { logger: ServiceLogger; warnings: Array<[object, string]> } {
  const warnings: Array<[object, string]> = [];
  const noop = (): void => {};
  return {
    warnings,
    logger: {
      debug: noop,
      info: noop,
      warn: (obj, msg) => warnings.push([obj, msg ?? ""]),
      error: noop,
      isLevelEnabled: () => true,
    } as ServiceLogger,
  };
}

async function start(
  config: SuiteConfig,
  clock: Clock,
  logger: ServiceLogger,
): Promise<RunningSuite> {
  const reactor = createReactor({ clock });
  const suite = await startSuite(reactor, config, { clock, logger });
  cleanups.push(() => suite.stop({ graceSeconds: 0 }));
  return suite;
}

const portOf = (suite: RunningSuite, i: number): number => {
  const p = suite.frontEnds[i]?.port as SocketPort;
  return p.getHost().port;
};

describe("suite config: limits", () => {
  it("accepts a suite-wide and a per-listen limits section", () => {
    const plan = checkSuiteConfig({
      limits: {
        process: { memoryBudget: 1 << 28, maxConnections: 4000 },
        frontEnds: { frameTimeout: 30, idleTimeout: null },
      },
      services: {
        transform: {
          listen: [
            {
              protocol: "line",
              endpoint: "tcp:0",
              limits: { idleTimeout: 5, maxConnectionsPerPeer: 50 },
            },
          ],
        },
      },
    });
    expect(plan.limits?.process?.maxConnections).toBe(4000);
    expect(plan.services[0]?.listen[0]?.limits).toEqual({
      idleTimeout: 5,
      maxConnectionsPerPeer: 50,
    });
  });

  it("reports bad limits with their JSON paths", () => {
    expect(
      issuesOf({
        limits: { process: { memoryBudget: 0 }, frontEnds: { idleTimeout: -1, frameTimout: 3 } },
        services: {
          transform: {
            listen: [{ protocol: "line", endpoint: "tcp:0", limits: { maxConnections: 1.5 } }],
          },
        },
      }),
    ).toEqual([
      "config.limits.process.memoryBudget: must be an integer >= 1",
      "config.limits.frontEnds.idleTimeout: must be a number of seconds >= 0",
      expect.stringMatching(/^config\.limits\.frontEnds\.frameTimout: unknown key "frameTimout"/),
    ]);
    expect(
      issuesOf({
        services: {
          transform: {
            listen: [{ protocol: "line", endpoint: "tcp:0", limits: { maxConnections: 1.5 } }],
          },
        },
      }),
    ).toEqual([
      "config.services.transform.listen[0].limits.maxConnections: must be an integer >= 1",
    ]);
  });
});

describe("suite: limits at work", () => {
  it("idle: request/reply front-ends close silent connections after the suite default (a listen entry may shorten it); PB keeps them", async () => {
    const clock = new Clock();
    const { logger } = recordingLogger();
    const suite = await start(
      {
        services: {
          transform: {
            listen: [
              { protocol: "line", endpoint: "tcp:0" },
              { protocol: "line", endpoint: "tcp:0", limits: { idleTimeout: 5 } },
            ],
          },
          calculator: { listen: [{ protocol: "pb", endpoint: "tcp:0" }] },
        },
      },
      clock,
      logger,
    );
    const lineDefault = await watchedClient(portOf(suite, 0), cleanups);
    const lineShort = await watchedClient(portOf(suite, 1), cleanups);
    const pb = await watchedClient(portOf(suite, 2), cleanups);
    await pumpUntil(clock, () => lineShort.closed, "the 5 s idle limit", 1, 8);
    expect(lineDefault.closed).toBe(false);
    await pumpUntil(
      clock,
      () => lineDefault.closed,
      "the suite idle limit",
      10,
      SUITE_IDLE_TIMEOUT / 10 + 2,
    );
    expect(clock.seconds()).toBeGreaterThanOrEqual(SUITE_IDLE_TIMEOUT);
    expect(pb.closed).toBe(false);
  });

  it("slowloris on the transform netstring front-end: aborted after the configured frame time, logged at warn naming the front-end", async () => {
    const clock = new Clock();
    const { logger, warnings } = recordingLogger();
    const suite = await start(
      {
        limits: { frontEnds: { frameTimeout: 10 } },
        services: { transform: { listen: [{ protocol: "netstring", endpoint: "tcp:0" }] } },
      },
      clock,
      logger,
    );
    const slow: Watched[] = [];
    for (let i = 0; i < 3; i++) slow.push(await watchedClient(portOf(suite, 0), cleanups));
    for (const c of slow) await written(c.socket, "500:u");
    for (let t = 0; t < 8; t += 2) {
      await pump(clock, 2);
      for (const c of slow) await written(c.socket, "p");
    }
    expect(slow.some((c) => c.closed)).toBe(false);
    await pumpUntil(clock, () => slow.every((c) => c.closed), "frame time", 1, 6);
    const lines = warnings.filter(([, m]) => m.includes("a frame not completed"));
    expect(lines).toHaveLength(1);
    expect(lines[0]?.[0]).toEqual({ service: "transform", protocol: "netstring", limit: true });
  });
});
