/**
 * `npm run soak`: the lossless-stop run of `npm test` (test/services/stop-sigterm.test.ts) 20
 * times — SIGTERM to a real `weft serve` while 200 connections are still sending 500 pipelined
 * line requests each — plus 5 runs each for the netstring and AMP front-ends.
 */
import { describe, it } from "vitest";
import {
  ampScenario,
  expectLossless,
  lineScenario,
  netstringScenario,
  runStopScenario,
} from "../services/stop-helpers.js";

describe("soak: SIGTERM under load loses no reply", () => {
  for (let rep = 1; rep <= 20; rep++) {
    it(`line: 200 × 500 pipelined, still being sent (run ${rep} of 20)`, async () => {
      expectLossless(await runStopScenario(lineScenario(200, 500, { chunks: 5 })));
    }, 120_000);
  }
  for (let rep = 1; rep <= 5; rep++) {
    it(`netstring: 200 one-request connections (run ${rep} of 5)`, async () => {
      expectLossless(await runStopScenario(netstringScenario(200, 4)));
    }, 120_000);
    it(`AMP: 50 × 200 pipelined calls (run ${rep} of 5)`, async () => {
      expectLossless(await runStopScenario(ampScenario(50, 200, 5)));
    }, 120_000);
  }
});
