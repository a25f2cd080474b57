/**
 * Running the real Twisted (22.4, Debian's `/usr/bin/python3`, never the pyenv one) from the interop
 * tests: scripts in `test/interop/`, run to completion or started as servers that print
 * `listening PORT`. Missing Twisted makes a test FAIL (never skip). Every server started here is
 * killed by {@link stopPythonServers} (call it in `afterAll`) and, as a last resort, at exit.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ChildOutput, collectOutput } from "./children.js";

export const PYTHON = "/usr/bin/python3";

const INTEROP = join(dirname(fileURLToPath(import.meta.url)), "..", "interop");

/** The path of a script in `test/interop/`. */
export function interopScript(name: string): string {
  return join(INTEROP, name);
}

/** Throws (failing the test) unless Twisted imports in {@link PYTHON}; `what` names the suite. */
export function requireTwisted(what: string): void {
  const probe = spawnSync(PYTHON, ["-c", "import twisted; print(twisted.__version__)"], {
    encoding: "utf8",
  });
  if (probe.status !== 0) {
    throw new Error(
      `${what} needs Twisted in ${PYTHON} (apt install python3-twisted): ${
        probe.error?.message ?? probe.stderr.trim()
      }`,
    );
  }
}

/** Runs `script` (in test/interop) with `args` to completion; resolves with its output. */
export function runPython(
  script: string,
  args: readonly string[] = [],
  options: { input?: string } = {},
): Promise<ChildOutput> {
  const child = spawn(PYTHON, [interopScript(script), ...args], {
    stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
  });
  const done = collectOutput(child);
  if (options.input !== undefined) child.stdin?.end(options.input);
  return done;
}

/** Runs `script` synchronously with `input` on stdin; returns stdout, throws on a non-zero exit. */
export function runPythonSync(script: string, input: string): string {
  const res = spawnSync(PYTHON, [interopScript(script)], {
    input,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (res.status !== 0) {
    throw new Error(`${script} failed (${res.status}): ${res.error?.message ?? res.stderr}`);
  }
  return res.stdout;
}

/** A Twisted server started by {@link startPythonServer}. */
export interface PythonServer {
  readonly child: ChildProcess;
  /** The port from its `listening PORT` line. */
  readonly port: number;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /**
   * Resolves with the next match of `pattern` in the output after the previous `next` match
   * (matches are consumed in order).
   */
  next(pattern: RegExp): Promise<RegExpExecArray>;
  /** Kills it and resolves once it has exited. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/**
 * Starts `script` (in test/interop) with `args` and resolves once it prints `listening PORT`;
 * rejects with its output if it exits first. `stdin: "pipe"` for a server that stops when its
 * stdin closes (default: no stdin).
 */
export function startPythonServer(
  script: string,
  args: readonly string[],
  options: { stdin?: "ignore" | "pipe" } = {},
): Promise<PythonServer> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [interopScript(script), ...args], {
      stdio: [options.stdin ?? "ignore", "pipe", "pipe"],
    });
    running.add(child);
    let out = "";
    let consumed = 0;
    let port = 0;
    const waiters: Array<() => void> = [];
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    const server: PythonServer = {
      child,
      get port() {
        return port;
      },
      output: () => out,
      next(pattern) {
        const re = new RegExp(pattern.source, pattern.flags.replace("g", ""));
        return new Promise((res) => {
          const check = (): void => {
            const m = re.exec(out.slice(consumed));
            if (m === null) {
              waiters.push(check);
              return;
            }
            consumed += m.index + m[0].length;
            res(m);
          };
          check();
        });
      },
      stop() {
        running.delete(child);
        if (child.exitCode === null && child.signalCode === null) child.kill();
        return exited;
      },
    };
    const onOutput = (c: string): void => {
      out += c;
      if (port === 0) {
        const m = /listening (\d+)/.exec(out);
        if (m !== null) {
          port = Number(m[1]);
          resolve(server);
        }
      }
      for (const w of waiters.splice(0)) w();
    };
    child.stdout?.setEncoding("utf8").on("data", onOutput);
    child.stderr?.setEncoding("utf8").on("data", onOutput);
    child.on("error", reject);
    child.on("exit", (code) => {
      running.delete(child);
      if (port === 0) reject(new Error(`${script} exited (${code}) before listening: ${out}`));
    });
  });
}

/** Kills every server {@link startPythonServer} started that is still running. */
export async function stopPythonServers(): Promise<void> {
  const children = [...running];
  running.clear();
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((r) => {
          if (child.exitCode !== null || child.signalCode !== null) return r();
          child.once("exit", () => r());
          child.kill();
        }),
    ),
  );
}
