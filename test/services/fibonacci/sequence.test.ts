import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  FibonacciCursor,
  fibonacciAt,
  fibonacciPair,
} from "../../../src/services/fibonacci/sequence.js";

describe("the article's Fibonacci sequence", () => {
  it("hands out 2, 3, 5, 8, 13, … (a = b = 1)", () => {
    expect([0n, 1n, 2n, 3n, 4n, 5n].map(fibonacciAt)).toEqual([2n, 3n, 5n, 8n, 13n, 21n]);
    expect(fibonacciPair(0n)).toEqual([0n, 1n]);
    expect(fibonacciPair(10n)).toEqual([55n, 89n]);
  });

  it("fast doubling agrees with addition", () => {
    let a = 0n;
    let b = 1n;
    for (let n = 0n; n < 500n; n++) {
      expect(fibonacciPair(n)).toEqual([a, b]);
      [a, b] = [b, a + b];
    }
  });

  it("the cursor gives the number of any sequence of positions (forward steps, jumps, back)", () => {
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: 0n, max: 5000n }), { maxLength: 30 }), (ps) => {
        const cursor = new FibonacciCursor();
        for (const p of ps) expect(cursor.at(p)).toBe(fibonacciAt(p));
      }),
      { numRuns: 50 },
    );
  });

  it("a number's digits grow by ~0.209 a position (the front-ends' size limits)", () => {
    expect(fibonacciAt(78_000n).toString().length).toBeGreaterThan(16_300);
    expect(fibonacciAt(20_600n).toString().length).toBeGreaterThan(4300);
  });
});
