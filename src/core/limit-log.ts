/**
 * How the connection guards report what they did (a connection dropped, aborted for its frame time,
 * closed over the memory budget): one line per kind of event and interval, the lines suppressed in
 * between counted in the next one. An attacker who triggers a limit a million times gets a handful
 * of log lines. The one place the guards log through (so another reporter can replace it).
 */
import type { ReactorTime } from "./interfaces.js";

/** Reports one event of `kind` (the rate limit is per kind). */
export type LimitReporter = (kind: string, line: string) => void;

/** Seconds between two lines of the same kind. */
export const LIMIT_LOG_INTERVAL = 10;

/**
 * A {@link LimitReporter} writing to `write` at most one line per `kind` every `interval` seconds
 * (on `clock`); the next line after a quiet spell says how many similar ones were suppressed.
 */
export function rateLimitedReporter(
  write: (line: string) => void,
  clock: ReactorTime,
  interval = LIMIT_LOG_INTERVAL,
): LimitReporter {
  const state = new Map<string, { next: number; suppressed: number }>();
  return (kind, line) => {
    const now = clock.seconds();
    let s = state.get(kind);
    if (s === undefined) {
      if (state.size >= 64) state.clear(); // kinds are a small fixed set; bound it anyway
      s = { next: 0, suppressed: 0 };
      state.set(kind, s);
    }
    if (now < s.next) {
      s.suppressed++;
      return;
    }
    const extra = s.suppressed > 0 ? ` (${s.suppressed} similar suppressed)` : "";
    s.suppressed = 0;
    s.next = now + interval;
    try {
      write(line + extra);
    } catch {
      // a failing log sink must not break the guard that reports
    }
  };
}

/** The default sink of limit lines: `console.warn`. */
export function consoleWarn(line: string): void {
  console.warn(line);
}
