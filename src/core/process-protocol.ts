/**
 * Twisted's `ProcessProtocol` and the reasons a process ends with (`ProcessDone`,
 * `ProcessTerminated`), plus the typed errors of the process API.
 */
import { constants } from "node:os";
import { WeftError } from "./errors.js";
import type { ProcessTransport } from "./process.js";

/** The signal number of `name` (`"SIGTERM"` → 15), or null when Node does not know it. */
export function signalNumber(name: string | null): number | null {
  if (name === null) return null;
  const n = (constants.signals as Record<string, number | undefined>)[name];
  return n ?? null;
}

/** A process exited with code 0 (Twisted's `ProcessDone`): the reason of a clean end. */
export class ProcessDone extends WeftError {
  /** Always 0. */
  readonly exitCode = 0;
  /** Always null: no signal ended the process. */
  readonly signal = null;
  /** Always null. */
  readonly signalName = null;
  /** The wait status as Twisted reports it (exit code << 8). */
  readonly status = 0;
  constructor(
    message = "A process has ended without apparent errors: process finished with exit code 0.",
  ) {
    super("ERR_PROCESS_DONE", message);
  }
}

/**
 * A process exited with a non-zero code, or was killed by a signal (Twisted's
 * `ProcessTerminated`): exactly one of `exitCode` and `signal` is set.
 */
export class ProcessTerminated extends WeftError {
  /** The exit code, or null when a signal ended the process. */
  readonly exitCode: number | null;
  /** The number of the signal that ended the process (15 for SIGTERM), or null. */
  readonly signal: number | null;
  /** The name of that signal (`"SIGTERM"`), or null. */
  readonly signalName: string | null;
  /** The wait status as Twisted reports it (exit code << 8, or the signal number). */
  readonly status: number;

  constructor(exitCode: number | null, signalName: string | null, options?: { cause?: unknown }) {
    const signal = signalNumber(signalName);
    super(
      "ERR_PROCESS_TERMINATED",
      signalName !== null
        ? `A process has ended with a probable error condition: process ended by signal ${signal ?? signalName} (${signalName}).`
        : `A process has ended with a probable error condition: process ended with exit code ${exitCode}.`,
      options,
    );
    this.exitCode = signalName !== null ? null : exitCode;
    this.signal = signal;
    this.signalName = signalName;
    this.status = signalName !== null ? (signal ?? 0) : (exitCode ?? 0) << 8;
  }
}

/**
 * The process could not be started (missing executable, not executable, bad working directory):
 * the reason given to `processExited` and `processEnded`. `errno` is Node's code (`"ENOENT"`…).
 */
export class ProcessSpawnError extends WeftError {
  /** Node's error code (`"ENOENT"`, `"EACCES"`, …), or `"UNKNOWN"`. */
  readonly errno: string;
  constructor(executable: string, cause: unknown) {
    const errno = String((cause as { code?: unknown } | null)?.code ?? "UNKNOWN");
    const detail = cause instanceof Error ? cause.message : String(cause);
    super("ERR_PROCESS_SPAWN", `Cannot start ${JSON.stringify(executable)}: ${detail}`, { cause });
    this.errno = errno;
  }
}

/** `signalProcess` on a process that has already exited (Twisted's `ProcessExitedAlready`). */
export class ProcessExitedAlreadyError extends WeftError {
  constructor(message = "The process has already exited.") {
    super("ERR_PROCESS_EXITED_ALREADY", message);
  }
}

/** A feature Node cannot offer here (e.g. `usePTY`). */
export class NotSupportedError extends WeftError {
  constructor(message: string) {
    super("ERR_NOT_SUPPORTED", message);
  }
}

/** Why a process ended: one of these is handed to `processExited` and `processEnded`. */
export type ProcessEndReason = ProcessDone | ProcessTerminated | ProcessSpawnError;

/**
 * The protocol of a child process (Twisted's `ProcessProtocol`). Hooks, in the order a run sees
 * them: `connectionMade` (synchronously inside `spawnProcess`), then any number of
 * `childDataReceived(fd, data)` (→ `outReceived` for fd 1, `errReceived` for fd 2), one
 * `childConnectionLost(fd)` per pipe (→ `inConnectionLost`, `outConnectionLost`,
 * `errConnectionLost`), one `processExited(reason)` when the process has exited (it may come before
 * or after the pipes' hooks, as in Twisted), and `processEnded(reason)` last, once the process has
 * exited and every pipe is closed.
 */
export class ProcessProtocol {
  /** Set by `makeConnection` (inside `spawnProcess`). */
  transport!: ProcessTransport;

  /** Called by `spawnProcess` with the process's transport: sets `transport`, then calls `connectionMade`. */
  makeConnection(transport: ProcessTransport): void {
    this.transport = transport;
    this.connectionMade();
  }

  /** The process has been started (or failed to start: then `processEnded` follows). */
  connectionMade(): void {}

  /** Data from the child's `fd`; dispatches fd 1 to `outReceived` and fd 2 to `errReceived`. */
  childDataReceived(fd: number, data: Uint8Array): void {
    if (fd === 1) this.outReceived(data);
    else if (fd === 2) this.errReceived(data);
  }

  /** Data the child wrote to its standard output. */
  outReceived(_data: Uint8Array): void {}

  /** Data the child wrote to its standard error. */
  errReceived(_data: Uint8Array): void {}

  /** The pipe to the child's `fd` is closed; dispatches fds 0, 1 and 2. */
  childConnectionLost(fd: number): void {
    if (fd === 0) this.inConnectionLost();
    else if (fd === 1) this.outConnectionLost();
    else if (fd === 2) this.errConnectionLost();
  }

  /** The child's standard input is closed (by `closeStdin`, or because the child exited). */
  inConnectionLost(): void {}

  /** The child's standard output is closed. */
  outConnectionLost(): void {}

  /** The child's standard error is closed. */
  errConnectionLost(): void {}

  /** The process has exited (its pipes may still be open). */
  processExited(_reason: ProcessEndReason): void {}

  /** The process has exited and every pipe is closed: the last hook. */
  processEnded(_reason: ProcessEndReason): void {}
}
