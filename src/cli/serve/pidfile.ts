/**
 * `weft serve --pidfile FILE`: the file holds the server's pid (one line, `PID\n`, so
 * `kill $(cat FILE)` works), it is created exclusively, and a second server refuses to start while
 * the first one lives.
 *
 * Why not `kill(pid, 0)`: run as root it succeeds for every live pid, so a pid reused by an unrelated
 * process would keep the file "held" forever (and as a normal user, EPERM says nothing either). Node
 * has no `flock`, so there is no kernel lock to hold. Instead the holder is recognised by its identity
 * in `/proc`: the pid is live **and** that process started no later than the pidfile was written
 * (start time from `/proc/PID/stat`, boot time from `/proc/stat`). A process that reused the pid of a
 * dead server started after the file was written, so the file is stale. Where `/proc` is missing
 * (not Linux) liveness falls back to `kill(pid, 0)`.
 *
 * Creation is atomic and exclusive: the content is written to a temporary file, then `link()`ed to
 * FILE, which fails with EEXIST when FILE exists — of two servers starting together exactly one wins.
 * A stale file is renamed aside (atomic) before the retry; if what was renamed is not the file judged
 * stale (another server replaced it meanwhile), it is linked back and the start is refused.
 * On exit the file is removed only if it is still ours (same inode, our pid).
 */
import { linkSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { WeftError } from "../../core/errors.js";

/** Another live process holds the pidfile (exit code 1 from `weft serve`). */
export class PidfileHeldError extends WeftError {
  /** The pid written in the file. */
  readonly pid: number;
  constructor(path: string, pid: number) {
    super("ERR_PIDFILE_HELD", `${path} is held by the running process ${pid}`);
    this.pid = pid;
  }
}

/** The pidfile could not be read, written or understood. */
export class PidfileError extends WeftError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_PIDFILE", message, options);
  }
}

/** Seconds of slack between a process's start time (clock ticks, rounded boot time) and a mtime. */
const START_SLACK_MS = 1500;

let bootTimeMs: number | null | undefined;

/** The boot time from `/proc/stat` (`btime`, seconds), or null without `/proc`. */
function bootTime(): number | null {
  if (bootTimeMs !== undefined) return bootTimeMs;
  try {
    const m = /^btime (\d+)$/m.exec(readFileSync("/proc/stat", "latin1"));
    bootTimeMs = m === null ? null : Number(m[1]) * 1000;
  } catch {
    bootTimeMs = null;
  }
  return bootTimeMs;
}

/**
 * When `pid` started (ms since the epoch), `"gone"` when no such process exists, or null when
 * `/proc` cannot tell (not Linux).
 */
export function processStartTime(pid: number): number | "gone" | null {
  const boot = bootTime();
  if (boot === null) return null;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return "gone";
  }
  // Fields after the command name (which may hold spaces and parentheses): state is field 3,
  // starttime field 22, in clock ticks since boot (USER_HZ, 100 on every Linux ABI).
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[19]);
  if (!Number.isFinite(ticks) || fields[0] === "Z") return "gone";
  return boot + ticks * 10;
}

function fallbackAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Whether the pidfile written at `writtenMs` naming `pid` belongs to a live process. */
export function holderAlive(pid: number, writtenMs: number): boolean {
  if (pid === process.pid) return true;
  const started = processStartTime(pid);
  if (started === "gone") return false;
  if (started === null) return fallbackAlive(pid);
  return started <= writtenMs + START_SLACK_MS;
}

interface Existing {
  pid: number | null;
  ino: number;
  mtimeMs: number;
}

function readExisting(path: string): Existing | null {
  try {
    const st = statSync(path);
    const text = readFileSync(path, "utf8");
    const m = /^\s*(\d+)\s*$/.exec(text);
    return { pid: m === null ? null : Number(m[1]), ino: st.ino, mtimeMs: st.mtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new PidfileError(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** A pidfile this process holds. */
export interface HeldPidfile {
  readonly path: string;
  /** Remove the file if it is still ours. Idempotent; never throws (returns the reason instead). */
  release(): string | null;
}

function removeStale(path: string, judged: Existing): void {
  const aside = `${path}.${process.pid}.stale`;
  try {
    renameSync(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw new PidfileError(`cannot replace the stale ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const moved = readExisting(aside);
  if (
    moved === null ||
    moved.ino !== judged.ino ||
    moved.mtimeMs !== judged.mtimeMs ||
    moved.pid !== judged.pid
  ) {
    // Another server replaced the stale file between our read and our rename: put its file back.
    try {
      linkSync(aside, path);
    } finally {
      unlinkSync(aside);
    }
    throw new PidfileHeldError(path, readExisting(path)?.pid ?? -1);
  }
  unlinkSync(aside);
}

function held(path: string, ino: number): HeldPidfile {
  let released = false;
  return {
    path,
    release() {
      if (released) return null;
      released = true;
      try {
        if (statSync(path).ino !== ino) return `${path} is no longer ours`;
        // An inode number alone can be reused by a file created right after ours was removed; the
        // content tells, when it can be read (after --uid it may not be: then the inode decides).
        let text: string | null = null;
        try {
          text = readFileSync(path, "utf8");
        } catch {
          text = null;
        }
        if (text !== null && text.trim() !== String(process.pid))
          return `${path} is no longer ours`;
        unlinkSync(path);
        return null;
      } catch (err) {
        return `cannot remove ${path}: ${(err as Error).message}`;
      }
    },
  };
}

/**
 * Create `path` holding this process's pid. Throws {@link PidfileHeldError} when a live process
 * holds it, {@link PidfileError} when it cannot be written. A stale file (dead holder, a pid reused
 * by a younger process, or content that is not a pid) is replaced, and `onStale` hears of it.
 */
export function acquirePidfile(
  path: string,
  onStale: (pid: number | null) => void = () => {},
): HeldPidfile {
  const temp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, `${process.pid}\n`, { mode: 0o644 });
  } catch (err) {
    throw new PidfileError(`cannot write ${temp}: ${(err as Error).message}`, { cause: err });
  }
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        linkSync(temp, path);
        return held(path, statSync(path).ino);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST")
          throw new PidfileError(`cannot create ${path}: ${(err as Error).message}`, {
            cause: err,
          });
      }
      const existing = readExisting(path);
      if (existing === null) continue;
      if (existing.pid !== null && holderAlive(existing.pid, existing.mtimeMs))
        throw new PidfileHeldError(path, existing.pid);
      removeStale(path, existing);
      onStale(existing.pid);
    }
    throw new PidfileError(`cannot create ${path}: it keeps being replaced`);
  } finally {
    try {
      unlinkSync(temp);
    } catch {
      // already gone
    }
  }
}
