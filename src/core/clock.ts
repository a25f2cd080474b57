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

  constructor(public _time: number) {}

  getTime(): number {
    return this._time;
  }

  active(): boolean {
    return !(this.called || this.cancelled);
  }

  abstract cancel(): void;
  abstract reset(secondsFromNow: number): void;
  abstract delay(secondsLater: number): void;

  protected _check(): void {
    if (this.cancelled) throw new AlreadyCancelledError("DelayedCall was already cancelled.");
    if (this.called) throw new AlreadyCalledError("DelayedCall was already called.");
  }
}

// ---------------------------------------------------------------------------------------------
// Manual clock

/** A call scheduled on a {@link Clock}. */
class ManualDelayedCall extends BaseDelayedCall {
  /** Position in the clock's heap, -1 when not scheduled. */
  _index = -1;
  /** Tie-breaker: calls due at the same time run in scheduling (or rescheduling) order. */
  _seq = 0;

  constructor(
    private readonly _clock: Clock,
    time: number,
    readonly _run: () => void,
  ) {
    super(time);
  }

  cancel(): void {
    this._check();
    this.cancelled = true;
    this._clock._remove(this);
  }

  reset(secondsFromNow: number): void {
    this._check();
    checkDelay(secondsFromNow);
    this._time = this._clock.seconds() + secondsFromNow;
    this._clock._reschedule(this);
  }

  delay(secondsLater: number): void {
    this._check();
    checkDelay(secondsLater);
    this._time += secondsLater;
    this._clock._reschedule(this);
  }
}

