/**
 * The manhole's shared secret: a file holding one token. The server creates it (mode 0600, 32
 * random bytes as hex) when it is absent, and refuses one that group or others can read, as ssh
 * refuses a private key with loose permissions. Tokens are compared in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { WeftError } from "../../core/errors.js";

/** The token file is unusable: unreadable, empty, or readable by others. */
export class ManholeTokenError extends WeftError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_MANHOLE_TOKEN", message, options);
  }
}

/** Reads the token in `path`; creates the file (0600, a random token) when it does not exist. */
export function ensureTokenFile(path: string): string {
  try {
    writeFileSync(path, `${randomBytes(32).toString("hex")}\n`, { mode: 0o600, flag: "wx" });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST")
      throw new ManholeTokenError(`cannot create ${path}: ${(err as Error).message}`, {
        cause: err,
      });
  }
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0)
    throw new ManholeTokenError(
      `${path} is readable by others (mode ${mode.toString(8)}): chmod 600 it first`,
    );
  return readTokenFile(path);
}

/** Reads a token file (the client's `--token-file`): its first line, trimmed. */
export function readTokenFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ManholeTokenError(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  const token = (text.split("\n")[0] ?? "").trim();
  if (token === "") throw new ManholeTokenError(`${path} holds no token`);
  return token;
}

/** Whether `given` equals `expected`, in time independent of where they differ. */
export function tokensMatch(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}
