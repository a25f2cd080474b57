/** Child processes in tests: collect what a child prints, and its exit. */
import type { ChildProcess } from "node:child_process";

/** What a child printed and how it ended. `out` is stdout and stderr interleaved as they came. */
export interface ChildOutput {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  out: string;
}

/** Resolves once `child` has exited and its streams are closed; rejects if it cannot start. */
export function collectOutput(child: ChildProcess): Promise<ChildOutput> {
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    let out = "";
    child.stdout?.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
      out += d;
    });
    child.stderr?.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
      out += d;
    });
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr, out }));
  });
}
