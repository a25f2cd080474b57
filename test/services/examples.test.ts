/**
 * The tutorial examples run as a user runs them (`node --import tsx examples/…`), servers on port 0.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { type ChildOutput, collectOutput } from "../helpers/children.js";

const children: ChildProcess[] = [];
afterAll(async () => {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once("exit", () => resolve());
          c.kill("SIGTERM");
        }),
    ),
  );
});

/** Start a server example; resolves with the ports from its `listening P…` line. */
function startServer(script: string, args: string[]): Promise<number[]> {
  const child = spawn(process.execPath, ["--import", "tsx", `examples/${script}`, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      const m = /^listening ([\d ]+)$/m.exec(out);
      if (m !== null) resolve((m[1] as string).trim().split(" ").map(Number));
    });
    child.on("exit", (code) => reject(new Error(`${script} exited ${code}`)));
  });
}

function runClient(script: string, args: string[]): Promise<ChildOutput> {
  return collectOutput(
    spawn(process.execPath, ["--import", "tsx", `examples/${script}`, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
}

describe("examples", () => {
  it("calculator server on three ports and its client", async () => {
    const ports = await startServer("calculator-server.ts", ["0", "0.01"]);
    expect(ports).toHaveLength(3);
    const r = await runClient("calculator-client.ts", ports.map(String));
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      "server 1: 1 + 2 = 3\nserver 2: 30 + 12 = 42\nserver 3: 9007199254740992 + 9007199254740992 = 18014398509481984\nserver 1: -7 + 7 = 0\n",
    );
  });

  it("transform server over three protocols, its client, and the poetry pair", async () => {
    const [ns, line, amp] = await startServer("transform-server.ts", ["0"]);
    const [poetry] = await startServer("poetry-server.ts", ["0", "dickinson-hope"]);
    const shout = await runClient("transform-client.ts", [
      String(line),
      "line",
      "shout",
      "hello",
      "there",
    ]);
    expect(shout).toMatchObject({ code: 0, stdout: "HELLO THERE!\n" });
    const rev = await runClient("transform-client.ts", [String(amp), "amp", "reverse", "abc"]);
    expect(rev).toMatchObject({ code: 0, stdout: "cba\n" });
    const poems = await runClient("get-poetry.ts", ["--xform", String(ns), String(poetry)]);
    expect(poems.code).toBe(0);
    expect(poems.stdout).toMatch(
      /^"hope" is the thing with feathers -\nthat perches in the soul -/,
    );
  });
});
