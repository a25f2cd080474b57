/**
 * Child processes (Twisted's `reactor.spawnProcess` and its process transport) over
 * `node:child_process`. See {@link ProcessProtocol} for the order of the hooks.
 *
 * Twisted's conventions: `args[0]` is the child's argv[0] (not an argument); the child's
 * environment is empty unless `env` is given (`null` inherits this process's); the transport is
 * returned synchronously, after `connectionMade`; an executable that cannot be started is never a
 * throw but the reason of `processExited`/`processEnded` (a {@link ProcessSpawnError}).
 */
import { type ChildProcess, type StdioOptions, spawn } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { InvalidArgumentError } from "./errors.js";
import type { Address, Producer, Transport } from "./interfaces.js";
import {
  NotSupportedError,
  ProcessDone,
  type ProcessEndReason,
  ProcessExitedAlreadyError,
  type ProcessProtocol,
  ProcessSpawnError,
  ProcessTerminated,
} from "./process-protocol.js";
import { ProducerSlot } from "./producer-slot.js";
import { consoleErrorLogger, type ErrorLogger } from "./transport.js";

/**
 * What the parent does with one of the child's file descriptors: `"w"` writes to it (the child
 * reads: stdin), `"r"` reads from it (stdout, stderr), a number hands the parent's own descriptor to
 * the child, `"ignore"` opens it on /dev/null.
 */
export type ChildFD = "r" | "w" | "ignore" | number;

/** A signal by Twisted's short name (`"TERM"`), Node's name (`"SIGTERM"`) or number. */
export type ProcessSignal = string | number;

/** Options of {@link spawnProcess} (Twisted's keyword arguments, plus `signal`). */
export interface SpawnProcessOptions {
  /** The child's environment. Default `{}` (empty, as in Twisted); `null` inherits this process's. */
  env?: Record<string, string> | null;
  /** The child's working directory. Default this process's. */
  path?: string;
  /** Run the child as this user id (POSIX only; needs the privilege). Default this process's. */
  uid?: number;
  /** Run the child as this group id (POSIX only; needs the privilege). Default this process's. */
  gid?: number;
  /** Not supported by Node: `true` throws {@link NotSupportedError}. */
  usePTY?: boolean;
  /** The child's descriptors. Default `{ 0: "w", 1: "r", 2: "r" }`. */
  childFDs?: Record<number, ChildFD>;
  /** Aborting it sends `killSignal` to the process (if it still runs). */
  signal?: AbortSignal;
  /** The signal an abort sends. Default `"TERM"`. */
  killSignal?: ProcessSignal;
  /** Where errors thrown by the protocol's hooks go. Default `console.error`. */
  logger?: ErrorLogger;
}

const DEFAULT_FDS: Record<number, ChildFD> = { 0: "w", 1: "r", 2: "r" };

const PIPE_ADDRESS: Address = Object.freeze({ type: "PIPE", host: "", port: 0 });

/** Node's signal name for `sig` (`"TERM"` → `"SIGTERM"`); numbers pass through. */
function nodeSignal(sig: ProcessSignal): NodeJS.Signals | number {
  if (typeof sig === "number") return sig;
  return (sig.startsWith("SIG") ? sig : `SIG${sig}`) as NodeJS.Signals;
}

/**
 * The transport of a child process (Twisted's IProcessTransport, also usable as a stream
 * {@link Transport}: `write` goes to stdin, `loseConnection` closes stdin, stdout and stderr,
 * `abortConnection` kills the process).
 *
 * Backpressure both ways: `pauseProducing` stops reading the child's output pipes (the child then
 * blocks once the pipe buffer is full) until `resumeProducing`; a producer registered with
 * `registerProducer` is paused while the stdin pipe's buffer is full and resumed once it drains.
 */
export class ProcessTransport implements Transport {
  /** The protocol that receives the child's output and exit. */
  readonly protocol: ProcessProtocol;
  /** The program that was started, as passed to {@link spawnProcess}. */
  readonly executable: string;
  /** The process id while it runs; null once it has exited (or if it never started). */
  pid: number | null;
  /** The reason once the process has exited, else null. */
  exitReason: ProcessEndReason | null = null;
  readonly #child: ChildProcess;
  readonly #logger: ErrorLogger;
  readonly #pipes = new Map<number, Readable | Writable>();
  /** The descriptors the parent writes to (the others in #pipes are read). */
  readonly #writable = new Set<number>();
  #ended = false;
  #closing = false;
  readonly #producer = new ProducerSlot();
  #readPaused = false;
  #abort: { signal: AbortSignal; listener: () => void } | null = null;

  /** @internal Use {@link spawnProcess}. */
  constructor(
    child: ChildProcess,
    protocol: ProcessProtocol,
    executable: string,
    logger: ErrorLogger,
  ) {
    this.#child = child;
    this.protocol = protocol;
    this.executable = executable;
    this.#logger = logger;
    this.pid = child.pid ?? null;
  }

