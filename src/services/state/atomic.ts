/**
 * Atomic file replacement: a reader (or a restart after a crash or power loss) sees either the old
 * content or the new, never a mix and never a half-written file.
 *
 * Steps: write the bytes to a temporary file in the same directory, fsync it, rename it over the
 * target (atomic within one file system), then fsync the directory so the rename itself is durable.
 * A failure removes the temporary file and leaves the old content in place.
 */
import { randomBytes } from "node:crypto";
import { open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** fsync a directory (makes a rename or create in it durable). Ignored where unsupported. */
export async function fsyncDirectory(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, "r");
    await handle.sync();
  } catch (err) {
    // Some file systems refuse fsync on a directory (EINVAL/EISDIR); the rename is still atomic.
    const code = (err as { code?: string }).code;
    if (code !== "EINVAL" && code !== "EISDIR" && code !== "EPERM") throw err;
  } finally {
    await handle?.close();
  }
}

/** Replace `path` with `data` atomically and durably (see the module comment). */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: { mode?: number } = {},
): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  const handle = await open(tmp, "wx", options.mode ?? 0o600);
  let renamed = false;
  try {
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
    renamed = true;
    await fsyncDirectory(dir);
  } finally {
    if (!renamed) await unlink(tmp).catch(() => undefined);
  }
}
