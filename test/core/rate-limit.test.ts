import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Clock } from "../../src/core/clock.js";
import { InvalidArgumentError } from "../../src/core/errors.js";
import type { ReactorTime } from "../../src/core/interfaces.js";
import {
  OVERFLOW_KEY,
  RateLimitedReporter,
  type SuppressedSummary,
} from "../../src/core/rate-limit.js";

function setup(options: { limit?: number; interval?: number; maxKeys?: number } = {}) {
  const clock = new Clock();
  const summaries: SuppressedSummary[] = [];
  const reporter = new RateLimitedReporter(clock, (s) => summaries.push(s), options);
  return { clock, summaries, reporter };
}

describe("RateLimitedReporter", () => {
  it("allows `limit` reports per key and window, then suppresses and summarises once", () => {
    const { clock, summaries, reporter } = setup({ limit: 3, interval: 10 });
    const results = Array.from({ length: 10 }, () => reporter.allow("a"));
    expect(results).toEqual([true, true, true, false, false, false, false, false, false, false]);
    expect(reporter.suppressedCount("a")).toBe(7);
    expect(summaries).toEqual([]);
    clock.advance(9.999);
    expect(summaries).toEqual([]);
    clock.advance(0.001);
    expect(summaries).toEqual([{ key: "a", suppressed: 7, interval: 10 }]);
    expect(clock.getDelayedCalls()).toHaveLength(0);
    // A new window: the key may report again.
    expect(reporter.allow("a")).toBe(true);
  });

  it("keeps keys apart", () => {
    const { clock, summaries, reporter } = setup({ limit: 1, interval: 5 });
    expect(reporter.allow("a")).toBe(true);
    expect(reporter.allow("b")).toBe(true);
    expect(reporter.allow("a")).toBe(false);
    expect(reporter.allow("a")).toBe(false);
    expect(reporter.allow("b")).toBe(false);
    clock.advance(5);
    expect(summaries).toEqual([
      { key: "a", suppressed: 2, interval: 5 },
      { key: "b", suppressed: 1, interval: 5 },
    ]);
  });

  it("schedules no timer while nothing is suppressed, and windows restart after a quiet spell", () => {
    const { clock, summaries, reporter } = setup({ limit: 2, interval: 10 });
    expect(reporter.allow("a")).toBe(true);
    expect(reporter.allow("a")).toBe(true);
    expect(clock.getDelayedCalls()).toHaveLength(0);
    clock.advance(10);
    expect(reporter.allow("a")).toBe(true);
    expect(reporter.allow("a")).toBe(true);
    expect(reporter.allow("a")).toBe(false);
    expect(clock.getDelayedCalls()).toHaveLength(1);
    clock.advance(10);
    expect(summaries).toEqual([{ key: "a", suppressed: 1, interval: 10 }]);
  });

  it("flush hands out pending summaries at once and cancels the timer", () => {
    const { clock, summaries, reporter } = setup({ limit: 1, interval: 60 });
    reporter.allow("x");
    reporter.allow("x");
    reporter.flush();
    expect(summaries).toEqual([{ key: "x", suppressed: 1, interval: 60 }]);
    expect(clock.getDelayedCalls()).toHaveLength(0);
    reporter.flush();
    expect(summaries).toHaveLength(1);
    expect(reporter.allow("x")).toBe(true);
  });

  it("a late timer does not lose counts: a report after the window's end closes it first", () => {
    // A time source whose timers never run (a busy event loop): only the lazy close can end windows.
    let now = 0;
    let scheduled = 0;
    const clock = new Clock();
    const stalled: ReactorTime = {
      seconds: () => now,
      callLater: (delay, fn, ...args) => {
        scheduled++;
        return clock.callLater(delay + 1e9, fn, ...args);
      },
    };
    const summaries: SuppressedSummary[] = [];
    const reporter = new RateLimitedReporter(stalled, (s) => summaries.push(s), {
      limit: 1,
      interval: 1,
    });
    reporter.allow("k");
    expect(reporter.allow("k")).toBe(false);
    expect(scheduled).toBe(1);
    now = 5;
    expect(reporter.allow("k")).toBe(true);
    expect(summaries).toEqual([{ key: "k", suppressed: 1, interval: 1 }]);
    expect(clock.getDelayedCalls()).toHaveLength(0);
  });

  it("bounds the keys tracked per window: further keys share the overflow key", () => {
    const { clock, summaries, reporter } = setup({ limit: 1, interval: 1, maxKeys: 2 });
    expect(reporter.allow("a")).toBe(true);
    expect(reporter.allow("b")).toBe(true);
    expect(reporter.allow("c")).toBe(true);
    expect(reporter.allow("d")).toBe(false);
    expect(reporter.allow(OVERFLOW_KEY)).toBe(false);
    clock.advance(1);
    expect(summaries).toEqual([{ key: OVERFLOW_KEY, suppressed: 2, interval: 1 }]);
  });

  it("rejects nonsensical options", () => {
    const clock = new Clock();
    const cb = () => {};
    expect(() => new RateLimitedReporter(clock, cb, { limit: 0 })).toThrow(InvalidArgumentError);
    expect(() => new RateLimitedReporter(clock, cb, { limit: 1.5 })).toThrow(InvalidArgumentError);
    expect(() => new RateLimitedReporter(clock, cb, { interval: -1 })).toThrow(
      InvalidArgumentError,
    );
    expect(() => new RateLimitedReporter(clock, cb, { interval: Number.NaN })).toThrow(
      InvalidArgumentError,
    );
    expect(() => new RateLimitedReporter(clock, cb, { maxKeys: 0 })).toThrow(InvalidArgumentError);
  });

  it("property: emitted + suppressed = reports, and emitted ≤ limit per key and window", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.tuple(fc.constantFrom("a", "b", "c"), fc.integer({ min: 0, max: 4 })), {
          maxLength: 200,
        }),
        (limit, events) => {
          const { clock, summaries, reporter } = setup({ limit, interval: 10 });
          const emitted = new Map<string, number>();
          let windowEmitted = new Map<string, number>();
          let windowStart = -1;
          for (const [key, dt] of events) {
            clock.advance(dt);
            if (windowStart < 0 || clock.seconds() >= windowStart + 10) {
              windowStart = clock.seconds();
              windowEmitted = new Map();
            }
            if (reporter.allow(key)) {
              emitted.set(key, (emitted.get(key) ?? 0) + 1);
              windowEmitted.set(key, (windowEmitted.get(key) ?? 0) + 1);
              expect(windowEmitted.get(key)).toBeLessThanOrEqual(limit);
            }
          }
          reporter.flush();
          for (const key of ["a", "b", "c"]) {
            const reported = events.filter(([k]) => k === key).length;
            const suppressed = summaries
              .filter((s) => s.key === key)
              .reduce((n, s) => n + s.suppressed, 0);
            expect((emitted.get(key) ?? 0) + suppressed).toBe(reported);
          }
        },
      ),
    );
  });
});
