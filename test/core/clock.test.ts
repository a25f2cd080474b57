import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Clock, NodeClock } from "../../src/core/clock.js";
import { Deferred, deferLater, flushUnhandledErrors } from "../../src/core/deferred.js";
import {
  AlreadyCalledError,
  AlreadyCancelledError,
  CancelledError,
  InvalidArgumentError,
} from "../../src/core/errors.js";
import { outcome } from "./outcome.js";

afterEach(() => {
  expect(flushUnhandledErrors()).toEqual([]);
});

describe("Clock (Twisted ClockTests)", () => {
  it("testSeconds: starts at 0", () => {
    expect(new Clock().seconds()).toBe(0);
  });

  it("testCallLater: returns an active DelayedCall at now + delay", () => {
    const c = new Clock();
    const call = c.callLater(1, (_a: number, _b: number) => {}, 1, 2);
    expect(call.getTime()).toBe(1);
    expect(call.active()).toBe(true);
    expect(call.called).toBe(false);
    expect(call.cancelled).toBe(false);
  });

  it("testCallLaterCancelled", () => {
    const c = new Clock();
    const call = c.callLater(1, () => {});
    call.cancel();
    expect(call.active()).toBe(false);
    expect(call.cancelled).toBe(true);
    expect(c.getDelayedCalls()).toEqual([]);
  });

  it("test_callLaterOrdering: each call is a new DelayedCall", () => {
    const c = new Clock();
    expect(c.callLater(10, () => {})).not.toBe(c.callLater(1, () => {}));
  });

  it("testAdvance: passes the arguments and runs when due", () => {
    const events: unknown[] = [];
    const c = new Clock();
    const call = c.callLater(2, (a: string, b: number) => events.push([a, b]), "x", 2);
    c.advance(1);
    expect(events).toEqual([]);
    c.advance(1);
    expect(events).toEqual([["x", 2]]);
    expect(call.active()).toBe(false);
    expect(call.called).toBe(true);
  });

  it("testAdvanceCancel: cancelling a call from inside itself raises AlreadyCalledError", () => {
    const c = new Clock();
    let raised: unknown = null;
    const call = c.callLater(1, () => {
      try {
        call.cancel();
      } catch (e) {
        raised = e;
      }
    });
    c.advance(1);
    expect(raised).toBeInstanceOf(AlreadyCalledError);
  });

  it("cancel/reset/delay after cancel raise AlreadyCancelledError; after call AlreadyCalledError", () => {
    const c = new Clock();
    const a = c.callLater(1, () => {});
    a.cancel();
    expect(() => a.cancel()).toThrow(AlreadyCancelledError);
    expect(() => a.reset(1)).toThrow(AlreadyCancelledError);
    expect(() => a.delay(1)).toThrow(AlreadyCancelledError);
    const b = c.callLater(1, () => {});
    c.advance(1);
    expect(() => b.cancel()).toThrow(AlreadyCalledError);
    expect(() => b.reset(1)).toThrow(AlreadyCalledError);
    expect(() => b.delay(1)).toThrow(AlreadyCalledError);
    try {
      b.cancel();
    } catch (e) {
      expect((e as AlreadyCalledError).code).toBe("ERR_ALREADY_CALLED");
    }
    try {
      a.cancel();
    } catch (e) {
      expect((e as AlreadyCancelledError).code).toBe("ERR_ALREADY_CANCELLED");
    }
  });

  it("testCallLaterDelayed", () => {
    const events: unknown[] = [];
    const c = new Clock();
    const call = c.callLater(1, (a: number, b: number) => events.push([a, b]), 1, 2);
    call.delay(1);
    expect(call.getTime()).toBe(2);
    c.advance(1.5);
    expect(events).toEqual([]);
    c.advance(1.0);
    expect(events).toEqual([[1, 2]]);
  });

  it("testCallLaterResetLater", () => {
    const events: unknown[] = [];
    const c = new Clock();
    const call = c.callLater(2, () => events.push("x"));
    c.advance(1);
    call.reset(3);
    expect(call.getTime()).toBe(4);
    c.advance(2);
    expect(events).toEqual([]);
    c.advance(1);
    expect(events).toEqual(["x"]);
  });

  it("testCallLaterResetSooner", () => {
    const events: unknown[] = [];
    const c = new Clock();
    const call = c.callLater(4, () => events.push("x"));
    call.reset(3);
    expect(call.getTime()).toBe(3);
    c.advance(3);
    expect(events).toEqual(["x"]);
  });

  it("test_getDelayedCalls: lists the pending calls", () => {
    const c = new Clock();
    const call = c.callLater(1, () => {});
    const call2 = c.callLater(2, () => {});
    expect(new Set(c.getDelayedCalls())).toEqual(new Set([call, call2]));
    call.cancel();
    expect(c.getDelayedCalls()).toEqual([call2]);
  });

  it("test_callLaterKeepsCallsOrdered", () => {
    const result: Array<[string, number]> = [];
    const clock = new Clock();
    const logtime = (n: string) => result.push([n, clock.seconds()]);
    const callA = clock.callLater(1.0, logtime, "a");
    callA.reset(3.0);
    clock.callLater(2.0, logtime, "b");
    clock.pump([1, 1, 1]);
    expect(result).toEqual([
      ["b", 2.0],
      ["a", 3.0],
    ]);
  });

  it("test_callLaterResetKeepsCallsOrdered", () => {
    const result: Array<[string, number]> = [];
    const clock = new Clock();
    const logtime = (n: string) => result.push([n, clock.seconds()]);
    const callA = clock.callLater(1.0, logtime, "a");
    clock.callLater(2.0, logtime, "b");
    callA.reset(3.0);
    clock.pump([1, 1, 1]);
    expect(result).toEqual([
      ["b", 2.0],
      ["a", 3.0],
    ]);
  });

  it("test_callLaterResetInsideCallKeepsCallsOrdered", () => {
    const result: Array<[string, number]> = [];
    const clock = new Clock();
    const logtime = (n: string) => result.push([n, clock.seconds()]);
    const callB = clock.callLater(2.0, logtime, "b");
    clock.callLater(1.0, () => callB.reset(3.0));
    clock.callLater(3.0, logtime, "c");
    clock.pump(new Array(10).fill(0.5));
    expect(result).toEqual([
      ["c", 3.0],
      ["b", 4.0],
    ]);
  });

  it("advance sets the new time first: every call sees the final time", () => {
    const clock = new Clock();
    const seen: number[] = [];
    clock.callLater(1, () => seen.push(clock.seconds()));
    clock.callLater(2, () => seen.push(clock.seconds()));
    clock.advance(5);
    expect(seen).toEqual([5, 5]);
  });

  it("calls scheduled during advance that are due by the new time run in the same advance", () => {
    const clock = new Clock();
    const log: string[] = [];
    clock.callLater(1, () => {
      log.push("first");
      clock.callLater(0, () => log.push("nested, due at 10 <= 10"));
      clock.callLater(0.5, () => log.push("nested, due at 10.5"));
      clock.callLater(20, () => log.push("too late"));
    });
    clock.advance(10);
    expect(log).toEqual(["first", "nested, due at 10 <= 10"]);
    expect(clock.getDelayedCalls()).toHaveLength(2);
  });

  it("equal times run first-scheduled first (FIFO)", () => {
    const clock = new Clock();
    const log: number[] = [];
    for (let i = 0; i < 20; i++) clock.callLater(1, () => log.push(i));
    clock.advance(1);
    expect(log).toEqual([...Array(20).keys()]);
  });

  it("a negative delay is due at the next advance(0)", () => {
    const clock = new Clock();
    const log: string[] = [];
    const call = clock.callLater(-1, () => log.push("ran"));
    expect(call.getTime()).toBe(-1);
    clock.advance(0);
    expect(log).toEqual(["ran"]);
  });

  it("exceptions propagate out of advance; the rest still runs on the next advance", () => {
    const clock = new Clock();
    const log: string[] = [];
    clock.callLater(1, () => {
      throw new Error("from call");
    });
    clock.callLater(1, () => log.push("second"));
    expect(() => clock.advance(1)).toThrow("from call");
    expect(log).toEqual([]);
    clock.advance(0);
    expect(log).toEqual(["second"]);
  });

  it("rejects a NaN delay with InvalidArgumentError", () => {
    const clock = new Clock();
    expect(() => clock.callLater(Number.NaN, () => {})).toThrow(InvalidArgumentError);
    const call = clock.callLater(1, () => {});
    expect(() => call.reset(Number.NaN)).toThrow(InvalidArgumentError);
  });

  it("handles many timers with cancels and resets (heap)", () => {
    const clock = new Clock();
    const ran: number[] = [];
    const calls = [];
    for (let i = 0; i < 10_000; i++)
      calls.push(clock.callLater((i * 7919) % 10_000, () => ran.push(i)));
    for (let i = 0; i < 10_000; i += 3) calls[i]!.cancel();
    for (let i = 1; i < 10_000; i += 3) calls[i]!.reset(20_000 + i);
    clock.advance(10_000);
    const expected = [...Array(10_000).keys()]
      .filter((i) => i % 3 === 2)
      .sort((a, b) => ((a * 7919) % 10_000) - ((b * 7919) % 10_000));
    expect(ran).toEqual(expected);
    ran.length = 0;
    clock.advance(20_000);
    expect(ran).toEqual([...Array(10_000).keys()].filter((i) => i % 3 === 1));
    expect(clock.getDelayedCalls()).toEqual([]);
  });

  it("property: runs exactly what a naive sorted-list model runs, in the same order", () => {
    type Op =
      | { kind: "add"; delay: number }
      | { kind: "cancel"; which: number }
      | { kind: "reset"; which: number; delay: number }
      | { kind: "delay"; which: number; by: number }
      | { kind: "advance"; by: number };
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant("add" as const), delay: fc.integer({ min: -2, max: 10 }) }),
      fc.record({ kind: fc.constant("cancel" as const), which: fc.nat(30) }),
      fc.record({
        kind: fc.constant("reset" as const),
        which: fc.nat(30),
        delay: fc.integer({ min: 0, max: 10 }),
      }),
      fc.record({
        kind: fc.constant("delay" as const),
        which: fc.nat(30),
        by: fc.integer({ min: -3, max: 5 }),
      }),
      fc.record({ kind: fc.constant("advance" as const), by: fc.integer({ min: 0, max: 4 }) }),
    );
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
        const clock = new Clock();
        const ran: Array<[number, number]> = [];
        const calls: ReturnType<Clock["callLater"]>[] = [];
        // Model: a list of {id, time, seq}; due = time <= now, earliest (time, seq) first.
        interface M {
          id: number;
          time: number;
          seq: number;
          live: boolean;
        }
        const model: M[] = [];
        const modelRan: Array<[number, number]> = [];
        let now = 0;
        let seq = 0;
        for (const op of ops) {
          if (op.kind === "add") {
            const id = calls.length;
            calls.push(clock.callLater(op.delay, () => ran.push([id, clock.seconds()])));
            model.push({ id, time: now + op.delay, seq: seq++, live: true });
          } else if (op.kind === "advance") {
            clock.advance(op.by);
            now += op.by;
            for (;;) {
              const due = model
                .filter((m) => m.live && m.time <= now)
                .sort((a, b) => a.time - b.time || a.seq - b.seq);
              const next = due[0];
              if (next === undefined) break;
              next.live = false;
              modelRan.push([next.id, now]);
            }
          } else {
            const m = model[op.which];
            const call = calls[op.which];
            if (m === undefined || call === undefined) continue;
            if (!m.live) {
              expect(call.active()).toBe(false);
              continue;
            }
            if (op.kind === "cancel") {
              call.cancel();
              m.live = false;
            } else if (op.kind === "reset") {
              call.reset(op.delay);
              m.time = now + op.delay;
              m.seq = seq++;
            } else {
              call.delay(op.by);
              m.time += op.by;
              m.seq = seq++;
            }
            expect(call.getTime()).toBe(m.live ? m.time : call.getTime());
          }
        }
        expect(ran).toEqual(modelRan);
        expect(clock.getDelayedCalls().length).toBe(model.filter((m) => m.live).length);
      }),
      { numRuns: 200 },
    );
  });
});

