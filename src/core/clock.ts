/**
 * Time: `Clock` (a manual clock for tests, Twisted's `task.Clock`), `NodeClock` (real time on Node
 * timers) and `LoopingCall` (Twisted's `task.LoopingCall`). All times are in seconds (floats).
 */
import { Deferred, maybeDeferred } from "./deferred.js";
import {
  AlreadyCalledError,
  AlreadyCancelledError,
  InvalidArgumentError,
  WeftError,
} from "./errors.js";
import type { DelayedCall, ReactorTime } from "./interfaces.js";

function checkDelay(delay: number): void {
  if (typeof delay !== "number" || Number.isNaN(delay)) {
    throw new InvalidArgumentError(`delay must be a number of seconds, got ${String(delay)}`);
  }
}

/** The state, time and checks of a delayed call, on either clock. */
abstract class BaseDelayedCall implements DelayedCall {
  called = false;
  cancelled = false;

  /** When the call is due, in the clock's seconds (read by the clock that schedules it). */
  constructor(public time: number) {}

  getTime(): number {
    return this.time;
  }

  active(): boolean {
    return !(this.called || this.cancelled);
  }

  abstract cancel(): void;
  abstract reset(secondsFromNow: number): void;
  abstract delay(secondsLater: number): void;

  protected check(): void {
    if (this.cancelled) throw new AlreadyCancelledError("DelayedCall was already cancelled.");
    if (this.called) throw new AlreadyCalledError("DelayedCall was already called.");
  }
}

// ---------------------------------------------------------------------------------------------
// Manual clock

/** A call scheduled on a {@link Clock}. */
class ManualDelayedCall extends BaseDelayedCall {
  /** Position in the clock's heap, -1 when not scheduled. */
  index = -1;
  /** Tie-breaker: calls due at the same time run in scheduling (or rescheduling) order. */
  seq = 0;
  readonly #heap: CallHeap;
  readonly #clock: ReactorTime;

  constructor(
    heap: CallHeap,
    clock: ReactorTime,
    time: number,
    readonly run: () => void,
  ) {
    super(time);
    this.#heap = heap;
    this.#clock = clock;
  }

  cancel(): void {
    this.check();
    this.cancelled = true;
    this.#heap.remove(this);
  }

  reset(secondsFromNow: number): void {
    this.check();
    checkDelay(secondsFromNow);
    this.time = this.#clock.seconds() + secondsFromNow;
    this.#heap.reschedule(this);
  }

  delay(secondsLater: number): void {
    this.check();
    checkDelay(secondsLater);
    this.time += secondsLater;
    this.#heap.reschedule(this);
  }
}

function before(a: ManualDelayedCall, b: ManualDelayedCall): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}

/** The pending calls of a {@link Clock}: a binary heap keyed by (time, scheduling order). */
class CallHeap {
  readonly items: ManualDelayedCall[] = [];
  #seq = 0;

  /** The earliest call, if any. */
  peek(): ManualDelayedCall | undefined {
    return this.items[0];
  }

  push(call: ManualDelayedCall): void {
    call.seq = this.#seq++;
    call.index = this.items.length;
    this.items.push(call);
    this.#siftUp(call.index);
  }

  pop(): ManualDelayedCall | undefined {
    const top = this.items[0];
    if (top !== undefined) this.remove(top);
    return top;
  }

  remove(call: ManualDelayedCall): void {
    const i = call.index;
    if (i < 0) return;
    const heap = this.items;
    const last = heap.pop()!;
    call.index = -1;
    if (i < heap.length) {
      heap[i] = last;
      last.index = i;
      this.#siftDown(i);
      this.#siftUp(last.index);
    }
  }

  /** After a call's time changed: it counts as scheduled now among calls due at the same time. */
  reschedule(call: ManualDelayedCall): void {
    this.remove(call);
    this.push(call);
  }

  #siftUp(i: number): void {
    const heap = this.items;
    const item = heap[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = heap[p]!;
      if (!before(item, parent)) break;
      heap[i] = parent;
      parent.index = i;
      i = p;
    }
    heap[i] = item;
    item.index = i;
  }

  #siftDown(i: number): void {
    const heap = this.items;
    const n = heap.length;
    const item = heap[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && before(heap[r]!, heap[l]!)) c = r;
      const child = heap[c]!;
      if (!before(child, item)) break;
      heap[i] = child;
      child.index = i;
      i = c;
    }
    heap[i] = item;
    item.index = i;
  }
}

