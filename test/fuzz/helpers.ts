/**
 * Helpers of the `weft fuzz` tests: the planted-bug targets of `targets/` (in-process or as
 * standalone child processes), the `weft fuzz` command run in-process (`run`) or as a child
 * process through tsx (as a user runs it), and the shape of its `--json` report.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { run } from "../../src/cli/main.js";
import { collectOutput } from "../helpers/children.js";

const HERE = dirname(fileURLToPath(import.meta.url));

/** The targets in `targets/`: one correct server and one per planted bug. */
export const TARGETS = [
  "correct",
  "crash",
  "accepts-malformed",
  "wrong-length",
  "hang",
  "poisoned",
  "split-header",
  "alloc",
] as const;
export type TargetName = (typeof TARGETS)[number];

/** A target server started in this process. */
export interface Target {
  readonly port: number;
  readonly endpoint: string;
  close(): Promise<void>;
}

interface TargetInstance {
  listen(port?: number, host?: string): Promise<number>;
  close(): Promise<void>;
}

interface TargetModule {
  createTarget(options: { inProcess: boolean }): TargetInstance;
}

/** The path of `targets/<name>.mjs`. */
export function targetScript(name: TargetName): string {
  return join(HERE, "targets", `${name}.mjs`);
}

/**
 * Starts target `name` in this process on 127.0.0.1, port 0. A fatal error (the crash target)
 * then stops it accepting and drops its connections instead of killing the test process.
 */
export async function startTarget(name: TargetName): Promise<Target> {
  const mod: TargetModule = await import(targetScript(name));
  const instance = mod.createTarget({ inProcess: true });
  const port = await instance.listen(0);
  return { port, endpoint: `tcp:127.0.0.1:${port}`, close: () => instance.close() };
}

/** A port that was free a moment ago (for `--spawn`, which needs the port before the target runs). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The command line that runs target `name` standalone on `port` (for `--spawn`). */
export function targetCommand(name: TargetName, port: number): string {
  return `exec ${JSON.stringify(process.execPath)} ${JSON.stringify(targetScript(name))} ${port}`;
}

/** One finding of the `--json` report (the keys the issue fixes; more may be present). */
export interface JsonFinding {
  oracle: string;
  input: string;
  chunks: number[];
  delays: number[];
  halfClose: boolean;
  seed: number;
  case: number;
  observed: string;
  expected: string;
  replay: string;
  [key: string]: unknown;
}

/** The `--json` report. */
export interface JsonReport {
  cases: number;
  findings: JsonFinding[];
  [key: string]: unknown;
}

/** What a `weft` run printed and how it exited. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `weft ...args` in this process (the CLI's own `run`, no child). */
export async function weft(args: string[]): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const code = await run(args, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
  });
  return { code, stdout, stderr };
}

const ROOT = join(HERE, "..", "..");

/** Runs `weft ...args` as a user does: a child `node --import tsx src/cli/main.ts`. */
export function weftChild(args: string[]): Promise<CliResult> {
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", join(ROOT, "src/cli/main.ts"), ...args],
    { stdio: ["ignore", "pipe", "pipe"], cwd: ROOT },
  );
  return collectOutput(child);
}

/** Parses the `--json` report from `stdout` (one JSON object). */
export function report(result: CliResult): JsonReport {
  try {
    return JSON.parse(result.stdout) as JsonReport;
  } catch {
    throw new Error(
      `weft fuzz printed no JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`,
    );
  }
}

/** The bytes of a finding's `input`. */
export function inputOf(finding: JsonFinding): Buffer {
  return Buffer.from(finding.input, "base64");
}

/** A fresh temporary directory. */
export function tempDir(prefix = "weft-fuzz-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** The standard probe of the targets: an echo of `5:hello,`. */
export const PROBE = ["--probe", "5:hello,", "--expect", "5:hello,"];
