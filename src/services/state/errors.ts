/**
 * Typed errors of the state API. Each names the file (or directory) concerned in `path` and in its
 * message, and a service that gets one refuses to start: state is never silently reset.
 */
import { WeftError } from "../../core/errors.js";

/** Base of the state errors: `path` is the file or directory concerned. */
export class StateError extends WeftError {
  /** The state file or directory the error is about. */
  readonly path: string;

  constructor(code: string, path: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.path = path;
  }
}

/** A state file that exists but cannot be parsed (truncated, empty, edited by hand, wrong shape). */
export class StateCorruptError extends StateError {
  constructor(path: string, detail: string, options?: { cause?: unknown }) {
    super(
      "ERR_STATE_CORRUPT",
      path,
      `state file ${path} is corrupt (${detail}); refusing to start — restore it from a backup or remove it deliberately to start afresh`,
      options,
    );
  }
}

/** A state file written in a format version this weft does not read (a newer weft, say). */
export class StateVersionError extends StateError {
  /** The version found in the file. */
  readonly found: unknown;
  /** The version this code reads. */
  readonly expected: number;

  constructor(path: string, found: unknown, expected: number) {
    super(
      "ERR_STATE_VERSION",
      path,
      `state file ${path} has format version ${JSON.stringify(found)}, this weft reads version ${expected}; refusing to start`,
    );
    this.found = found;
    this.expected = expected;
  }
}

/** A state directory locked by another live process. */
export class StateLockedError extends StateError {
  /** The pid holding the lock, when known. */
  readonly ownerPid: number | undefined;

  constructor(path: string, ownerPid: number | undefined, detail = "") {
    super(
      "ERR_STATE_LOCKED",
      path,
      `state directory ${path} is in use by ${ownerPid === undefined ? "another process" : `process ${ownerPid}`}${detail}; two instances never share one state directory`,
    );
    this.ownerPid = ownerPid;
  }
}

/** Reading or writing state failed at the file system (permissions, disk full, not a directory…). */
export class StateIOError extends StateError {
  constructor(path: string, action: string, cause: unknown) {
    const reason =
      cause instanceof Error ? ((cause as { code?: string }).code ?? cause.message) : String(cause);
    super("ERR_STATE_IO", path, `cannot ${action} state ${path}: ${reason}`, { cause });
  }
}
