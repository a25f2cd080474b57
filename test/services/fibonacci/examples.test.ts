/** The seeds' Fibonacci and weblog programs in examples/, run as a user runs them. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { collectOutput } from "../../helpers/children.js";
import { runExample, startExample, stopExamples } from "../../helpers/examples.js";
import { lines } from "../helpers.js";

afterAll(stopExamples);

describe("examples: the article's Fibonacci and weblog programs", () => {
  it("fibonacci-server continues the sequence after a restart (SIGTERM)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "weft-fib-example-"));
    try {
      let server = await startExample("fibonacci-server.ts", ["0", dir]);
      expect(await lines(server.ports[0] as number, "a\r\nb\r\nc\r\n", 3)).toEqual(["2", "3", "5"]);
      const exited = collectOutput(server.child);
      server.child.kill("SIGTERM");
      expect((await exited).code).toBe(0);
      server = await startExample("fibonacci-server.ts", ["0", dir]);
      expect(await lines(server.ports[0] as number, "d\r\n", 1)).toEqual(["8"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it("weblog-server on its demo log and weblog-client on the push port", async () => {
    const { ports } = await startExample("weblog-server.ts", ["0", "0", "", "0.2"]);
    const r = await runExample("weblog-client.ts", [String(ports[1]), "4"]);
    expect(r.code).toBe(0);
    const out = r.stdout.trim().split("\n");
    expect(out).toHaveLength(4);
    for (const l of out) expect(l).toMatch(/^192\.0\.2\.\d+ (200|404) GET \/\S* HTTP\/1\.1$/);
  }, 30_000);
});
