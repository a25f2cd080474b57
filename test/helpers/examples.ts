/**
 * Running weft's examples as a user runs them (`node --import tsx examples/…` from the repository
 * root). Servers print `listening PORT…`; every child started here is stopped by
 * {@link stopExamples} (call it in `afterAll`).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ChildOutput, collectOutput } from "./children.js";

/** The repository root (the examples' working directory). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

const started: ChildProcess[] = [];

/** Spawns `examples/<script>` with `args` (stdout and stderr piped); stopped by {@link stopExamples}. */
export function spawnExample(script: string, args: readonly string[]): ChildProcess {
  const child = spawn(process.execPath, ["--import", "tsx", join("examples", script), ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.push(child);
  return child;
}

/**
 * Starts a server example; resolves with it and the ports of its `listening P [P…]` line, or
 * rejects with its output if it exits first.
 */
export function startExample(
  script: string,
  args: readonly string[],
): Promise<{ child: ChildProcess; ports: number[] }> {
  const child = spawnExample(script, args);
  return new Promise((resolve, reject) => {
    let out = "";
    let listening = false;
    const onOutput = (d: string): void => {
      out += d;
      const m = /^listening ([\d ]+)$/m.exec(out);
      if (m !== null && !listening) {
        listening = true;
        resolve({ child, ports: (m[1] as string).trim().split(" ").map(Number) });
      }
    };
    child.stdout?.setEncoding("utf8").on("data", onOutput);
    child.stderr?.setEncoding("utf8").on("data", (d: string) => {
      out += d;
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      if (!listening) reject(new Error(`${script} exited (${code}) before listening: ${out}`));
    });
  });
}

/** Runs a client example to completion; resolves with its output. */
export function runExample(script: string, args: readonly string[]): Promise<ChildOutput> {
  return collectOutput(spawnExample(script, args));
}

/** Stops (SIGTERM) every example still running and resolves once they have exited. */
export async function stopExamples(): Promise<void> {
  const children = started.splice(0);
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
}
