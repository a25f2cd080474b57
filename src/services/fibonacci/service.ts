/**
 * The Fibonacci service: hands every request the number at the next position it claimed from its
 * {@link FibonacciStore}, so no two requests — on any front-end, in any process sharing the store,
 * across restarts — get the same number (see each store for what a crash may cost).
 *
 * Positions are claimed in blocks: when none is left, one claim covers every request waiting at that
 * moment (at least `block`), so with a write-ahead store many requests share one fsync (group
 * commit). Requests are answered in arrival order. The unused rest of a block is skipped when the
 * process stops (a gap, never a repeat); `block: 1` (the default) leaves none after a clean stop.
 */
import { WeftError } from "../../core/errors.js";
import { FibonacciCursor } from "./sequence.js";
import type { FibonacciStore } from "./store.js";

/** One number handed out. */
export interface FibonacciNumber {
  /** Its position in the sequence (0 is the first number, 2). */
  readonly position: bigint;
  /** The number. */
  readonly value: bigint;
}

/** The service was closed: no more numbers. */
export class FibonacciClosedError extends WeftError {
  constructor(message = "The Fibonacci service is closed.") {
    super("ERR_FIBONACCI_CLOSED", message);
  }
}

/** Options of {@link FibonacciService}. */
export interface FibonacciServiceOptions {
  /** Fewest positions claimed at once (an integer ≥ 1). Default 1. */
  block?: number;
}

interface Waiter {
  resolve(n: FibonacciNumber): void;
  reject(err: unknown): void;
}

/** Distinct Fibonacci numbers for every request (see the module comment). */
export class FibonacciService {
  /** Where positions are claimed. */
  readonly store: FibonacciStore;
  readonly #block: number;
  readonly #cursor = new FibonacciCursor();
  #lo = 0n;
  #hi = 0n;
  #waiting: Waiter[] = [];
  #claiming = false;
  #closed = false;
  /** Numbers handed out by this process. */
  handedOut = 0;

  constructor(store: FibonacciStore, options: FibonacciServiceOptions = {}) {
    const block = options.block ?? 1;
    if (!Number.isSafeInteger(block) || block < 1)
      throw new RangeError(`block must be an integer >= 1, got ${block}`);
    this.store = store;
    this.#block = block;
  }

  /** The next number. Rejects with the store's error, or FibonacciClosedError after `close`. */
  next(): Promise<FibonacciNumber> {
    if (this.#closed) return Promise.reject(new FibonacciClosedError());
    if (this.#lo < this.#hi && this.#waiting.length === 0) return Promise.resolve(this.#take());
    return new Promise<FibonacciNumber>((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      this.#refill();
    });
  }

  #take(): FibonacciNumber {
    const position = this.#lo++;
    this.handedOut++;
    return { position, value: this.#cursor.at(position) };
  }

  #refill(): void {
    if (this.#claiming) return;
    while (this.#waiting.length > 0 && this.#lo < this.#hi)
      (this.#waiting.shift() as Waiter).resolve(this.#take());
    if (this.#waiting.length === 0) return;
    const count = Math.max(this.#block, this.#waiting.length);
    this.#claiming = true;
    this.store.claim(count).then(
      (first) => {
        this.#claiming = false;
        this.#lo = first;
        this.#hi = first + BigInt(count);
        this.#refill();
      },
      (err: unknown) => {
        this.#claiming = false;
        // Fail the requests this claim was for; later ones try again.
        for (const w of this.#waiting.splice(0, count)) w.reject(err);
        this.#refill();
      },
    );
  }

  /** Refuse further requests, fail the waiting ones, and close the store (its last save). */
  async close(): Promise<void> {
    this.#closed = true;
    for (const w of this.#waiting.splice(0)) w.reject(new FibonacciClosedError());
    await this.store.close();
  }
}