/**
 * A manual clock for deterministic tests (Twisted's `task.Clock`). Time starts at 0 and moves only
 * through `advance`/`pump`. Pending calls live in a binary heap keyed by (time, scheduling order),
 * so many timers stay cheap.
 *
 * Ordering: calls due at the same time run first-scheduled first. A call moved by `reset`/`delay`
 * counts as scheduled at that moment (Twisted's list-based Clock keeps a rescheduled call's old
 * position among equal times; no Twisted test depends on that tie).
 */
export class Clock implements ReactorTime {
  #now = 0;
  readonly #heap = new CallHeap();

  /** The current (fake) time in seconds. */
  seconds(): number {
    return this.#now;
  }

  /**
   * Schedule `fn(...args)` at `seconds() + delay` (a negative delay is allowed: due at the next
   * `advance`, even `advance(0)`).
   */
  callLater<A extends unknown[]>(delay: number, fn: (...args: A) => void, ...args: A): DelayedCall {
    checkDelay(delay);
    const call = new ManualDelayedCall(this.#heap, this, this.#now + delay, () => fn(...args));
    this.#heap.push(call);
    return call;
  }

  /**
   * Move time forward by `amount` seconds, **first** setting the new time, then running every call
   * due by then, earliest first, including calls scheduled meanwhile that are due by the new time
   * (they all see `seconds()` equal to the new time). An exception from a call propagates out of
   * `advance`; the remaining due calls run on the next `advance`.
   */
  advance(amount: number): void {
    checkDelay(amount);
    this.#now += amount;
    const heap = this.#heap;
    for (let next = heap.peek(); next !== undefined && next.time <= this.#now; next = heap.peek()) {
      heap.pop();
      next.called = true;
      next.run();
    }
  }

  /** `advance` by each amount in turn. */
  pump(timings: Iterable<number>): void {
    for (const t of timings) this.advance(t);
  }

  /** The pending calls, earliest first. */
  getDelayedCalls(): DelayedCall[] {
    return this.#heap.items.slice().sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
  }
}

// ---------------------------------------------------------------------------------------------
// Real clock

/** Node's timers overflow above 2^31-1 ms; longer delays are waited for in steps. */
const MAX_TIMER_MS = 0x7fffffff;

/** Options of {@link NodeClock}. */
export interface NodeClockOptions {
  /** `unref()` every timer so pending calls don't keep the process alive. Default false. */
  unref?: boolean;
  /**
   * Told about an exception thrown by a scheduled call (a throw must not crash the process).
   * Default: `console.error("Unhandled error in delayed call:", error)`.
   */
  onError?: (error: unknown) => void;
}

/** What the calls of one {@link NodeClock} share with it. */
interface TimerHost {
  readonly unref: boolean;
  /** The calls neither run nor cancelled. */
  readonly pending: Set<DelayedCall>;
  onError(error: unknown): void;
  seconds(): number;
}

class NodeDelayedCall<A extends unknown[]> extends BaseDelayedCall {
  #timer: ReturnType<typeof setTimeout> | null = null;
  /** The timer was shortened to Node's maximum: on expiry, wait for the rest. */
  #capped = false;
  /** `time` when the timer was armed; a later `time` means "moved back lazily". */
  #armedTime = 0;
  readonly #host: TimerHost;
  readonly #fn: (...args: A) => void;
  readonly #args: A;

  /** A shared top-level timer callback with the call as argument: no closure per timer. */
  static readonly #fire = <B extends unknown[]>(call: NodeDelayedCall<B>): void => call.#fired();

  constructor(
    host: TimerHost,
    time: number,
    delaySeconds: number,
    fn: (...args: A) => void,
    args: A,
  ) {
    super(time);
    this.#host = host;
    this.#fn = fn;
    this.#args = args;
    this.#arm(delaySeconds * 1000);
  }

  cancel(): void {
    this.check();
    this.cancelled = true;
    this.#disarm();
    this.#host.pending.delete(this);
  }

  reset(secondsFromNow: number): void {
    this.check();
    checkDelay(secondsFromNow);
    this.time = this.#host.seconds() + secondsFromNow;
    this.#rearm(secondsFromNow * 1000);
  }

  delay(secondsLater: number): void {
    this.check();
    checkDelay(secondsLater);
    this.time += secondsLater;
    this.#rearm((this.time - this.#host.seconds()) * 1000);
  }

