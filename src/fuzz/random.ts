/**
 * Seeded randomness for campaigns: case `i` of seed `s` is generated from its own generator, so a
 * campaign is reproducible whatever the concurrency (cases finish in any order, but each one's bytes
 * depend only on `(s, i)`), and one case can be regenerated alone.
 */
import fc from "fast-check";

/** A 32-bit generator (mulberry32) in the shape fast-check's `Random` takes (`pure-rand`'s interface). */
class Mulberry32 {
  #state: number;

  constructor(state: number) {
    this.#state = state >>> 0;
  }

  clone(): Mulberry32 {
    return new Mulberry32(this.#state);
  }

  /** A value in [-2^31, 2^31 - 1], as fast-check's distributions expect. */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) | 0;
  }

  getState(): readonly number[] {
    return [this.#state];
  }
}

/** Mixes a seed and a case number into one 32-bit state (splitmix-style finaliser). */
function mix(seed: number, index: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index >>> 0, 0x85ebca77)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The fast-check `Random` that generates case `index` of the campaign seeded with `seed`. */
export function caseRandom(seed: number, index: number): fc.Random {
  return new fc.Random(new Mulberry32(mix(seed, index)));
}

/** The bias fast-check applies to case `index` (small values more often in some cases, as fc does). */
export function caseBias(index: number): number | undefined {
  return index % 3 === 0 ? undefined : 2 + (index % 7);
}

/** A fresh random seed (when `--seed` is not given). */
export function randomSeed(): number {
  return Math.floor(Math.random() * 0x7fffffff);
}
