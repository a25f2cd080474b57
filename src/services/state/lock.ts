/**
 * The lock that keeps two instances off one state directory.
 *
 * Decision: an exclusive-create lock file (`weft.lock`) holding the owner's pid, its start time
 * (field 22 of `/proc/PID/stat`, clock ticks since boot) and host name — not `kill(pid, 0)` alone,
 * which as root succeeds for any live pid, and cannot tell a recycled pid from the owner. Node has
 * no `flock`, so an OS lock would need a native module; a lock file is also visible to people
 * (`cat weft.lock` says who holds it).
 *
 * - Taking it: the record is written to a temporary file first and then hard-linked to
 *   `weft.lock`: `link` fails with EEXIST when a lock exists, and a reader never sees a lock file
 *   half written.
 * - An existing lock is **live** when its host is this host and a process with its pid runs with
 *   the same start time (or, where `/proc` is missing, `kill(pid, 0)` finds it). A live lock
 *   refuses with {@link StateLockedError}, even when the owner is this process (two suites in one
 *   process do not share a directory either). A lock from another host counts as live (it cannot
 *   be checked from here).
 * - A **stale** lock (its owner died, `kill -9`, or the pid now belongs to another process) is
 *   removed and the lock taken again — only if the file still holds the very record found stale,
 *   so a lock taken meanwhile by a live process is not removed. (The check and the unlink are two
 *   steps: two processes taking over the same stale lock within microseconds can still both see the
 *   stale record; the second then fails its `link`, or, in the worst interleaving, removes the
 *   first's new lock. This window exists only right after an unclean stop, and only for two starts
 *   racing each other.)
 * - Release: the lock file is removed only if it still holds this process's record.
 */
import { randomBytes } from "node:crypto";
import { link, open, readFile, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { fsyncDirectory } from "./atomic.js";
import { StateIOError, StateLockedError } from "./errors.js";

/** What a lock file holds. */
export interface LockRecord {
  /** The owner's process id. */
  readonly pid: number;
  /** The owner's start time (`/proc/PID/stat` field 22), or null where `/proc` is unavailable. */
  readonly start: string | null;
  /** The owner's host name. */
  readonly host: string;
}

/** The start time of process `pid` from `/proc`; undefined when it does not run; null without `/proc`. */
async function startTimeOf(pid: number): Promise<string | null | undefined> {
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, "utf8");
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "ENOENT" || code === "ESRCH") {
      try {
        await readFile("/proc/self/stat", "utf8");
        return undefined; // /proc works, so the process is gone
      } catch {
        return null;
      }
    }
    return null;
  }
  // The command name (field 2) is in parentheses and may hold spaces: count from the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return fields[19] ?? null; // field 22
}

function parseRecord(text: string): LockRecord | null {
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== "object" || v === null) return null;
    const r = v as Record<string, unknown>;
    if (!Number.isSafeInteger(r["pid"]) || typeof r["host"] !== "string") return null;
    const start = r["start"];
    if (start !== null && typeof start !== "string") return null;
    return { pid: r["pid"] as number, start, host: r["host"] };
  } catch {
    return null;
  }
}

/** Whether the owner of `record` is a live process. */
async function isLive(record: LockRecord): Promise<boolean> {
  if (record.host !== hostname()) return true;
  const start = await startTimeOf(record.pid);
  if (start === undefined) return false;
  if (start !== null && record.start !== null) return start === record.start;
  try {
    process.kill(record.pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === "EPERM";
  }
}

/** A held directory lock. */
export class DirectoryLock {
  /** The lock file. */
  readonly path: string;
  readonly #text: string;
  #released = false;

  /** Use {@link DirectoryLock.acquire}. */
  constructor(path: string, text: string) {
    this.path = path;
    this.#text = text;
  }

  /** Take the lock of `dir` (see the module comment); rejects with StateLockedError or StateIOError. */
  static async acquire(dir: string): Promise<DirectoryLock> {
    const path = join(dir, "weft.lock");
    const record: LockRecord = {
      pid: process.pid,
      start: (await startTimeOf(process.pid)) ?? null,
      host: hostname(),
    };
    const text = `${JSON.stringify(record)}\n`;
    for (let attempt = 0; attempt < 5; attempt++) {
      if (await tryCreate(dir, path, text)) return new DirectoryLock(path, text);
      let found: string;
      try {
        found = await readFile(path, "utf8");
      } catch (err) {
        if ((err as { code?: string }).code === "ENOENT") continue; // released meanwhile
        throw new StateIOError(path, "read the lock of", err);
      }
      const owner = parseRecord(found);
      if (owner !== null && (await isLive(owner))) throw new StateLockedError(dir, owner.pid);
      // Stale (or unreadable, which link-based creation never leaves): remove it if unchanged.
      const again = await readFile(path, "utf8").catch(() => null);
      if (again === found) await unlink(path).catch(() => undefined);
    }
    throw new StateLockedError(dir, undefined, " (the lock kept changing hands)");
  }

  /** Remove the lock file if it is still this process's. Idempotent. */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    const found = await readFile(this.path, "utf8").catch(() => null);
    if (found === this.#text) await unlink(this.path).catch(() => undefined);
  }
}

/** Create `path` holding `text`, atomically (temp file + link); false when it exists. */
async function tryCreate(dir: string, path: string, text: string): Promise<boolean> {
  const tmp = join(dir, `.weft.lock.${process.pid}.${randomBytes(4).toString("hex")}`);
  try {
    const handle = await open(tmp, "wx", 0o600);
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await link(tmp, path);
    } catch (err) {
      if ((err as { code?: string }).code === "EEXIST") return false;
      throw err;
    }
    await fsyncDirectory(dir);
    return true;
  } catch (err) {
    throw new StateIOError(path, "create the lock", err);
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}