  /**
   * Moving a call later keeps the armed timer (it re-arms for the remainder when it expires), so
   * an idle timeout reset on every chunk costs no timer churn (as Twisted's reactor does).
   */
  #rearm(ms: number): void {
    if (this.#timer !== null && !this.#capped && this.time >= this.#armedTime) return;
    this.#arm(ms);
  }

  #disarm(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
  }

  #arm(ms: number): void {
    this.#disarm();
    this.#armedTime = this.time;
    let wait = ms > 0 ? Math.ceil(ms) : 0; // also maps NaN-free negatives to "now"
    this.#capped = wait > MAX_TIMER_MS;
    if (this.#capped) wait = MAX_TIMER_MS;
    this.#timer = setTimeout(NodeDelayedCall.#fire, wait, this);
    if (this.#host.unref) this.#timer.unref();
  }

  #fired(): void {
    this.#timer = null;
    if (this.#capped || this.time > this.#armedTime) {
      // A very long delay, or moved later since armed: wait for the rest (a sub-millisecond rest
      // is rounding, below what Node timers resolve).
      const rest = (this.time - this.#host.seconds()) * 1000;
      if (rest >= 1) {
        this.#arm(rest);
        return;
      }
    }
    this.called = true;
    this.#host.pending.delete(this);
    try {
      this.#fn(...this.#args);
    } catch (e) {
      this.#host.onError(e);
    }
  }
}

/**
 * Real time (Twisted's reactor time): `seconds()` is wall-clock time in seconds, derived from the
 * monotonic `performance.now()`; each `callLater` is one Node timer, moved by `reset`/`delay` and
 * cleared by `cancel` (no leaked timers). A negative delay runs as soon as possible. An exception
 * thrown by a call goes to `onError` instead of crashing the process.
 */
export class NodeClock implements ReactorTime {
  /** Whether timers are unref'd (see {@link NodeClockOptions.unref}). */
  readonly unref: boolean;
  readonly #host: TimerHost;

  constructor(options: NodeClockOptions = {}) {
    this.unref = options.unref ?? false;
    this.#host = {
      unref: this.unref,
      pending: new Set(),
      onError:
        options.onError ??
        ((error: unknown) => console.error("Unhandled error in delayed call:", error)),
      seconds: () => this.seconds(),
    };
  }

  /** Current time in seconds since the epoch (fractional, monotonic within the process). */
  seconds(): number {
    return (performance.timeOrigin + performance.now()) / 1000;
  }

