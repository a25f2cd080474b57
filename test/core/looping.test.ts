import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { Clock, LoopingCall, LoopingCallStateError, NodeClock } from "../../src/core/clock.js";
import { Deferred, flushUnhandledErrors } from "../../src/core/deferred.js";
import { InvalidArgumentError } from "../../src/core/errors.js";
import { outcome } from "./outcome.js";

afterEach(() => {
  expect(flushUnhandledErrors()).toEqual([]);
});

/** A LoopingCall on a manual clock (Twisted's TestableLoopingCall). */
function testable<A extends unknown[]>(
  clock: Clock,
  fn: (...args: A) => unknown,
  ...args: A
): LoopingCall<A> {
  const lc = new LoopingCall(fn, ...args);
  lc.clock = clock;
  return lc;
}

/**
 * A `withCount` LoopingCall on a new manual clock that records each count; its `k`-th call returns
 * the pending Deferred `blocker`, every other call returns nothing.
 */
function countingBlockedAt(k: number): {
  clock: Clock;
  blocker: Deferred<void>;
  counts: number[];
  loop: LoopingCall<[]>;
} {
  const clock = new Clock();
  const blocker = new Deferred<void>();
  const counts: number[] = [];
  const loop = LoopingCall.withCount((n) => {
    counts.push(n);
    return counts.length === k ? blocker : undefined;
  });
  loop.clock = clock;
  return { clock, blocker, counts, loop };
}

