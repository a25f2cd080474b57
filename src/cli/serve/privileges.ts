/**
 * `weft serve --umask`, `--uid`, `--gid`, as twistd has them. The umask is set first, before any
 * file (pidfile, log file, state, manhole socket) is created. The user and group are dropped only
 * after every port is bound (so a server started as root can listen on port 80 and then run as
 * `nobody`): supplementary groups first (`initgroups`, or only the new group), then the group, then
 * the user — the other order would leave the process unable to change its group.
 *
 * What stays root-owned: files opened before the drop stay open and writable; files created after it
 * (a rolled log file, a saved state file, the pidfile's removal on exit) need the folders to be
 * writable by the new user, as with twistd.
 */
import { readFileSync } from "node:fs";
import { InvalidArgumentError } from "commander";
import { WeftError } from "../../core/errors.js";

/** Dropping the user or group failed (not root, unknown name). */
export class PrivilegeDropError extends WeftError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_PRIVILEGE_DROP", message, options);
  }
}

/** Commander parser for `--umask`: an octal mask such as `022` or `0077`. */
export function parseUmask(value: string): number {
  if (!/^0?[0-7]{1,3}$/.test(value.trim()))
    throw new InvalidArgumentError("must be an octal mask such as 022 or 077");
  return Number.parseInt(value, 8);
}

/** Commander parser for `--uid`/`--gid`: a number or a name (checked when it is dropped to). */
export function parseId(value: string): string | number {
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  if (!/^[A-Za-z_][\w.-]*\$?$/.test(v))
    throw new InvalidArgumentError("must be a name or a number");
  return v;
}

/** Who the process runs as after {@link dropPrivileges}. */
export interface Identity {
  uid: number;
  gid: number;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

/** The `/etc/passwd` entry of `user` (a name or a uid), or null. */
function passwdEntry(user: string | number): PasswdEntry | null {
  let text: string;
  try {
    text = readFileSync("/etc/passwd", "utf8");
  } catch {
    return null;
  }
  for (const line of text.split("\n")) {
    const [name, , uid, gid] = line.split(":");
    if (name === undefined || uid === undefined || gid === undefined) continue;
    if (name === user || Number(uid) === user) return { name, uid: Number(uid), gid: Number(gid) };
  }
  return null;
}

/**
 * Become `uid`/`gid` (names or numbers; either may be omitted). Without `gid`, the user's own
 * primary group (from `/etc/passwd`), as twistd does. Throws {@link PrivilegeDropError} (with the
 * system's reason) when it cannot — typically when not running as root.
 */
export function dropPrivileges(ids: { uid?: string | number; gid?: string | number }): Identity {
  const { uid } = ids;
  if (process.setuid === undefined || process.setgid === undefined)
    throw new PrivilegeDropError("--uid/--gid are not supported on this platform");
  const entry = uid === undefined ? null : passwdEntry(uid);
  const gid = ids.gid ?? entry?.gid;
  const what = [uid !== undefined ? `uid ${uid}` : "", gid !== undefined ? `gid ${gid}` : ""]
    .filter((s) => s !== "")
    .join(" and ");
  try {
    if (gid !== undefined) {
      // Supplementary groups: the user's own plus the new group, or only the new group.
      // process.initgroups exists on POSIX; @types/node 20 does not declare it.
      const initgroups: unknown = Reflect.get(process, "initgroups");
      if (entry !== null && typeof initgroups === "function")
        initgroups.call(process, entry.name, gid);
      else process.setgroups?.([gid]);
      process.setgid(gid);
    }
    if (uid !== undefined) process.setuid(uid);
  } catch (err) {
    throw new PrivilegeDropError(`cannot switch to ${what}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return { uid: process.getuid?.() ?? -1, gid: process.getgid?.() ?? -1 };
}