describe("deferLater (Twisted DeferLaterTests)", () => {
  it("test_callback: fires with the function's result after the delay", () => {
    const results: string[] = [];
    const flag = { flag: true };
    const clock = new Clock();
    const d = deferLater(clock, 3, () => {
      results.push("called");
      return flag;
    });
    clock.advance(2);
    expect(results).toEqual([]);
    expect(outcome(d)).toBeNull();
    clock.advance(1);
    expect(results).toEqual(["called"]);
    expect(outcome(d)).toEqual({ ok: true, value: flag });
  });

  it("test_errback: a throwing function errbacks", () => {
    const clock = new Clock();
    const err = new Error("TestException");
    const d = deferLater(clock, 1, () => {
      throw err;
    });
    clock.advance(1);
    expect(outcome(d)).toEqual({ ok: false, error: err });
    d.addErrback(() => undefined);
  });

  it("test_cancel: unschedules the call and errbacks with CancelledError", () => {
    const called: unknown[] = [];
    const clock = new Clock();
    const d = deferLater(clock, 1, () => called.push(null));
    d.cancel();
    const r = outcome(d);
    expect(r?.ok === false && r.error).toBeInstanceOf(CancelledError);
    d.addErrback(() => undefined);
    expect(clock.getDelayedCalls()).toEqual([]);
    clock.advance(5);
    expect(called).toEqual([]);
  });

  it("test_noCallback: fires with undefined without a function", () => {
    const clock = new Clock();
    const d = deferLater(clock, 2.0);
    expect(outcome(d)).toBeNull();
    clock.advance(2.0);
    expect(outcome(d)).toEqual({ ok: true, value: undefined });
  });

  it("a function returning a Promise: the Deferred follows it", async () => {
    const clock = new Clock();
    const d = deferLater(clock, 1, () => Promise.resolve("async"));
    clock.advance(1);
    expect(await d).toBe("async");
  });
});

