/**
 * Concurrency primitives for event-driven code (Twisted's `DeferredLock`, `DeferredSemaphore`,
 * `DeferredQueue`): each hands out Deferreds that fire when the resource is there.
 */
import { Deferred, maybeDeferred, succeed } from "./deferred.js";
import { InvalidArgumentError, WeftError } from "./errors.js";

/** `release()` of a lock/semaphore that is not held (Twisted asserts). */
export class LockStateError extends WeftError {
  constructor(message: string) {
    super("ERR_LOCK_STATE", message);
  }
}

/** `DeferredQueue.put` on a full queue (Twisted's `QueueOverflow`). */
export class QueueOverflow extends WeftError {
  constructor(message = "Queue is full.") {
    super("ERR_QUEUE_OVERFLOW", message);
  }
}

/** `DeferredQueue.get` with too many waiting gets (Twisted's `QueueUnderflow`). */
export class QueueUnderflow extends WeftError {
  constructor(message = "Too many waiting gets on the queue.") {
    super("ERR_QUEUE_UNDERFLOW", message);
  }
}

function removeFrom<T>(list: T[], item: T): void {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}

/** Shared part of {@link DeferredLock} and {@link DeferredSemaphore}. */
export abstract class ConcurrencyPrimitive<Self> {
  /** Acquisitions waiting, first come first served. */
  protected readonly waiting: Deferred<Self>[] = [];

  /** A Deferred that fires with this primitive once acquired; cancelling it leaves the queue. */
  abstract acquire(): Deferred<Self>;
  /** Give back what `acquire` gave. */
  abstract release(): void;

  /** How many acquisitions are waiting. */
  get waitingCount(): number {
    return this.waiting.length;
  }

  /**
   * Acquire, call `fn()`, release once its result (value, throw, Deferred or Promise) has settled;
   * fires with that result.
   */
  run<T>(fn: () => T | PromiseLike<T>): Deferred<T> {
    return this.acquire().addCallback(() =>
      maybeDeferred(fn).addCallbacks(
        (value) => {
          this.release();
          return value;
        },
        (error): T => {
          this.release();
          throw error;
        },
      ),
    );
  }

  /** A Deferred queued behind the current holders; cancelling it leaves the queue. For subclasses. */
  protected waiter(): Deferred<Self> {
    const d: Deferred<Self> = new Deferred<Self>(() => removeFrom(this.waiting, d));
    return d;
  }
}

/** A lock for event-driven code (Twisted's `DeferredLock`). */
export class DeferredLock extends ConcurrencyPrimitive<DeferredLock> {
  /** True while held. */
  locked = false;

  acquire(): Deferred<DeferredLock> {
    const d = this.waiter();
    if (this.locked) this.waiting.push(d);
    else {
      this.locked = true;
      d.callback(this);
    }
    return d;
  }

  /** Release; the next waiter (if any) gets the lock. Throws `LockStateError` if not locked. */
  release(): void {
    if (!this.locked) throw new LockStateError("Tried to release an unlocked lock.");
    this.locked = false;
    const next = this.waiting.shift();
    if (next !== undefined) {
      this.locked = true;
      next.callback(this);
    }
  }
}

/** At most `limit` holders at once (Twisted's `DeferredSemaphore`). */
export class DeferredSemaphore extends ConcurrencyPrimitive<DeferredSemaphore> {
  /** Maximum simultaneous holders. */
  readonly limit: number;
  /** Tokens left (limit minus current holders). */
  tokens: number;

  /** @param tokens the limit, an integer ≥ 1 (else `InvalidArgumentError`). */
  constructor(tokens: number) {
    super();
    if (!Number.isInteger(tokens) || tokens < 1) {
      throw new InvalidArgumentError(`DeferredSemaphore requires tokens >= 1, got ${tokens}`);
    }
    this.limit = tokens;
    this.tokens = tokens;
  }

  acquire(): Deferred<DeferredSemaphore> {
    const d = this.waiter();
    if (this.tokens === 0) this.waiting.push(d);
    else {
      this.tokens--;
      d.callback(this);
    }
    return d;
  }

  /** Give a token back; the next waiter gets it. Throws `LockStateError` on too many releases. */
  release(): void {
    if (this.tokens >= this.limit) {
      throw new LockStateError("Semaphore released more times than acquired.");
    }
    this.tokens++;
    const next = this.waiting.shift();
    if (next !== undefined) {
      this.tokens--;
      next.callback(this);
    }
  }
}

/**
 * An event-driven queue (Twisted's `DeferredQueue`): `get()` gives a Deferred for the next item,
 * fired at once if one is pending.
 */
export class DeferredQueue<T> {
  /** Items put and not yet taken. */
  readonly pending: T[] = [];
  /** Gets waiting for an item. */
  readonly waiting: Deferred<T>[] = [];

  /**
   * @param size maximum pending items (`put` beyond → `QueueOverflow`); default null = unbounded.
   * @param backlog maximum waiting gets (`get` beyond → `QueueUnderflow`); default null = unbounded.
   */
  constructor(
    readonly size: number | null = null,
    readonly backlog: number | null = null,
  ) {}

  /** Hand `item` to the oldest waiting get, or keep it. Throws `QueueOverflow` when full. */
  put(item: T): void {
    const waiter = this.waiting.shift();
    if (waiter !== undefined) waiter.callback(item);
    else if (this.size === null || this.pending.length < this.size) this.pending.push(item);
    else throw new QueueOverflow();
  }

  /** The next item. Throws `QueueUnderflow` when `backlog` gets are already waiting. */
  get(): Deferred<T> {
    if (this.pending.length > 0) return succeed(this.pending.shift() as T);
    if (this.backlog === null || this.waiting.length < this.backlog) {
      const d: Deferred<T> = new Deferred<T>(() => removeFrom(this.waiting, d));
      this.waiting.push(d);
      return d;
    }
    throw new QueueUnderflow();
  }
}
