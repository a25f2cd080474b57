/**
 * The process monitor of `--spawn` (boofuzz's): starts the target through `sh -c` in its own
 * process group, knows it is ready when the endpoint accepts, notices when it exits (code or signal,
 * and the tail of its stderr), restarts it, and measures the resident memory of its whole process
 * group through `/proc`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import type { TargetAddress } from "./endpoint.js";
import { connectTo } from "./net-executor.js";

/** How the target ended. */
export interface ExitInfo {
  code: number | null;
  signal: string | null;
  /** The last lines of its stderr. */
  stderrTail: string;
}

const TAIL_BYTES = 2048;

/** A spawned target. */
export class ProcessMonitor {
  readonly command: string;
  readonly #target: TargetAddress;
  #child: ChildProcess | null = null;
  #stderr = "";
  #exit: ExitInfo | null = null;
  #onExit: ((info: ExitInfo) => void) | null = null;

  constructor(command: string, target: TargetAddress) {
    this.command = command;
    this.#target = target;
  }

  /** Called when the target exits by itself (not when the monitor stops it). */
  set onExit(fn: ((info: ExitInfo) => void) | null) {
    this.#onExit = fn;
  }

  /** How the last run ended, or `null` while it runs. */
  get exit(): ExitInfo | null {
    return this.#exit;
  }

  /** The process id of the shell (the process group's leader), or `null`. */
  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  /** Starts the target and waits until the endpoint accepts (at most `readyMs`); false if it never does. */
  async start(readyMs = 15000): Promise<boolean> {
    this.#exit = null;
    this.#stderr = "";
    const child = spawn("sh", ["-c", this.command], {
      stdio: ["ignore", "ignore", "pipe"],
      detached: true,
    });
    this.#child = child;
    child.stderr?.on("data", (d: Buffer) => {
      this.#stderr = (this.#stderr + d.toString("utf8")).slice(-TAIL_BYTES);
    });
    child.on("exit", (code, signal) => {
      if (this.#child !== child) return;
      this.#exit = { code, signal, stderrTail: this.#stderr.slice(-TAIL_BYTES) };
      this.#child = null;
      this.#onExit?.(this.#exit);
    });
    const deadline = Date.now() + readyMs;
    while (Date.now() < deadline) {
      if (this.#exit !== null) return false;
      const s = await connectTo(this.#target, 500);
      if (typeof s !== "string") {
        s.destroy();
        return true;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  }

  /** Waits up to `ms` for the target to exit; its exit info, or `null` if it still runs. */
  async waitExit(ms: number): Promise<ExitInfo | null> {
    const deadline = Date.now() + ms;
    while (this.#exit === null && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    return this.#exit;
  }

  /** Kills the whole process group (SIGKILL) and waits for the exit. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (child === null || child.pid === undefined) return;
    this.#child = null;
    const gone = new Promise<void>((r) => child.once("exit", () => r()));
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
    await Promise.race([gone, new Promise((r) => setTimeout(r, 2000))]);
  }

  /** Stops the target (if running) and starts it again. */
  async restart(): Promise<boolean> {
    await this.stop();
    return this.start();
  }

  /** Resident memory of the target's process group, in MiB (0 when unknown or not running). */
  rssMiB(): number {
    const leader = this.#child?.pid;
    if (leader === undefined) return 0;
    let kb = 0;
    let entries: string[];
    try {
      entries = readdirSync("/proc");
    } catch {
      return 0;
    }
    for (const e of entries) {
      if (!/^\d+$/.test(e)) continue;
      try {
        const stat = readFileSync(`/proc/${e}/stat`, "utf8");
        // Fields after the command name (which may hold spaces): state ppid pgrp …
        const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        if (Number(rest[2]) !== leader) continue;
        const status = readFileSync(`/proc/${e}/status`, "utf8");
        const m = /VmRSS:\s+(\d+)\s+kB/.exec(status);
        if (m !== null) kb += Number(m[1]);
      } catch {
        // the process went away meanwhile
      }
    }
    return kb / 1024;
  }
}

/** An exit in words: `exit code 1` or `signal SIGSEGV`. */
export function describeExit(info: ExitInfo): string {
  return info.signal !== null ? `signal ${info.signal}` : `exit code ${String(info.code)}`;
}