  /** Run `fn(...args)` in `delay` seconds. */
  callLater<A extends unknown[]>(delay: number, fn: (...args: A) => void, ...args: A): DelayedCall {
    checkDelay(delay);
    const call = new NodeDelayedCall(this.#host, this.seconds() + delay, delay, fn, args);
    this.#host.pending.add(call);
    return call;
  }

  /** The pending calls (not yet run nor cancelled). */
  getDelayedCalls(): DelayedCall[] {
    return [...this.#host.pending];
  }
}

// ---------------------------------------------------------------------------------------------
// LoopingCall

/** `start` on a running LoopingCall, or `stop`/`reset` on a stopped one. */
export class LoopingCallStateError extends WeftError {
  constructor(message: string) {
    super("ERR_LOOPING_CALL_STATE", message);
  }
}

/**
 * Call a function repeatedly (Twisted's `task.LoopingCall`). Calls are aligned to a grid starting
 * at the start time: after a slow call or a time jump, missed intervals are skipped, not replayed.
 * If the function returns a Deferred/PromiseLike, the next call is scheduled only after it settles.
 * A throw or a failure stops the loop and errbacks the Deferred `start` returned; `stop()` fires it
 * with the LoopingCall itself.
 */
export class LoopingCall<A extends unknown[] = []> {
  /** The time source; set it (e.g. to a test {@link Clock}) before `start`. Default: a NodeClock. */
  clock: ReactorTime = new NodeClock();
  /** True from `start` until `stop` or a failure. */
  running = false;
  /** The interval in seconds given to `start`, or null before. */
  interval: number | null = null;
  /** The time the current grid starts at (set by `start` and `reset`). */
  starttime: number | null = null;
  /** The scheduled next call, if any (null while the function's Deferred is pending). */
  call: DelayedCall | null = null;

  readonly #fn: (...args: A) => unknown;
  readonly #args: A;
  #deferred: Deferred<LoopingCall<A>> | null = null;
  #runAtStart = false;
  #realLastTime: number | null = null;

  constructor(fn: (...args: A) => unknown, ...args: A) {
    this.#fn = fn;
    this.#args = args;
  }

  /**
   * A LoopingCall that passes `fn` the number of intervals elapsed since its previous call (1
   * normally, more when calls were skipped; always 1 with interval 0).
   */
  static withCount(fn: (count: number) => unknown): LoopingCall<[]> {
    const lc: LoopingCall<[]> = new LoopingCall(() => lc.#counted(fn));
    return lc;
  }

  /**
   * Start calling every `intervalSeconds` (0 = as often as possible, through `callLater(0)`).
   * With `now` (default true) the first call happens synchronously inside `start`. Returns a
   * Deferred fired with this LoopingCall by `stop()`, or failed with the function's error.
   * Throws `InvalidArgumentError` for a negative interval, `LoopingCallStateError` if running.
   */
  start(intervalSeconds: number, now = true): Deferred<LoopingCall<A>> {
    if (this.running)
      throw new LoopingCallStateError("Tried to start an already running LoopingCall.");
    if (typeof intervalSeconds !== "number" || !(intervalSeconds >= 0)) {
      throw new InvalidArgumentError(`interval must be >= 0, got ${String(intervalSeconds)}`);
    }
    this.running = true;
    const d = new Deferred<LoopingCall<A>>();
    this.#deferred = d;
    this.starttime = this.clock.seconds();
    this.interval = intervalSeconds;
    this.#runAtStart = now;
    this.#realLastTime = null;
    if (now) this.#tick();
    else this.#scheduleFrom(this.starttime);
    return d;
  }

  /**
   * Stop looping. Fires the `start` Deferred with this LoopingCall now, or, if the function's
   * Deferred is still pending, when it settles. Throws `LoopingCallStateError` if not running.
   */
  stop(): void {
    if (!this.running)
      throw new LoopingCallStateError("Tried to stop a LoopingCall that was not running.");
    this.running = false;
    if (this.call !== null) {
      this.call.cancel();
      this.call = null;
      const d = this.#deferred!;
      this.#deferred = null;
      d.callback(this);
    }
  }

  /** Skip the next call and restart the interval grid from now. Throws if not running. */
  reset(): void {
    if (!this.running)
      throw new LoopingCallStateError("Tried to reset a LoopingCall that was not running.");
    if (this.call !== null) {
      this.call.cancel();
      this.call = null;
      this.starttime = this.clock.seconds();
      this.#scheduleFrom(this.starttime);
    }
  }

  #tick(): void {
    this.call = null;
    const d = maybeDeferred(this.#fn, ...this.#args);
    d.addCallbacks(
      () => {
        if (this.running) {
          this.#scheduleFrom(this.clock.seconds());
        } else {
          const done = this.#deferred!;
          this.#deferred = null;
          done.callback(this);
        }
      },
      (error) => {
        this.running = false;
        const done = this.#deferred!;
        this.#deferred = null;
        done.errback(error);
      },
    );
  }

  #scheduleFrom(when: number): void {
    this.call = this.clock.callLater(this.#howLong(when), () => this.#tick());
  }

  #howLong(when: number): number {
    const interval = this.interval!;
    if (interval === 0) return 0;
    const runningFor = when - this.starttime!;
    let phase = runningFor % interval;
    if (phase < 0) phase += interval; // clock moved backwards: keep Python's modulo sign
    const untilNext = interval - phase;
    // If the remaining time is too small to change `when`, move on to the next grid point.
    if (when === when + untilNext) return interval;
    return untilNext;
  }

  #intervalOf(t: number): number {
    return Math.trunc((t - this.starttime!) / this.interval!);
  }

  #counted(fn: (count: number) => unknown): unknown {
    const now = this.clock.seconds();
    if (this.interval === 0) {
      this.#realLastTime = now;
      return fn(1);
    }
    let lastTime = this.#realLastTime;
    if (lastTime === null) {
      lastTime = this.starttime!;
      if (this.#runAtStart) lastTime -= this.interval!;
    }
    const count = this.#intervalOf(now) - this.#intervalOf(lastTime);
    if (count > 0) {
      this.#realLastTime = now;
      return fn(count);
    }
    return undefined;
  }
}
