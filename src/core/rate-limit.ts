/**
 * `RateLimitedReporter`: decides whether a repeated report (a log line about a peer's fault, a dropped
 * connection, a budget overrun) may be emitted, so that nothing a peer does can make a log grow faster
 * than a fixed number of lines per interval. It emits nothing itself: callers ask {@link
 * RateLimitedReporter.allow} and log when it says yes; at the end of an interval in which reports of a
 * key were held back, it hands one summary per key ("suppressed N similar") to the callback given at
 * construction. Time comes from the injected {@link ReactorTime}, so tests drive it with a manual Clock.
 *
 * Windows are fixed and shared by all keys: the first report after a quiet spell opens a window of
 * `interval` seconds; within it each key may pass `limit` times. A timer is scheduled only once
 * something is suppressed (the common case costs a Map lookup and no timer); when it fires, the
 * summaries go out and every count starts again.
 */
import { InvalidArgumentError } from "./errors.js";
import type { DelayedCall, ReactorTime } from "./interfaces.js";

/** What a {@link RateLimitedReporter} hands back for a key whose reports were held back. */
export interface SuppressedSummary {
  /** The key the suppressed reports were made under. */
  readonly key: string;
  /** How many reports of this key were suppressed in the window. */
  readonly suppressed: number;
  /** The window's length in seconds. */
  readonly interval: number;
}

/** Options of a {@link RateLimitedReporter}. */
export interface RateLimitOptions {
  /** Reports a key may emit per window. Default 5. */
  readonly limit?: number;
  /** The window's length in seconds. Default 10. */
  readonly interval?: number;
  /**
   * Distinct keys tracked per window (a bound on memory when keys derive from peer data); reports of
   * further keys share the key {@link OVERFLOW_KEY}. Default 1000.
   */
  readonly maxKeys?: number;
}

/** The key that reports share once a window holds `maxKeys` distinct keys. */
export const OVERFLOW_KEY = "(other keys)";

interface KeyState {
  emitted: number;
  suppressed: number;
}

function positive(name: string, value: number, integer: boolean): number {
  if (!(value > 0) || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw new InvalidArgumentError(`${name} must be a positive ${integer ? "integer" : "number"}`);
  }
  return value;
}

/** Per-key rate limiting of reports, with one "suppressed N similar" summary per key and window. */
export class RateLimitedReporter {
  /** Reports a key may emit per window. */
  readonly limit: number;
  /** The window's length in seconds. */
  readonly interval: number;
  /** Distinct keys tracked per window. */
  readonly maxKeys: number;
  readonly #clock: ReactorTime;
  readonly #onSuppressed: (summary: SuppressedSummary) => void;
  readonly #keys = new Map<string, KeyState>();
  #windowEnd = Number.NEGATIVE_INFINITY;
  #timer: DelayedCall | null = null;

  /**
   * @param clock the time source (a manual Clock in tests).
   * @param onSuppressed receives one summary per key with suppressed reports, at each window's end
   *   (and on {@link flush}).
   */
  constructor(
    clock: ReactorTime,
    onSuppressed: (summary: SuppressedSummary) => void,
    options: RateLimitOptions = {},
  ) {
    this.limit = positive("limit", options.limit ?? 5, true);
    this.interval = positive("interval", options.interval ?? 10, false);
    this.maxKeys = positive("maxKeys", options.maxKeys ?? 1000, true);
    this.#clock = clock;
    this.#onSuppressed = onSuppressed;
  }

  /**
   * Whether a report under `key` may be emitted now. Returns false (and counts it for the summary)
   * once the key has used its `limit` in the current window.
   */
  allow(key: string): boolean {
    const now = this.#clock.seconds();
    if (now >= this.#windowEnd) {
      // A new window: the previous one ended with nothing suppressed (or its timer already ran).
      if (this.#timer !== null) this.#endWindow();
      this.#keys.clear();
      this.#windowEnd = now + this.interval;
    }
    let state = this.#keys.get(key);
    if (state === undefined) {
      // Beyond maxKeys, new keys share one overflow entry (which may exceed maxKeys by one).
      const tracked = this.#keys.size < this.maxKeys ? key : OVERFLOW_KEY;
      state = this.#keys.get(tracked);
      if (state === undefined) {
        state = { emitted: 0, suppressed: 0 };
        this.#keys.set(tracked, state);
      }
    }
    if (state.emitted < this.limit) {
      state.emitted++;
      return true;
    }
    state.suppressed++;
    if (this.#timer === null) {
      this.#timer = this.#clock.callLater(Math.max(0, this.#windowEnd - now), () => {
        this.#timer = null;
        this.#endWindow();
      });
    }
    return false;
  }

  /** How many reports of `key` are held back in the current window so far. */
  suppressedCount(key: string): number {
    return this.#keys.get(key)?.suppressed ?? 0;
  }

  /**
   * End the current window now: hand out the pending summaries and cancel the timer (call it on
   * shutdown so no timer outlives the reporter and no count is lost).
   */
  flush(): void {
    if (this.#timer !== null) {
      this.#timer.cancel();
      this.#timer = null;
    }
    this.#endWindow();
  }

  #endWindow(): void {
    if (this.#timer !== null) {
      this.#timer.cancel();
      this.#timer = null;
    }
    const summaries: SuppressedSummary[] = [];
    for (const [key, state] of this.#keys) {
      if (state.suppressed > 0) {
        summaries.push({ key, suppressed: state.suppressed, interval: this.interval });
      }
    }
    this.#keys.clear();
    this.#windowEnd = Number.NEGATIVE_INFINITY;
    for (const summary of summaries) this.#onSuppressed(summary);
  }
}
