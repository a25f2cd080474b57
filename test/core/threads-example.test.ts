/**
 * The examples of issue 13 run as a user runs them: the CPU-heavy transform served from the thread
 * pool while the loop keeps answering other clients, and the UDP echo server and client.
 */
import { type ChildProcess, execFile } from "node:child_process";
import * as net from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { startExample, stopExamples } from "../helpers/examples.js";

afterAll(stopExamples);

async function startServer(
  script: string,
  args: string[],
): Promise<{ port: number; child: ChildProcess }> {
  const { child, ports } = await startExample(script, args);
  return { port: ports[0] as number, child };
}

/** A line client: `ask(line)` resolves with the reply line. */
async function lineClient(
  port: number,
): Promise<{ ask(line: string): Promise<string>; close(): void }> {
  const socket = net.connect(port, "127.0.0.1");
  await new Promise<void>((r) => socket.once("connect", () => r()));
  let buffer = "";
  const waiting: Array<(line: string) => void> = [];
  socket.setEncoding("utf8").on("data", (d: string) => {
    buffer += d;
    for (let i = buffer.indexOf("\r\n"); i >= 0; i = buffer.indexOf("\r\n")) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 2);
      waiting.shift()?.(line);
    }
  });
  return {
    ask(line) {
      socket.write(`${line}\r\n`);
      return new Promise((r) => waiting.push(r));
    },
    close: () => socket.destroy(),
  };
}

describe("examples/transform-threads.ts", () => {
  it("answers other clients while a CPU-heavy transform runs in the pool", async () => {
    const { port, child } = await startServer("transform-threads.ts", ["0", "400000"]);
    const heavy = await lineClient(port);
    const light = await lineClient(port);
    // Warm up: the first call starts a worker.
    expect(await heavy.ask("stretch warm")).toMatch(/^OK [0-9a-f]{32}$/);
    let heavyDone = false;
    const slow = heavy.ask("stretch hello").then((r) => {
      heavyDone = true;
      return r;
    });
    let answeredMeanwhile = 0;
    for (let i = 0; i < 200 && !heavyDone; i++) {
      expect(await light.ask(`upper request ${i}`)).toBe(`OK REQUEST ${i}`);
      if (!heavyDone) answeredMeanwhile++;
    }
    expect(await slow).toMatch(/^OK [0-9a-f]{32}$/);
    expect(answeredMeanwhile).toBeGreaterThan(3);
    heavy.close();
    light.close();
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0); // reactor.stop(): port closed, then the pool's workers
  });
});

describe("examples/udp-echo.ts", () => {
  it("echoes a datagram to the example client", async () => {
    const { port } = await startServer("udp-echo.ts", ["0"]);
    const out = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ["--import", "tsx", "examples/udp-echo.ts", "--client", String(port), "hi there"],
        { timeout: 20_000 },
        (err, stdout) => (err ? reject(err) : resolve(stdout)),
      );
    });
    expect(out).toBe("hi there\n");
  });
});