  /** @internal Wires the child's events and calls `makeConnection`. */
  start(fds: Record<number, ChildFD>, signal?: AbortSignal, killSignal?: ProcessSignal): void {
    const child = this.#child;
    for (const [key, spec] of Object.entries(fds)) {
      const fd = Number(key);
      const stream = child.stdio[fd];
      if (stream === null || stream === undefined || (spec !== "r" && spec !== "w")) continue;
      this.#pipes.set(fd, stream);
      if (spec === "r") {
        stream.on("data", (data: Buffer) => this.#hook("childDataReceived", fd, data));
      } else {
        this.#writable.add(fd);
        (stream as Writable).on("drain", this.#onDrain);
      }
      stream.on("error", () => {}); // EPIPE and friends: the 'close' that follows is what counts
      stream.once("close", () => {
        this.#pipes.delete(fd);
        this.#hook("childConnectionLost", fd);
        this.#maybeEnded();
      });
    }
    child.once("exit", (code, sig) => {
      this.#exited(
        code === 0 && sig === null ? new ProcessDone() : new ProcessTerminated(code, sig),
      );
    });
    child.on("error", (err) => {
      if (this.exitReason === null && child.pid === undefined) {
        this.#exited(new ProcessSpawnError(this.executable, err));
      } else {
        this.#logger(`Error from process ${this.executable}:`, err);
      }
    });
    if (signal !== undefined) {
      const listener = (): void => {
        if (this.pid !== null) this.signalProcess(killSignal ?? "TERM");
      };
      this.#abort = { signal, listener };
      if (signal.aborted) queueMicrotask(listener);
      else signal.addEventListener("abort", listener, { once: true });
    }
    try {
      this.protocol.makeConnection(this);
    } catch (err) {
      this.#logger("Unhandled error in connectionMade of a process protocol:", err);
    }
  }

  #hook(name: "childDataReceived" | "childConnectionLost", fd: number, data?: Buffer): void {
    try {
      if (name === "childDataReceived") this.protocol.childDataReceived(fd, data as Buffer);
      else this.protocol.childConnectionLost(fd);
    } catch (err) {
      this.#logger(`Unhandled error in ${name} of a process protocol:`, err);
    }
  }

