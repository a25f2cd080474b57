/** The `weft` command's structured logger: pino, to stderr (stdout carries the command's output). */
import { pino } from "pino";

/** Levels accepted by `--log-level`. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A pino logger writing JSON lines to stderr synchronously (nothing is lost on exit). */
export function createLogger(level: LogLevel): pino.Logger {
  return pino(
    { level, base: { pid: process.pid }, name: "weft" },
    pino.destination({ dest: 2, sync: true }),
  );
}
