/**
 * Smoke test of the runnable AMP examples: examples/amp-server.ts prints `listening PORT`, and
 * examples/amp-client.ts prints every answer from it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { type ChildOutput, collectOutput } from "../helpers/children.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

function startServer(): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(root, "examples/amp-server.ts"), "0"],
      { cwd: root, stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /^listening (\d+)$/m.exec(out);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.stderr?.on("data", (c: Buffer) => {
      out += c.toString();
    });
    child.on("error", reject);
    child.on("exit", (code) => reject(new Error(`amp-server.ts exited (${code}): ${out}`)));
  });
}

function runClient(port: number): Promise<ChildOutput> {
  return collectOutput(
    spawn(
      process.execPath,
      ["--import", "tsx", join(root, "examples/amp-client.ts"), "127.0.0.1", String(port)],
      { cwd: root, stdio: ["ignore", "pipe", "pipe"] },
    ),
  );
}

describe("AMP examples", () => {
  let server: { child: ChildProcess; port: number } | undefined;

  afterAll(async () => {
    if (server === undefined) return;
    server.child.removeAllListeners("exit");
    const gone = new Promise((r) => server?.child.once("exit", r));
    server.child.kill("SIGTERM");
    await gone;
  });

  it("amp-client.ts prints every answer of amp-server.ts", async () => {
    server = await startServer();
    const { code, out } = await runClient(server.port);
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
