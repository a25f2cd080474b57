/**
 * `weft serve` (and `weft manhole`) as child processes for the twistd-style tests: started with tsx
 * from the sources, output collected, waited on by pattern with a deadline.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import net from "node:net";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** tsx by absolute URL: the child's working directory may be a temp folder. */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
const MAIN = join(ROOT, "src", "cli", "main.ts");

/** A running `weft …` child. */
export interface WeftChild {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `re` in stdout (or stderr with `{ stderr: true }`). */
  waitFor(re: RegExp, options?: { stderr?: boolean; ms?: number }): Promise<RegExpExecArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL if still running (for afterAll). */
  kill(): Promise<void>;
}

/** Start `weft ARGS` in `cwd`. */
export function weft(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; stdin?: "pipe" | "ignore" } = {},
): WeftChild {
  const child = spawn(process.execPath, ["--import", TSX, MAIN, ...args], {
    cwd: options.cwd ?? ROOT,
    env: options.env ?? process.env,
    stdio: [options.stdin ?? "ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  const waiters = new Set<() => void>();
  const poke = (): void => {
    for (const w of [...waiters]) w();
  };
  child.stdout?.setEncoding("utf8").on("data", (d: string) => {
    out += d;
    poke();
  });
  child.stderr?.setEncoding("utf8").on("data", (d: string) => {
    err += d;
    poke();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => {
      resolve({ code, signal });
      poke();
    }),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(re, o = {}) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const m = re.exec(o.stderr === true ? err : out);
          if (m !== null) {
            done();
            resolve(m);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            done();
            reject(new Error(`weft exited (${child.exitCode}) before ${re}:\n${out}\n${err}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no ${re} within ${o.ms ?? 20000} ms:\n${out}\n${err}`));
        }, o.ms ?? 20000);
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
        await exited;
      }
    },
  };
}

/** The first `127.0.0.1:PORT` of a served table's row for `service protocol`. */
export function portOf(table: string, service: string, protocol: string): number {
  const re = new RegExp(`^${service}\\s+${protocol}\\s+127\\.0\\.0\\.1:(\\d+)$`, "m");
  const m = re.exec(table);
  if (m === null) throw new Error(`no ${service}/${protocol} row in:\n${table}`);
  return Number(m[1]);
}

/** Sends `line` to 127.0.0.1:`port` and resolves with the first reply line. */
export function ask(port: number, line: string, ms = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    let got = "";
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no reply from ${port} within ${ms} ms`));
    }, ms);
    s.setEncoding("utf8");
    s.on("data", (d: string) => {
      got += d;
      const nl = got.indexOf("\n");
      if (nl !== -1) {
        clearTimeout(timer);
        s.end();
        resolve(got.slice(0, nl).replace(/\r$/, ""));
      }
    });
    s.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.write(`${line}\r\n`);
  });
}
