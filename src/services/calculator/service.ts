/**
 * The calculator service (Twisted's Perspective Broker calculator example, served here over AMP):
 * adds two integers, optionally after a simulated delay taken from the injected clock, so a slow
 * calculation never blocks the event loop.
 */
import { InvalidArgumentError } from "../../core/errors.js";
import type { DelayedCall, ReactorTime } from "../../core/interfaces.js";

/** An integer as AMP's Integer decodes it: a number in the safe range, a bigint beyond. */
export type Int = number | bigint;

/** The answer to one calculation: the sum and the id of the server that computed it. */
export interface Calculation {
  /** The sum (a bigint beyond 2^53). */
  readonly result: Int;
  /** The id of the server that computed it. */
  readonly server: number;
}

/** Options of {@link CalculatorService}. */
export interface CalculatorServiceOptions {
  /** Simulated work time per calculation, in seconds. Default 0 (answer at once). */
  delay?: number;
  /** Where the delay is measured (required when `delay` > 0): the reactor, or a manual Clock in tests. */
  clock?: ReactorTime;
}

/** Adds integers, exactly (bigint beyond 2^53). */
export class CalculatorService {
  /** Simulated work time per calculation, in seconds (the `delay` option; default 0). */
  readonly delay: number;
  readonly #clock: ReactorTime | undefined;
  readonly #pending = new Set<DelayedCall>();
  /** Calculations answered so far. */
  count = 0;

  constructor(options: CalculatorServiceOptions = {}) {
    const delay = options.delay ?? 0;
    if (!Number.isFinite(delay) || delay < 0)
      throw new InvalidArgumentError(`delay must be >= 0 seconds, got ${delay}`);
    if (delay > 0 && options.clock === undefined)
      throw new InvalidArgumentError("A delayed calculator needs a clock.");
    this.delay = delay;
    this.#clock = options.clock;
  }

  /** `a + b` computed by server `server`: immediately, or a Promise resolved after `delay` seconds. */
  calculate(a: Int, b: Int, server: number): Calculation | Promise<Calculation> {
    const answer = { result: add(a, b), server };
    this.count += 1;
    const clock = this.#clock;
    if (this.delay === 0 || clock === undefined) return answer;
    return new Promise<Calculation>((resolveAnswer) => {
      const call = clock.callLater(this.delay, () => {
        this.#pending.delete(call);
        resolveAnswer(answer);
      });
      this.#pending.add(call);
    });
  }

  /** Calculations still waiting for their delay. */
  get pending(): number {
    return this.#pending.size;
  }
}

/** Exact integer addition: a number when the sum is a safe integer, a bigint otherwise. */
function add(a: Int, b: Int): Int {
  if (typeof a === "number" && typeof b === "number") {
    const s = a + b;
    if (Number.isSafeInteger(s)) return s;
  }
  return narrowInt(BigInt(a) + BigInt(b));
}

/** `big` as a number when it is a safe integer, else the bigint itself. */
function narrowInt(big: bigint): Int {
  return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(big)
    : big;
}

/**
 * A decimal integer (`-?\d+`, checked by the caller) as an {@link Int}: a number when it is a safe
 * integer, a bigint otherwise.
 */
export function parseDecimalInt(text: string): Int {
  return narrowInt(BigInt(text));
}
