/**
 * Where the AMP protocol reports what it cannot hand to anyone, and the default rate-limited logger.
 */

/**
 * Where AMP reports errors it cannot hand to anyone (pino-compatible: `error(obj, msg)`, and
 * optionally `warn(obj, msg)`). Problems the peer caused (protocol violations, arguments that do not
 * decode) go to `warn` when the logger has it, else to `error`; local faults (a responder throwing
 * an undeclared error, an answer that cannot be encoded) go to `error`.
 */
export interface AmpLogger {
  /** Reports a local fault (and a peer's problem when there is no `warn`); `obj.err` is the error. */
  error(obj: { err: unknown }, msg: string): void;
  /** Reports a problem the peer caused; `obj.err` is the error. */
  warn?(obj: { err: unknown }, msg: string): void;
}

/** The options of {@link rateLimitedLogger}. */
export interface RateLimitedLoggerOptions {
  /** Reports let through per one-second window (both levels together). Default 10. */
  maxPerSecond?: number;
  /** Where reports go. Default `console` (both levels write to stderr). */
  sink?: {
    /** Writes an error report (`console.error`'s signature). */
    error(...args: unknown[]): void;
    /** Writes a warning report and the "suppressed N" summaries (`console.warn`'s signature). */
    warn(...args: unknown[]): void;
  };
  /** Clock in ms. Default `Date.now`. */
  now?: () => number;
  /**
   * Schedules the "suppressed N" summary at the end of a window in which reports were dropped.
   * Default: an unref'd `setTimeout` (it never keeps the process alive).
   */
  setTimer?: (fn: () => void, ms: number) => void;
}

/**
 * A logger that prints at most `maxPerSecond` reports per second and counts the rest; the count is
 * printed as one summary line (`suppressed N AMP reports`) once the window is over. The default
 * logger of every {@link AMP} is one such logger shared by the whole process, so a peer sending
 * garbage on many connections cannot flood stderr.
 */
export function rateLimitedLogger(options: RateLimitedLoggerOptions = {}): AmpLogger {
  const max = options.maxPerSecond ?? 10;
  const sink = options.sink ?? console;
  const now = options.now ?? Date.now;
  const setTimer =
    options.setTimer ??
    ((fn: () => void, ms: number) => {
      setTimeout(fn, ms).unref();
    });
  let windowStart = Number.NEGATIVE_INFINITY;
  let count = 0;
  let suppressed = 0;
  let timerSet = false;
  const summary = () => {
    if (suppressed === 0) return;
    sink.warn(`weft amp: suppressed ${suppressed} AMP report(s) (over ${max} per second)`);
    suppressed = 0;
  };
  const report = (level: "error" | "warn", err: unknown, msg: string) => {
    const t = now();
    if (t - windowStart >= 1000) {
      summary();
      windowStart = t;
      count = 0;
    }
    if (count < max) {
      count++;
      // A peer's fault is one short line (its code and a bounded message, no stack): only our own
      // faults carry the error object and its stack.
      if (level === "warn") sink.warn(`weft amp: ${msg}: ${briefly(err)}`);
      else sink.error(`weft amp: ${msg}`, err);
      return;
    }
    suppressed++;
    if (!timerSet) {
      timerSet = true;
      setTimer(
        () => {
          timerSet = false;
          summary();
        },
        Math.max(0, windowStart + 1000 - t),
      );
    }
  };
  return {
    error(obj, msg) {
      report("error", obj.err, msg);
    },
    warn(obj, msg) {
      report("warn", obj.err, msg);
    },
  };
}

/** `CODE: message` of an error, the message cut to 100 characters and kept on one line. */
export function briefly(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  const oneLine = JSON.stringify(message.length > 100 ? `${message.slice(0, 100)}…` : message);
  return typeof code === "string" ? `${code} ${oneLine}` : oneLine;
}

let defaultLogger: AmpLogger | null = null;

/** The logger of every AMP connection given none: one {@link rateLimitedLogger} per process. */
export function sharedLogger(): AmpLogger {
  defaultLogger ??= rateLimitedLogger();
  return defaultLogger;
}