  #exited(reason: ProcessEndReason): void {
    if (this.exitReason !== null) return;
    this.exitReason = reason;
    this.pid = null;
    if (this.#abort !== null) {
      this.#abort.signal.removeEventListener("abort", this.#abort.listener);
      this.#abort = null;
    }
    try {
      this.protocol.processExited(reason);
    } catch (err) {
      this.#logger("Unhandled error in processExited:", err);
    }
    this.#maybeEnded();
  }

  #maybeEnded(): void {
    if (this.#ended || this.exitReason === null || this.#pipes.size > 0) return;
    this.#ended = true;
    this.#producer.stop();
    try {
      this.protocol.processEnded(this.exitReason);
    } catch (err) {
      this.#logger("Unhandled error in processEnded:", err);
    }
  }

  /** True once `processEnded` has been delivered. */
  get ended(): boolean {
    return this.#ended;
  }

  /** True once `loseConnection`/`abortConnection` was called or the process exited. */
  get disconnecting(): boolean {
    return this.#closing || this.exitReason !== null;
  }

  #writer(fd: number): Writable | null {
    const s = this.#pipes.get(fd);
    if (s === undefined || !this.#writable.has(fd)) return null;
    const w = s as Writable;
    return w.writableEnded || w.destroyed ? null : w;
  }

  /** Writes to the child's standard input; silently dropped when it is closed (as in Twisted). */
  write(data: Uint8Array | string): void {
    this.writeToChild(0, data);
  }

  /** Writes each item to the child's standard input. */
  writeSequence(data: Iterable<Uint8Array | string>): void {
    for (const d of data) this.writeToChild(0, d);
  }

  /** Writes to the child's descriptor `fd` (one opened with `"w"`). */
  writeToChild(fd: number, data: Uint8Array | string): void {
    const w = this.#writer(fd);
    if (w === null || data.length === 0) return;
    const room = w.write(data);
    if (!room && fd === 0) this.#producer.bufferFull();
  }

  readonly #onDrain = (): void => {
    this.#producer.drained();
  };

  /** Bytes written to stdin and not yet taken by the pipe. */
  get bufferSize(): number {
    return this.#writer(0)?.writableLength ?? 0;
  }

  /**
   * Closes the pipe to the child's `fd`: a write pipe after what was written has gone, a read pipe
   * at once. `childConnectionLost(fd)` follows. A closed or unknown fd is a no-op.
   */
  closeChildFD(fd: number): void {
    const s = this.#pipes.get(fd);
    if (s === undefined) return;
    if (!this.#writable.has(fd)) s.destroy();
    else if (!(s as Writable).writableEnded) (s as Writable).end();
  }

  /** Closes the child's stdin once what was written has gone (`closeChildFD(0)`); the child reads end of file. */
  closeStdin(): void {
    this.closeChildFD(0);
  }

  /** Closes the pipe from the child's stdout (`closeChildFD(1)`). */
  closeStdout(): void {
    this.closeChildFD(1);
  }

  /** Closes the pipe from the child's stderr (`closeChildFD(2)`). */
  closeStderr(): void {
    this.closeChildFD(2);
  }

  /** Closes stdin, stderr and stdout (Twisted's order); the process is not signalled. */
  loseConnection(): void {
    this.#closing = true;
    this.closeStdin();
    this.closeStderr();
    this.closeStdout();
  }

  /** Kills the process (SIGKILL) and closes every pipe. */
  abortConnection(): void {
    this.#closing = true;
    if (this.pid !== null) this.#child.kill("SIGKILL");
    for (const s of this.#pipes.values()) s.destroy();
  }

  /**
   * Sends a signal (`"TERM"`, `"KILL"`, `"INT"`, `"SIGHUP"`, 9…). Throws
   * {@link ProcessExitedAlreadyError} once the process has exited.
   */
  signalProcess(signal: ProcessSignal): void {
    if (this.pid === null) throw new ProcessExitedAlreadyError();
    if (!this.#child.kill(nodeSignal(signal))) throw new ProcessExitedAlreadyError();
  }

  /** Stops reading the child's output until {@link resumeProducing}. */
  pauseProducing(): void {
    this.#readPaused = true;
    for (const [fd, s] of this.#pipes) if (!this.#writable.has(fd)) (s as Readable).pause();
  }

  resumeProducing(): void {
    this.#readPaused = false;
    for (const [fd, s] of this.#pipes) if (!this.#writable.has(fd)) (s as Readable).resume();
  }

  /** True while reading is paused by {@link pauseProducing}. */
  get readingPaused(): boolean {
    return this.#readPaused;
  }

  /** Closes the connection (Twisted's `stopProducing`). */
  stopProducing(): void {
    this.loseConnection();
  }

  /**
   * Registers the producer of the data written to stdin (see the class documentation). Without a
   * stdin pipe the producer is stopped at once (Twisted).
   */
  registerProducer(producer: Producer, streaming: boolean): void {
    const w = this.#writer(0);
    this.#producer.register(producer, streaming, w === null, w?.writableNeedDrain === true);
  }

  unregisterProducer(): void {
    this.#producer.unregister();
  }

  getPeer(): Address {
    return PIPE_ADDRESS;
  }

  getHost(): Address {
    return PIPE_ADDRESS;
  }
}

/**
 * Starts `executable` with `args` (`args[0]` is its argv[0]) and connects `protocol` to it; returns
 * the transport synchronously, after `connectionMade`. Throws only for programming errors
 * (`usePTY`, an invalid `childFDs` entry); a process that cannot start ends with a
 * {@link ProcessSpawnError} reason instead.
 */
export function spawnProcess(
  protocol: ProcessProtocol,
  executable: string,
  args: readonly string[] = [],
  options: SpawnProcessOptions = {},
): ProcessTransport {
  if (options.usePTY === true) {
    throw new NotSupportedError("usePTY is not supported: Node has no pseudo-terminal API.");
  }
  const fds = options.childFDs ?? DEFAULT_FDS;
  const max = Math.max(2, ...Object.keys(fds).map(Number));
  const stdio: Array<"pipe" | "ignore" | number> = [];
  for (let fd = 0; fd <= max; fd++) {
    const spec = fds[fd];
    if (spec === undefined || spec === "ignore") stdio.push("ignore");
    else if (spec === "r" || spec === "w") stdio.push("pipe");
    else if (Number.isInteger(spec) && spec >= 0) stdio.push(spec);
    else {
      throw new InvalidArgumentError(
        `Invalid childFDs entry for fd ${fd}: ${JSON.stringify(spec)} ("r", "w", "ignore" or a descriptor expected).`,
      );
    }
  }
  const child = spawn(executable, args.slice(1), {
    argv0: args[0] ?? executable,
    env: options.env === null ? process.env : (options.env ?? {}),
    stdio: stdio as StdioOptions,
    ...(options.path !== undefined ? { cwd: options.path } : {}),
    ...(options.uid !== undefined ? { uid: options.uid } : {}),
    ...(options.gid !== undefined ? { gid: options.gid } : {}),
  });
  const transport = new ProcessTransport(
    child,
    protocol,
    executable,
    options.logger ?? consoleErrorLogger,
  );
  transport.start(fds, options.signal, options.killSignal);
  return transport;
}
