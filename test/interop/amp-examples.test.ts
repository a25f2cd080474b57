/**
 * Smoke test of the runnable AMP examples: examples/amp-server.ts prints `listening PORT`, and
 * examples/amp-client.ts prints every answer from it.
 */
import { afterAll, describe, expect, it } from "vitest";
import { runExample, startExample, stopExamples } from "../helpers/examples.js";

describe("AMP examples", () => {
  afterAll(stopExamples);

  it("amp-client.ts prints every answer of amp-server.ts", async () => {
    const { ports } = await startExample("amp-server.ts", ["0"]);
    const { code, out } = await runExample("amp-client.ts", ["127.0.0.1", String(ports[0])]);
    expect(out).toContain("Sum(13, 81) -> 94");
    expect(out).toContain("Sum(2**70, 1) -> 1180591620717411303425n");
    expect(out).toContain("Divide(1, 3) -> 0.3333333333333333");
    expect(out).toContain('Divide(1, 0) -> "ZeroDivisionError: division by zero"');
    expect(out).toContain('Echo(☃) -> "hello ☃"');
    expect(out).toContain('Transform(cummingsify) -> "hello world"');
    expect(out).toContain('Transform(reverse) -> "desserts"');
    expect(out).toContain('Transform(shout) -> "UnknownTransform: no such transform: shout"');
    expect(code).toBe(0);
  }, 30_000);
});
