/**
 * How the connection guards report what they did (a connection dropped, aborted for its frame time,
 * closed over the memory budget): at most one line per kind of event and window, and at the end
 * of a window in which lines were held back, one "suppressed N similar" line per kind (the
 * rate limiting is `RateLimitedReporter`'s). An attacker who triggers a limit a million times gets
 * a handful of log lines. The one place the guards log through.
 */
import type { ReactorTime } from "./interfaces.js";
import { RateLimitedReporter } from "./rate-limit.js";

/** Reports one event of `kind` (the rate limit is per kind). */
export type LimitReporter = (kind: string, line: string) => void;

/** Seconds per window. */
export const LIMIT_LOG_INTERVAL = 10;

/**
 * A {@link LimitReporter} writing to `write` at most one line per `kind` every `interval` seconds
 * (on `clock`), then one summary per kind for the lines it held back. A throwing `write` is ignored.
 */
export function rateLimitedReporter(
  write: (line: string) => void,
  clock: ReactorTime,
  interval = LIMIT_LOG_INTERVAL,
): LimitReporter {
  const safe = (line: string): void => {
    try {
      write(line);
    } catch {
      // a failing log sink must not break the guard that reports
    }
  };
  const limiter = new RateLimitedReporter(
    clock,
    ({ key, suppressed }) =>
      safe(`suppressed ${suppressed} similar (${key}) in the last ${interval} s`),
    { limit: 1, interval, maxKeys: 64 },
  );
  return (kind, line) => {
    if (limiter.allow(kind)) safe(line);
  };
}

/** The default sink of limit lines: `console.warn`. */
export function consoleWarn(line: string): void {
  console.warn(line);
}
