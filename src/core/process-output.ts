/**
 * Run a process and collect what it did (Twisted's `twisted.internet.utils`): `getProcessOutput`,
 * `getProcessValue`, `getProcessOutputAndValue`.
 *
 * Twisted's argument order (`executable, args, env, path`) with the reactor first: Twisted takes it
 * as an optional fifth argument defaulting to the global reactor, and weft has no global reactor.
 * Unlike `spawnProcess`, `args` are the arguments only: argv[0] is `executable` (as in Twisted).
 * The environment is empty unless `env` is given (`null` inherits this process's).
 */
import { Deferred } from "./deferred.js";
import { WeftError } from "./errors.js";
import type { ProcessTransport, SpawnProcessOptions } from "./process.js";
import {
  type ProcessEndReason,
  ProcessProtocol,
  ProcessSpawnError,
  ProcessTerminated,
} from "./process-protocol.js";

/** The part of a reactor these helpers use. */
export interface ProcessReactor {
  /** Starts a child process connected to `protocol` (see {@link spawnProcess}). */
  spawnProcess(
    protocol: ProcessProtocol,
    executable: string,
    args?: readonly string[],
    options?: SpawnProcessOptions,
  ): ProcessTransport;
}

/**
 * `getProcessOutput` without `errortoo` saw output on stderr (Twisted errbacks with an IOError):
 * `stderr` holds the first chunk, as Twisted's message does.
 */
export class ProcessStderrError extends WeftError {
  /** The first chunk the process wrote to stderr. */
  readonly stderr: Uint8Array;
  constructor(stderr: Uint8Array) {
    const text = Buffer.from(stderr.buffer, stderr.byteOffset, stderr.byteLength).toString("utf8");
    super("ERR_PROCESS_STDERR", `got stderr: ${JSON.stringify(text.slice(0, 200))}`);
    this.stderr = stderr;
  }
}

/**
 * `getProcessOutputAndValue`'s process was killed by a signal (Twisted errbacks with the tuple
 * `(out, err, signal)`): the same three, as fields.
 */
export class ProcessSignalledError extends WeftError {
  /** Everything the process wrote to stdout. */
  readonly stdout: Uint8Array;
  /** Everything the process wrote to stderr. */
  readonly stderr: Uint8Array;
  /** The number of the signal that ended it (15 for SIGTERM), or null when unknown. */
  readonly signal: number | null;
  /** The name of that signal (`"SIGTERM"`), or null. */
  readonly signalName: string | null;
  constructor(stdout: Uint8Array, stderr: Uint8Array, reason: ProcessTerminated) {
    super("ERR_PROCESS_SIGNALLED", `The process was ended by ${reason.signalName ?? "a signal"}.`, {
      cause: reason,
    });
    this.stdout = stdout;
    this.stderr = stderr;
    this.signal = reason.signal;
    this.signalName = reason.signalName;
  }
}

function run(
  reactor: ProcessReactor,
  protocol: ProcessProtocol,
  executable: string,
  args: readonly string[],
  env: Record<string, string> | null,
  path: string | null,
): void {
  reactor.spawnProcess(protocol, executable, [executable, ...args], {
    env,
    ...(path !== null ? { path } : {}),
  });
}

function concat(chunks: Uint8Array[]): Uint8Array {
  return chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks);
}

class OutputCollector extends ProcessProtocol {
  readonly out: Uint8Array[] = [];
  constructor(
    readonly done: Deferred<Uint8Array>,
    readonly errortoo: boolean,
  ) {
    super();
  }
  override outReceived(data: Uint8Array): void {
    this.out.push(data);
  }
  override errReceived(data: Uint8Array): void {
    if (this.errortoo) this.out.push(data);
    else if (!this.done.called) this.done.errback(new ProcessStderrError(Buffer.from(data)));
  }
  override processEnded(reason: ProcessEndReason): void {
    if (this.done.called) return;
    if (reason instanceof ProcessSpawnError) this.done.errback(reason);
    else this.done.callback(concat(this.out));
  }
}