describe("LoopingCall (Twisted LoopTests)", () => {
  it("test_defaultClock: defaults to a real NodeClock", () => {
    expect(new LoopingCall(() => {}).clock).toBeInstanceOf(NodeClock);
  });

  it("test_callbackTimeSkips: time passing inside the call skips to the next future slot", () => {
    const times: number[] = [];
    let callDuration = 0;
    const clock = new Clock();
    const call = testable(clock, () => {
      times.push(clock.seconds());
      clock.advance(callDuration);
    });
    callDuration = 2;
    call.start(0.5);
    expect(times).toEqual([0]);
    expect(clock.seconds()).toBe(callDuration);
    clock.advance(0);
    expect(times).toEqual([0]);
    callDuration = 1;
    clock.advance(0.5);
    expect(times).toEqual([0, 2.5]);
    expect(clock.seconds()).toBe(3.5);
    clock.advance(0);
    expect(times).toEqual([0, 2.5]);
    callDuration = 0;
    clock.advance(0.5);
    expect(times).toEqual([0, 2.5, 4]);
    expect(clock.seconds()).toBe(4);
  });

  it("test_reactorTimeSkips: missed intervals are not replayed", () => {
    const times: number[] = [];
    const clock = new Clock();
    const call = testable(clock, () => times.push(clock.seconds()));
    call.start(0.5);
    expect(times).toEqual([0]);
    clock.advance(2);
    expect(times).toEqual([0, 2]);
    clock.advance(1);
    expect(times).toEqual([0, 2, 3]);
    clock.advance(0);
    expect(times).toEqual([0, 2, 3]);
  });

  it("the grid is aligned on the start time (from t=2, advance 3.5 → one call at 5.5, next at 6.0)", () => {
    const clock = new Clock();
    clock.advance(2);
    const times: number[] = [];
    const call = testable(clock, () => times.push(clock.seconds()));
    call.start(1, false);
    clock.advance(3.5);
    expect(times).toEqual([5.5]);
    expect(call.call?.getTime()).toBe(6);
    clock.advance(0.5);
    expect(times).toEqual([5.5, 6]);
    call.stop();
  });

  it("test_reactorTimeCountSkips: withCount reports the intervals elapsed", () => {
    const times: Array<[number, number]> = [];
    const clock = new Clock();
    const call = LoopingCall.withCount((n) => times.push([clock.seconds(), n]));
    call.clock = clock;
    const INTERVAL = 0.5;
    const REALISTIC_DELAY = 0.01;
    call.start(INTERVAL);
    expect(times).toEqual([[0, 1]]);
    clock.advance(INTERVAL + REALISTIC_DELAY);
    expect(times).toEqual([
      [0, 1],
      [INTERVAL + REALISTIC_DELAY, 1],
    ]);
    clock.advance(3 * INTERVAL + REALISTIC_DELAY);
    const expected: Array<[number, number]> = [
      [0, 1],
      [INTERVAL + REALISTIC_DELAY, 1],
      [4 * INTERVAL + 2 * REALISTIC_DELAY, 3],
    ];
    expect(times).toEqual(expected);
    clock.advance(0);
    expect(times).toEqual(expected);
  });

  it("test_countLengthyIntervalCounts: a late call does not increase the count", () => {
    const times: Array<[number, number]> = [];
    const clock = new Clock();
    const call = LoopingCall.withCount((n) => times.push([clock.seconds(), n]));
    call.clock = clock;
    const INTERVAL = 0.5;
    const REALISTIC_DELAY = 0.01;
    call.start(INTERVAL);
    expect(times.pop()).toEqual([0, 1]);
    clock.advance(INTERVAL + REALISTIC_DELAY);
    expect(times.pop()).toEqual([INTERVAL + REALISTIC_DELAY, 1]);
    clock.advance(INTERVAL * 1.75);
    expect(times.pop()).toEqual([2.75 * INTERVAL + REALISTIC_DELAY, 1]);
    clock.advance(INTERVAL * 0.25);
    expect(times.pop()).toEqual([3.0 * INTERVAL + REALISTIC_DELAY, 1]);
  });

  it("test_withCountFloatingPointBoundary: never a count of 0, counts sum to the intervals", () => {
    const clock = new Clock();
    const acc: number[] = [];
    const call = LoopingCall.withCount((n) => acc.push(n));
    call.clock = clock;
    const count = 10;
    const timespan = 1.0;
    const interval = timespan / count;
    call.start(interval, false);
    for (let x = 0; x < count; x++) clock.advance(interval);
    const epsilon =
      timespan - new Array(count).fill(interval).reduce((a: number, b: number) => a + b, 0);
    clock.advance(epsilon);
    expect(Math.abs(epsilon)).toBeGreaterThan(0);
    expect(clock.seconds()).toBeGreaterThanOrEqual(timespan);
    expect(acc.reduce((a, b) => a + b, 0)).toBe(count);
    expect(acc).not.toContain(0);
  });

  it("test_withCountIntervalZero: count is always 1", () => {
    const clock = new Clock();
    const acc: number[] = [];
    const loop = LoopingCall.withCount((n) => {
      acc.push(n);
      if (acc.length > 4) loop.stop();
    });
    loop.clock = clock;
    const d = loop.start(0, false);
    clock.advance(0);
    expect(outcome(d)).toEqual({ ok: true, value: loop });
    expect(acc).toEqual([1, 1, 1, 1, 1]);
  });

  it("test_withCountIntervalZeroDelay: a pending Deferred blocks the loop, then it continues", () => {
    const clock = new Clock();
    const deferred = new Deferred<void>();
    const acc: number[] = [];
    const loop = LoopingCall.withCount((n) => {
      acc.push(n);
      if (acc.length === 2) return deferred;
      if (acc.length > 4) loop.stop();
      return undefined;
    });
    loop.clock = clock;
    loop.start(0, false);
    clock.advance(0);
    expect(acc).toEqual([1, 1]);
    clock.advance(2);
    expect(acc).toEqual([1, 1]);
    deferred.callback();
    clock.advance(0);
    expect(acc).toEqual([1, 1, 1, 1, 1]);
  });

  it("test_withCountIntervalZeroDelayThenNonZeroInterval", () => {
    const { clock, blocker: deferred, counts: acc, loop } = countingBlockedAt(2);
    loop.start(0, false);
    clock.advance(10);
    expect(acc).toEqual([1, 1]);
    loop.interval = 2;
    deferred.callback();
    clock.advance(7);
    expect(acc).toEqual([1, 1, 3]);
    clock.advance(2);
    expect(acc).toEqual([1, 1, 3, 1]);
    clock.advance(4);
    expect(acc).toEqual([1, 1, 3, 1, 2]);
    loop.stop();
  });

  it("testBasicFunction: passes arguments; stop fires the start Deferred with the LoopingCall", () => {
    const clock = new Clock();
    const L: Array<[string, string]> = [];
    const lc = testable(clock, (a: string, b: string) => L.push([a, b]), "a", "b");
    const D = lc.start(0.1);
    const theResult: unknown[] = [];
    D.addCallback((r) => theResult.push(r));
    clock.pump([0.05, 0.1, 0.1]);
    expect(L).toEqual([
      ["a", "b"],
      ["a", "b"],
      ["a", "b"],
    ]);
    expect(lc.running).toBe(true);
    lc.stop();
    expect(lc.running).toBe(false);
    expect(theResult[0]).toBe(lc);
    expect(clock.getDelayedCalls()).toEqual([]);
  });

  it("testDelayedStart: now=false waits one interval", () => {
    const clock = new Clock();
    const L: unknown[] = [];
    const lc = testable(clock, (x: null) => L.push(x), null);
    const d = lc.start(0.1, false);
    const theResult: unknown[] = [];
    d.addCallback((r) => theResult.push(r));
    clock.pump([0.05, 0.1, 0.1]);
    expect(L).toHaveLength(2);
    lc.stop();
    expect(theResult[0]).toBe(lc);
    expect(clock.getDelayedCalls()).toEqual([]);
  });

  it("testBadDelay: a negative interval raises InvalidArgumentError", () => {
    const lc = new LoopingCall(() => {});
    expect(() => lc.start(-1)).toThrow(InvalidArgumentError);
    expect(() => lc.start(Number.NaN)).toThrow(InvalidArgumentError);
    expect(lc.running).toBe(false);
  });

  for (const [name, delay] of [
    ["testStopAtOnce", 0],
    ["testStoppingBeforeDelayedStart", 10],
  ] as const) {
    it(`${name}: stop() before the first call prevents any call`, () => {
      const ran: unknown[] = [];
      const clock = new Clock();
      const lc = testable(clock, () => ran.push(null));
      const d = lc.start(delay, false);
      lc.stop();
      expect(ran).toEqual([]);
      expect(clock.getDelayedCalls()).toEqual([]);
      expect(outcome(d)).toEqual({ ok: true, value: lc });
      clock.advance(100);
      expect(ran).toEqual([]);
    });
  }

  it("test_reset: reset skips the next iteration and restarts the interval from now", () => {
    const ran: unknown[] = [];
    const c = new Clock();
    const lc = testable(c, () => ran.push(null));
    lc.start(2, false);
    c.advance(1);
    lc.reset();
    c.advance(1);
    expect(ran).toEqual([]);
    c.advance(1);
    expect(ran).toEqual([null]);
    lc.stop();
  });

  it("start on a running loop, stop/reset on a stopped one raise LoopingCallStateError", () => {
    const clock = new Clock();
    const lc = testable(clock, () => {});
    expect(() => lc.stop()).toThrow(LoopingCallStateError);
    expect(() => lc.reset()).toThrow(LoopingCallStateError);
    lc.start(1);
    try {
      lc.start(1);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(LoopingCallStateError);
      expect((e as LoopingCallStateError).code).toBe("ERR_LOOPING_CALL_STATE");
    }
    lc.stop();
  });

  it("can be restarted after stop", () => {
    const clock = new Clock();
    const ran: number[] = [];
    const lc = testable(clock, () => ran.push(clock.seconds()));
    lc.start(1);
    lc.stop();
    clock.advance(10);
    lc.start(1, false);
    clock.advance(1);
    expect(ran).toEqual([0, 11]);
    lc.stop();
  });

  it("testFailure: a throw stops the loop and errbacks the start Deferred", () => {
    const clock = new Clock();
    const err = new Error("TestException bar");
    const lc = testable(
      clock,
      (x: string) => {
        throw new Error(`TestException ${x}`);
      },
      "bar",
    );
    const d = lc.start(0.1);
    expect(lc.running).toBe(false);
    const r = outcome(d);
    expect(r?.ok === false && r.error.message).toBe(err.message);
    expect(clock.getDelayedCalls()).toEqual([]);
    d.addErrback(() => undefined);
  });

  it("testFailAndStop: stop() then throw inside the call still errbacks", () => {
    const clock = new Clock();
    const lc: LoopingCall<[string]> = testable(
      clock,
      (x: string) => {
        lc.stop();
        throw new Error(`TestException ${x}`);
      },
      "bar",
    );
    const d = lc.start(0.1);
    const r = outcome(d);
    expect(r?.ok === false && r.error.message).toBe("TestException bar");
    d.addErrback(() => undefined);
  });

  it("testEveryIteration: interval 0 runs as fast as the clock allows", () => {
    const clock = new Clock();
    const ran: unknown[] = [];
    const lc: LoopingCall = testable(clock, () => {
      ran.push(null);
      if (ran.length > 5) lc.stop();
    });
    const d = lc.start(0);
    clock.advance(0);
    expect(ran).toHaveLength(6);
    expect(outcome(d)).toEqual({ ok: true, value: lc });
  });

  it("testWaitDeferred: the next call waits for the returned Deferred", () => {
    const clock = new Clock();
    let calls = 0;
    const lc: LoopingCall = testable(clock, () => {
      calls++;
      const d = new Deferred<void>();
      d.addCallback(() => lc.stop());
      clock.callLater(1, () => d.callback());
      return d;
    });
    const started = lc.start(0.2);
    clock.pump([0.2, 0.8]);
    expect(calls).toBe(1);
    expect(clock.getDelayedCalls()).toEqual([]);
    expect(outcome(started)).toEqual({ ok: true, value: lc });
  });

  it("waits for a returned Promise too", async () => {
    const clock = new Clock();
    let resolve!: () => void;
    let calls = 0;
    const lc = testable(clock, () => {
      calls++;
      return new Promise<void>((r) => (resolve = r));
    });
    lc.start(1);
    clock.advance(5);
    expect(calls).toBe(1);
    expect(clock.getDelayedCalls()).toEqual([]);
    resolve();
    await Promise.resolve();
    await Promise.resolve();
    expect(clock.getDelayedCalls()).toHaveLength(1);
    clock.advance(1);
    expect(calls).toBe(2);
    lc.stop();
  });

  it("stop() while the returned Deferred is pending fires the start Deferred when it settles", () => {
    const clock = new Clock();
    const pending = new Deferred<void>();
    const lc = testable(clock, () => pending);
    const d = lc.start(1);
    lc.stop();
    expect(outcome(d)).toBeNull();
    pending.callback();
    expect(outcome(d)).toEqual({ ok: true, value: lc });
    expect(clock.getDelayedCalls()).toEqual([]);
  });

  it("testFailurePropagation: a failed returned Deferred errbacks the start Deferred", () => {
    const clock = new Clock();
    const err = new Error("TestException");
    const lc = testable(clock, () => {
      const d = new Deferred<void>();
      clock.callLater(0.3, () => d.errback(err));
      return d;
    });
    const d = lc.start(1);
    clock.pump([0.3]);
    expect(clock.getDelayedCalls()).toEqual([]);
    expect(outcome(d)).toEqual({ ok: false, error: err });
    expect(lc.running).toBe(false);
    d.addErrback(() => undefined);
  });

  it("test_deferredWithCount: skipped calls while a Deferred is pending are counted", () => {
    const { clock: testClock, blocker: d, counts, loop: lc } = countingBlockedAt(1);
    lc.start(0.2, false);
    expect(counts).toEqual([]);
    testClock.pump([0.2, 0.4]);
    expect(counts).toHaveLength(1);
    d.callback();
    testClock.pump([0.2]);
    expect(counts).toEqual([1, 3]);
    lc.stop();
  });

  it("property: calls land exactly on the grid points not yet passed", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.integer({ min: 0, max: 12 }), { maxLength: 20 }),
        (interval, steps) => {
          const clock = new Clock();
          const times: number[] = [];
          const lc = testable(clock, () => times.push(clock.seconds()));
          lc.start(interval);
          const expected = [0];
          let now = 0;
          for (const s of steps) {
            clock.advance(s);
            const before = now;
            now += s;
            // One call per advance that crosses at least one grid point after the previous time.
            if (Math.floor(now / interval) > Math.floor(before / interval)) expected.push(now);
          }
          expect(times).toEqual(expected);
          lc.stop();
          expect(clock.getDelayedCalls()).toEqual([]);
        },
      ),
      { numRuns: 200 },
    );
  });
});