function before(a: ManualDelayedCall, b: ManualDelayedCall): boolean {
  return a._time < b._time || (a._time === b._time && a._seq < b._seq);
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
  private _now = 0;
  private _seq = 0;
  private readonly _heap: ManualDelayedCall[] = [];

  /** The current (fake) time in seconds. */
  seconds(): number {
    return this._now;
  }

  /**
   * Schedule `fn(...args)` at `seconds() + delay` (a negative delay is allowed: due at the next
   * `advance`, even `advance(0)`).
   */
  callLater<A extends unknown[]>(delay: number, fn: (...args: A) => void, ...args: A): DelayedCall {
    checkDelay(delay);
    const call = new ManualDelayedCall(this, this._now + delay, () => fn(...args));
    call._seq = this._seq++;
    this._push(call);
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
    this._now += amount;
    const heap = this._heap;
    while (heap.length > 0 && heap[0]!._time <= this._now) {
      const call = this._pop();
      call.called = true;
      call._run();
    }
  }

  /** `advance` by each amount in turn. */
  pump(timings: Iterable<number>): void {
    for (const t of timings) this.advance(t);
  }

  /** The pending calls, earliest first. */
  getDelayedCalls(): DelayedCall[] {
    return this._heap.slice().sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
  }

  // heap internals ----------------------------------------------------------------------------

  /** @internal */
  _remove(call: ManualDelayedCall): void {
    const i = call._index;
    if (i < 0) return;
    const heap = this._heap;
    const last = heap.pop()!;
    call._index = -1;
    if (i < heap.length) {
      heap[i] = last;
      last._index = i;
      this._siftDown(i);
      this._siftUp(last._index);
    }
  }

  /** @internal */
  _reschedule(call: ManualDelayedCall): void {
    this._remove(call);
    call._seq = this._seq++;
    this._push(call);
  }

  private _push(call: ManualDelayedCall): void {
    call._index = this._heap.length;
    this._heap.push(call);
    this._siftUp(call._index);
  }

  private _pop(): ManualDelayedCall {
    const top = this._heap[0]!;
    this._remove(top);
    return top;
  }

  private _siftUp(i: number): void {
    const heap = this._heap;
    const item = heap[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = heap[p]!;
      if (!before(item, parent)) break;
      heap[i] = parent;
      parent._index = i;
      i = p;
    }
    heap[i] = item;
    item._index = i;
  }

  private _siftDown(i: number): void {
    const heap = this._heap;
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
      child._index = i;
      i = c;
    }
    heap[i] = item;
    item._index = i;
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

class NodeDelayedCall extends BaseDelayedCall {
  private _timer: ReturnType<typeof setTimeout> | null = null;
  /** The timer was shortened to Node's maximum: on expiry, wait for the rest. */
  private _capped = false;
  /** `_time` when the timer was armed; a later `_time` means "moved back lazily". */
  private _armedTime = 0;

  constructor(
    private readonly _clock: NodeClock,
    time: number,
    delaySeconds: number,
    private readonly _fn: (...args: never[]) => void,
    private readonly _args: unknown[],
  ) {
    super(time);
    this._arm(delaySeconds * 1000);
  }

  cancel(): void {
    this._check();
    this.cancelled = true;
    this._disarm();
    this._clock._pending.delete(this);
  }

  reset(secondsFromNow: number): void {
    this._check();
    checkDelay(secondsFromNow);
    this._time = this._clock.seconds() + secondsFromNow;
    this._rearm(secondsFromNow * 1000);
  }

  delay(secondsLater: number): void {
    this._check();
    checkDelay(secondsLater);
    this._time += secondsLater;
    this._rearm((this._time - this._clock.seconds()) * 1000);
  }

  /**
   * Moving a call later keeps the armed timer (it re-arms for the remainder when it expires), so
   * an idle timeout reset on every chunk costs no timer churn (as Twisted's reactor does).
   */
  private _rearm(ms: number): void {
    if (this._timer !== null && !this._capped && this._time >= this._armedTime) return;
    this._arm(ms);
  }

  private _disarm(): void {
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
  }

  private _arm(ms: number): void {
    this._disarm();
    this._armedTime = this._time;
    let wait = ms > 0 ? Math.ceil(ms) : 0; // also maps NaN-free negatives to "now"
    this._capped = wait > MAX_TIMER_MS;
    if (this._capped) wait = MAX_TIMER_MS;
    // A shared top-level callback with the call as argument: no closure per timer.
    this._timer = setTimeout(fireNodeCall, wait, this);
    if (this._clock.unref) this._timer.unref();
  }

  /** @internal */
  _fire(): void {
    this._timer = null;
    if (this._capped || this._time > this._armedTime) {
      // A very long delay, or moved later since armed: wait for the rest (a sub-millisecond rest
      // is rounding, below what Node timers resolve).
      const rest = (this._time - this._clock.seconds()) * 1000;
      if (rest >= 1) {
        this._arm(rest);
        return;
      }
    }
    this.called = true;
    this._clock._pending.delete(this);
    try {
      const args = this._args;
      if (args.length === 0) this._fn();
      else this._fn(...(args as never[]));
    } catch (e) {
      this._clock._onError(e);
    }
  }
}

function fireNodeCall(call: NodeDelayedCall): void {
  call._fire();
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
  /** @internal */
  readonly _pending = new Set<NodeDelayedCall>();
  /** @internal */
  readonly _onError: (error: unknown) => void;

  constructor(options: NodeClockOptions = {}) {
    this.unref = options.unref ?? false;
    this._onError =
      options.onError ??
      ((error: unknown) => console.error("Unhandled error in delayed call:", error));
  }

  /** Current time in seconds since the epoch (fractional, monotonic within the process). */
  seconds(): number {
    return (performance.timeOrigin + performance.now()) / 1000;
  }

  /** Run `fn(...args)` in `delay` seconds. */
  callLater<A extends unknown[]>(delay: number, fn: (...args: A) => void, ...args: A): DelayedCall {
    checkDelay(delay);
    const call = new NodeDelayedCall(
      this,
      this.seconds() + delay,
      delay,
      fn as unknown as (...args: never[]) => void,
      args,
    );
    this._pending.add(call);
    return call;
  }

  /** The pending calls (not yet run nor cancelled). */
  getDelayedCalls(): DelayedCall[] {
    return [...this._pending];
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

  private readonly _fn: (...args: A) => unknown;
  private readonly _args: A;
  private _deferred: Deferred<LoopingCall<A>> | null = null;
  private _runAtStart = false;
  private _realLastTime: number | null = null;

  constructor(fn: (...args: A) => unknown, ...args: A) {
    this._fn = fn;
    this._args = args;
  }

  /**
   * A LoopingCall that passes `fn` the number of intervals elapsed since its previous call (1
   * normally, more when calls were skipped; always 1 with interval 0).
   */
  static withCount(fn: (count: number) => unknown): LoopingCall<[]> {
    const lc: LoopingCall<[]> = new LoopingCall(() => lc._counted(fn));
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
    this._deferred = d;
    this.starttime = this.clock.seconds();
    this.interval = intervalSeconds;
    this._runAtStart = now;
    this._realLastTime = null;
    if (now) this._tick();
    else this._scheduleFrom(this.starttime);
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
      const d = this._deferred!;
      this._deferred = null;
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
      this._scheduleFrom(this.starttime);
    }
  }

  private _tick(): void {
    this.call = null;
    const d = maybeDeferred(this._fn, ...this._args);
    d.addCallbacks(
      () => {
        if (this.running) {
          this._scheduleFrom(this.clock.seconds());
        } else {
          const done = this._deferred!;
          this._deferred = null;
          done.callback(this);
        }
      },
      (error) => {
        this.running = false;
        const done = this._deferred!;
        this._deferred = null;
        done.errback(error);
      },
    );
  }

  private _scheduleFrom(when: number): void {
    this.call = this.clock.callLater(this._howLong(when), () => this._tick());
  }

  private _howLong(when: number): number {
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

  private _intervalOf(t: number): number {
    return Math.trunc((t - this.starttime!) / this.interval!);
  }

  private _counted(fn: (count: number) => unknown): unknown {
    const now = this.clock.seconds();
    if (this.interval === 0) {
      this._realLastTime = now;
      return fn(1);
    }
    let lastTime = this._realLastTime;
    if (lastTime === null) {
      lastTime = this.starttime!;
      if (this._runAtStart) lastTime -= this.interval!;
    }
    const count = this._intervalOf(now) - this._intervalOf(lastTime);
    if (count > 0) {
      this._realLastTime = now;
      return fn(count);
    }
    return undefined;
  }
}