/**
 * Runs `executable args…` and fires with everything it wrote to stdout, whatever its exit code.
 * Output on stderr fails the Deferred at once with {@link ProcessStderrError} unless `errortoo`
 * (then stderr is mixed into the result). A process that cannot start fails it with
 * ProcessSpawnError. Cancelling the Deferred kills the process (SIGKILL).
 */
export function getProcessOutput(
  reactor: ProcessReactor,
  executable: string,
  args: readonly string[] = [],
  env: Record<string, string> | null = {},
  path: string | null = null,
  errortoo = false,
): Deferred<Uint8Array> {
  let protocol: OutputCollector | null = null;
  const done = new Deferred<Uint8Array>(() => killQuietly(protocol));
  protocol = new OutputCollector(done, errortoo);
  run(reactor, protocol, executable, args, env, path);
  return done;
}

function killQuietly(protocol: ProcessProtocol | null): void {
  const t = protocol?.transport;
  if (t !== undefined && t.pid !== null) t.abortConnection();
}

class ValueGetter extends ProcessProtocol {
  constructor(readonly done: Deferred<number | null>) {
    super();
  }
  override processEnded(reason: ProcessEndReason): void {
    if (this.done.called) return;
    if (reason instanceof ProcessSpawnError) this.done.errback(reason);
    else this.done.callback(reason.exitCode);
  }
}

/**
 * Runs `executable args…` and fires with its exit code (`null` when a signal ended it, as
 * Twisted's `None`). Its output is discarded.
 */
export function getProcessValue(
  reactor: ProcessReactor,
  executable: string,
  args: readonly string[] = [],
  env: Record<string, string> | null = {},
  path: string | null = null,
): Deferred<number | null> {
  let protocol: ValueGetter | null = null;
  const done = new Deferred<number | null>(() => killQuietly(protocol));
  protocol = new ValueGetter(done);
  run(reactor, protocol, executable, args, env, path);
  return done;
}

class EverythingGetter extends ProcessProtocol {
  readonly out: Uint8Array[] = [];
  readonly err: Uint8Array[] = [];
  constructor(
    readonly done: Deferred<[Uint8Array, Uint8Array, number]>,
    readonly stdin: Uint8Array | null,
  ) {
    super();
  }
  override connectionMade(): void {
    if (this.stdin !== null) this.transport.write(this.stdin);
    this.transport.closeStdin();
  }
  override outReceived(data: Uint8Array): void {
    this.out.push(data);
  }
  override errReceived(data: Uint8Array): void {
    this.err.push(data);
  }
  override processEnded(reason: ProcessEndReason): void {
    if (this.done.called) return;
    const out = concat(this.out);
    const err = concat(this.err);
    if (reason instanceof ProcessSpawnError) this.done.errback(reason);
    else if (reason instanceof ProcessTerminated && reason.signalName !== null) {
      this.done.errback(new ProcessSignalledError(out, err, reason));
    } else this.done.callback([out, err, reason.exitCode ?? 0]);
  }
}

/**
 * Runs `executable args…` (writing `stdinBytes`, if given, then closing its stdin) and fires with
 * `[stdout, stderr, exitCode]`; fails with {@link ProcessSignalledError} (carrying both outputs)
 * when a signal ended it.
 */
export function getProcessOutputAndValue(
  reactor: ProcessReactor,
  executable: string,
  args: readonly string[] = [],
  env: Record<string, string> | null = {},
  path: string | null = null,
  stdinBytes: Uint8Array | null = null,
): Deferred<[Uint8Array, Uint8Array, number]> {
  let protocol: EverythingGetter | null = null;
  const done = new Deferred<[Uint8Array, Uint8Array, number]>(() => killQuietly(protocol));
  protocol = new EverythingGetter(done, stdinBytes);
  run(reactor, protocol, executable, args, env, path);
  return done;
}
