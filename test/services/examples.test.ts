/**
 * The tutorial examples run as a user runs them (`node --import tsx examples/…`), servers on port 0.
 */
import { afterAll, describe, expect, it } from "vitest";
import { runExample, startExample, stopExamples } from "../helpers/examples.js";

afterAll(stopExamples);

async function startServer(script: string, args: string[]): Promise<number[]> {
  return (await startExample(script, args)).ports;
}

describe("examples", () => {
  it("calculator server on three ports and its client", async () => {
    const ports = await startServer("calculator-server.ts", ["0", "0.01"]);
    expect(ports).toHaveLength(3);
    const r = await runExample("calculator-client.ts", ports.map(String));
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      "server 1: 1 + 2 = 3\nserver 2: 30 + 12 = 42\nserver 3: 9007199254740992 + 9007199254740992 = 18014398509481984\nserver 1: -7 + 7 = 0\n",
    );
  });

  it("transform server over three protocols, its client, and the poetry pair", async () => {
    const [ns, line, amp] = await startServer("transform-server.ts", ["0"]);
    const [poetry] = await startServer("poetry-server.ts", ["0", "dickinson-hope"]);
    const shout = await runExample("transform-client.ts", [
      String(line),
      "line",
      "shout",
      "hello",
      "there",
    ]);
    expect(shout).toMatchObject({ code: 0, stdout: "HELLO THERE!\n" });
    const rev = await runExample("transform-client.ts", [String(amp), "amp", "reverse", "abc"]);
    expect(rev).toMatchObject({ code: 0, stdout: "cba\n" });
    const poems = await runExample("get-poetry.ts", ["--xform", String(ns), String(poetry)]);
    expect(poems.code).toBe(0);
    expect(poems.stdout).toMatch(
      /^"hope" is the thing with feathers -\nthat perches in the soul -/,
    );
  });
});
