/**
 * A {@link FibonacciStore} in memory: distinct numbers for the process's lifetime, restarting at
 * position 0 on every start (what the service uses when the suite runs without a state directory).
 */
import type { FibonacciStore } from "./store.js";

/** Positions counted in memory only. */
export class MemoryFibonacciStore implements FibonacciStore {
  #next: bigint;

  /** `next`: the first position to claim (default 0). */
  constructor(next = 0n) {
    this.#next = next;
  }

  /** The first position not claimed yet. */
  get next(): bigint {
    return this.#next;
  }

  claim(count: number): Promise<bigint> {
    checkCount(count);
    const first = this.#next;
    this.#next += BigInt(count);
    return Promise.resolve(first);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Throws a RangeError unless `count` is an integer ≥ 1. */
export function checkCount(count: number): void {
  if (!Number.isSafeInteger(count) || count < 1)
    throw new RangeError(`claim count must be an integer >= 1, got ${count}`);
}
