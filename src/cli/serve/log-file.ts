/**
 * Where `weft serve` logs: JSON lines on stderr (default), or `--log-file FILE` rolled by size and by
 * time through `pino-roll` (the pino organisation's rolling-file transport). The transport runs in
 * this process — its build function hands back the SonicBoom stream pino writes to — rather than in
 * a `pino.transport()` worker thread: one thread fewer per process on small machines, and the last
 * lines before an exit are flushed in order by {@link ServeLog.close}.
 *
 * Files: pino-roll numbers them, `--log-file /var/log/weft.log` writes `weft.1.log`, then
 * `weft.2.log` once the first reaches `--log-max-size` or the `--log-rotate` period ends; numbering
 * continues after a restart, and only the newest `--log-keep` rolled files are kept.
 *
 * Workers of `weft serve --workers N` do not open the file: their lines go to the primary over the
 * cluster IPC channel ({@link ipcLogStream}) and the primary writes them, so one process owns the
 * file and its rotation.
 */
import { createRequire } from "node:module";
import { pino } from "pino";
import { WeftError } from "../../core/errors.js";
import type { LogLevel } from "../logger.js";

/** How `--log-file` rolls. */
export interface LogFileOptions {
  /** The base path (`weft.log` → `weft.1.log`, `weft.2.log`, …). */
  file: string;
  /** Roll when the file reaches this size: a number of bytes or `10k`, `10m`, `1g`. */
  maxSize: string;
  /** Roll every `daily`, `hourly`, N milliseconds, or `never`. */
  rotate: string;
  /** Rolled files kept besides the current one. */
  keep: number;
}

/** A stream pino writes JSON lines to. */
interface LineSink {
  write(line: string): unknown;
}

/** The SonicBoom stream pino-roll returns, as much of it as is used here. */
interface RollStream extends LineSink {
  /** The file descriptor, -1 until the file is open. */
  readonly fd: number;
  flushSync(): void;
  end(): void;
  once(event: "close" | "error" | "ready", listener: (err?: Error) => void): unknown;
  off(event: "error" | "ready", listener: (err?: Error) => void): unknown;
  on(event: "error", listener: (err: Error) => void): unknown;
}

type PinoRollBuild = (options: Record<string, unknown>) => Promise<RollStream>;

const require = createRequire(import.meta.url);

/** The log file could not be opened (bad path, permissions, bad size or period). */
export class LogFileError extends WeftError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_LOG_FILE", message, options);
  }
}

/** A logger and what closes its destination. */
export interface ServeLog {
  readonly logger: pino.Logger;
  /** Write one already-formatted JSON line (a worker's, relayed by the primary). */
  writeLine(line: string): void;
  /** Flush and close the destination (the file); resolves when it is written. */
  close(): Promise<void>;
}

/** `--log-max-size` / `--log-rotate` values pino-roll accepts, checked before it sees them. */
export function checkLogFileOptions(o: LogFileOptions): string | null {
  if (!/^\d+[kmg]?$/i.test(o.maxSize)) return "--log-max-size must be like 500k, 10m or 1g";
  if (!/^(daily|hourly|never|\d+)$/.test(o.rotate))
    return "--log-rotate must be daily, hourly, never or a number of milliseconds";
  if (!Number.isInteger(o.keep) || o.keep < 0) return "--log-keep must be an integer ≥ 0";
  return null;
}

function logger(level: LogLevel, sink: LineSink, role: string | undefined): pino.Logger {
  const base = role === undefined ? { pid: process.pid } : { pid: process.pid, role };
  return pino({ level, base, name: "weft" }, sink);
}

/** Logs to stderr, synchronously (nothing lost on exit). */
export function stderrLog(level: LogLevel, role?: string): ServeLog {
  const destination = pino.destination({ dest: 2, sync: true });
  return {
    logger: logger(level, destination, role),
    writeLine: (line) => destination.write(line),
    close: async () => {},
  };
}

/** Opens (creating its folder) the rolling log file. Rejects with {@link LogFileError}. */
export async function rollingFileLog(
  level: LogLevel,
  options: LogFileOptions,
  role?: string,
): Promise<ServeLog> {
  const build = require("pino-roll") as PinoRollBuild;
  let stream: RollStream;
  try {
    stream = await build({
      file: options.file,
      size: options.maxSize,
      ...(options.rotate === "never"
        ? {}
        : { frequency: /^\d+$/.test(options.rotate) ? Number(options.rotate) : options.rotate }),
      ...(options.keep > 0 ? { limit: { count: options.keep } } : {}),
      mkdir: true,
    });
    // The file opens asynchronously: a folder that cannot be made or written fails here, before
    // the server starts, rather than later as a stream error with every line lost.
    if (stream.fd < 0) {
      const opened = stream;
      await new Promise<void>((resolve, reject) => {
        // Bounded: a folder on a special file system may neither open nor fail.
        const timer = setTimeout(() => onError(new Error("not open after 5 s")), 5000);
        const onReady = (): void => {
          clearTimeout(timer);
          opened.off("error", onError);
          resolve();
        };
        const onError = (err?: Error): void => {
          clearTimeout(timer);
          opened.off("ready", onReady);
          reject(err ?? new Error("cannot open"));
        };
        opened.once("ready", onReady);
        opened.once("error", onError);
      });
    }
  } catch (err) {
    throw new LogFileError(`cannot open the log file ${options.file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  // A failed write or roll (disk full, folder removed) must not crash the server: say it on stderr.
  stream.on("error", (err) => {
    process.stderr.write(`weft serve: log file ${options.file}: ${err.message}\n`);
  });
  let closing: Promise<void> | null = null;
  return {
    logger: logger(level, stream, role),
    writeLine: (line) => stream.write(line),
    close() {
      closing ??= new Promise<void>((resolve) => {
        stream.once("close", () => resolve());
        try {
          stream.flushSync();
        } catch {
          // nothing buffered, or the file is gone: end() still closes it
        }
        stream.end();
      });
      return closing;
    },
  };
}

/** A message carrying one log line from a worker to the primary. */
export interface LogLineMessage {
  weft: "log";
  line: string;
}

/** Whether `m` is a {@link LogLineMessage}. */
export function isLogLineMessage(m: unknown): m is LogLineMessage {
  return (
    typeof m === "object" &&
    m !== null &&
    (m as { weft?: unknown }).weft === "log" &&
    typeof (m as { line?: unknown }).line === "string"
  );
}

/**
 * A worker's log destination: each line goes to the primary over the IPC channel (falling back to
 * stderr once the channel is gone, so a dying worker's last words are not lost).
 */
export function ipcLogStream(): LineSink {
  return {
    write(line: string) {
      if (process.send !== undefined && process.connected) {
        const message: LogLineMessage = { weft: "log", line };
        process.send(message);
      } else process.stderr.write(line);
    },
  };
}

/** A worker's logger: lines to the primary, tagged with the worker's pid. */
export function workerLog(level: LogLevel): ServeLog {
  const sink = ipcLogStream();
  return {
    logger: logger(level, sink, "worker"),
    writeLine: (line) => sink.write(line),
    close: async () => {},
  };
}
