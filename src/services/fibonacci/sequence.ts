/**
 * The article's Fibonacci sequence as the service hands it out: `a = b = 1`, then each request gets
 * `a + b` and shifts, so position 0 is 2, then 3, 5, 8, 13, … — position `p` is F(p + 3) with
 * F(1) = F(2) = 1.
 *
 * {@link FibonacciCursor} computes the numbers of increasing positions by addition from the pair it
 * last produced (one BigInt addition per step, the common case: a store hands out consecutive
 * positions), and jumps with fast doubling (O(log p) multiplications) when a position is far ahead
 * or behind — never from 0 per request.
 */

/** [F(n), F(n + 1)] by fast doubling: F(2k) = F(k)(2F(k+1) − F(k)), F(2k+1) = F(k)² + F(k+1)². */
export function fibonacciPair(n: bigint): [bigint, bigint] {
  if (n < 0n) throw new RangeError(`negative Fibonacci index ${n}`);
  let a = 0n; // F(k)
  let b = 1n; // F(k + 1)
  for (let bit = BigInt(n.toString(2).length - 1); bit >= 0n; bit--) {
    const c = a * (2n * b - a); // F(2k)
    const d = a * a + b * b; // F(2k + 1)
    if (((n >> bit) & 1n) === 1n) {
      a = d;
      b = c + d;
    } else {
      a = c;
      b = d;
    }
  }
  return [a, b];
}

/** The number the service hands out at `position` (0 → 2, 1 → 3, 2 → 5, …). */
export function fibonacciAt(position: bigint): bigint {
  return fibonacciPair(position + 3n)[0];
}

/** Steps further than this are jumped with fast doubling instead of added one by one. */
const MAX_STEPS = 256n;

/** Produces the numbers of (mostly) increasing positions, each from the pair produced before. */
export class FibonacciCursor {
  #position = 0n;
  #a = 2n; // the number at #position
  #b = 3n; // the number at #position + 1

  /** The number at `position` (≥ 0). */
  at(position: bigint): bigint {
    const ahead = position - this.#position;
    if (ahead < 0n || ahead > MAX_STEPS) {
      [this.#a, this.#b] = fibonacciPair(position + 3n);
      this.#position = position;
    } else {
      for (let i = 0n; i < ahead; i++) {
        const next = this.#a + this.#b;
        this.#a = this.#b;
        this.#b = next;
      }
      this.#position = position;
    }
    return this.#a;
  }
}