describe("NodeClock (real time, kept short)", () => {
  it("seconds() is wall-clock seconds", () => {
    const clock = new NodeClock();
    expect(Math.abs(clock.seconds() - Date.now() / 1000)).toBeLessThan(5);
  });

  it("runs a call with its arguments; cancel clears the timer", async () => {
    const clock = new NodeClock();
    const ran: unknown[] = [];
    const d = new Deferred<void>();
    const cancelled = clock.callLater(0, () => ran.push("cancelled"));
    const call = clock.callLater(
      0,
      (a: string, b: number) => {
        ran.push([a, b]);
        d.callback();
      },
      "a",
      1,
    );
    expect(clock.getDelayedCalls()).toHaveLength(2);
    cancelled.cancel();
    expect(clock.getDelayedCalls()).toEqual([call]);
    await d;
    expect(ran).toEqual([["a", 1]]);
    expect(call.called).toBe(true);
    expect(call.active()).toBe(false);
    expect(clock.getDelayedCalls()).toEqual([]);
    expect(() => call.cancel()).toThrow(AlreadyCalledError);
    expect(() => cancelled.cancel()).toThrow(AlreadyCancelledError);
  });

  it("reset/delay move the timer; getTime follows", async () => {
    const clock = new NodeClock({ unref: true });
    const call = clock.callLater(3600, () => {});
    const t0 = call.getTime();
    call.delay(10);
    expect(call.getTime()).toBeCloseTo(t0 + 10, 6);
    const d = new Deferred<string>();
    const soon = clock.callLater(3600, () => d.callback("soon"));
    soon.reset(0);
    expect(await d).toBe("soon");
    call.cancel();
    expect(clock.getDelayedCalls()).toEqual([]);
  });

  it("an exception from a call goes to onError instead of crashing", async () => {
    const errors: unknown[] = [];
    const d = new Deferred<void>();
    const clock = new NodeClock({
      onError: (e) => {
        errors.push(e);
        d.callback();
      },
    });
    clock.callLater(0, () => {
      throw new Error("in timer");
    });
    await d;
    expect((errors[0] as Error).message).toBe("in timer");
  });

  describe("with fake Node timers (deterministic)", () => {
    afterEach(() => {
      vi.useRealTimers();
    });
    const fake = () =>
      vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance", "Date"] });

    it("reset to later keeps one timer and fires at the new time, not the old one", () => {
      fake();
      const clock = new NodeClock();
      const ran: number[] = [];
      const t0 = clock.seconds();
      const call = clock.callLater(1, () => ran.push(clock.seconds() - t0));
      vi.advanceTimersByTime(500);
      call.reset(1); // now due at t0 + 1.5
      expect(vi.getTimerCount()).toBe(1);
      vi.advanceTimersByTime(600); // t0 + 1.1: the original timer expires, re-arms for the rest
      expect(ran).toEqual([]);
      expect(call.active()).toBe(true);
      vi.advanceTimersByTime(390);
      expect(ran).toEqual([]);
      vi.advanceTimersByTime(20);
      expect(ran).toHaveLength(1);
      expect(ran[0]).toBeGreaterThanOrEqual(1.499);
      expect(ran[0]).toBeLessThanOrEqual(1.51);
      expect(vi.getTimerCount()).toBe(0);
    });

    it("reset to sooner and negative delay() re-arm at once", () => {
      fake();
      const clock = new NodeClock();
      const ran: string[] = [];
      const a = clock.callLater(10, () => ran.push("a"));
      const b = clock.callLater(10, () => ran.push("b"));
      a.reset(1);
      b.delay(-8);
      vi.advanceTimersByTime(1000);
      expect(ran).toEqual(["a"]);
      vi.advanceTimersByTime(1000);
      expect(ran).toEqual(["a", "b"]);
      expect(vi.getTimerCount()).toBe(0);
    });

    it("many resets of an idle timeout cause no timer churn and it fires once", () => {
      fake();
      const clock = new NodeClock();
      let fired = 0;
      const call = clock.callLater(5, () => fired++);
      for (let i = 0; i < 100; i++) {
        vi.advanceTimersByTime(100);
        call.reset(5);
      }
      expect(fired).toBe(0);
      expect(vi.getTimerCount()).toBe(1);
      vi.advanceTimersByTime(4990);
      expect(fired).toBe(0);
      vi.advanceTimersByTime(20);
      expect(fired).toBe(1);
    });

    it("delays beyond Node's 2^31-1 ms limit wait in steps, without firing early", () => {
      fake();
      const clock = new NodeClock();
      let fired = 0;
      const days30 = 30 * 24 * 3600;
      clock.callLater(days30, () => fired++);
      vi.advanceTimersByTime(0x7fffffff);
      expect(fired).toBe(0);
      vi.advanceTimersByTime(days30 * 1000 - 0x7fffffff - 10);
      expect(fired).toBe(0);
      vi.advanceTimersByTime(20);
      expect(fired).toBe(1);
    });

    it("cancel clears the Node timer", () => {
      fake();
      const clock = new NodeClock();
      const call = clock.callLater(3, () => {});
      expect(vi.getTimerCount()).toBe(1);
      call.cancel();
      expect(vi.getTimerCount()).toBe(0);
      expect(clock.getDelayedCalls()).toEqual([]);
    });
  });
});
