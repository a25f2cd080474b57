/**
 * How Python values that have no exact JavaScript twin are represented, so that a value round-trips
 * through a Twisted peer unchanged:
 *
 * | Python | JavaScript |
 * |---|---|
 * | `None` | `null` (`undefined` is sent as `None` too) |
 * | `bool` | `boolean` |
 * | `int` | `number` when it is a safe integer, `bigint` beyond 2^53 |
 * | `float` | {@link PbFloat} when received; a non-integer `number` (or `-0`, `NaN`, `±Infinity`) is sent as a float |
 * | `bytes` | `Uint8Array` |
 * | `str` | `string` |
 * | `list` | `Array` |
 * | `tuple` | {@link PbTuple} (an Array subclass) |
 * | `dict` | `Map` (a plain object is sent as a dict with string keys) |
 * | `set` / `frozenset` | `Set` / {@link FrozenSet} |
 */

/** A Python `float` (received floats are wrapped so that `1.0` stays a float when sent back). */
export class PbFloat {
  /** The float's value as a JavaScript number. */
  readonly value: number;

  constructor(value: number) {
    this.value = value;
  }

  /** {@link value}, so that a `PbFloat` works in arithmetic and comparisons (`f * 2`, `f < 1`). */
  valueOf(): number {
    return this.value;
  }

  /** {@link value} as text, as `String(number)` writes it (`1`, not Python's `1.0`). */
  toString(): string {
    return String(this.value);
  }
}

const TUPLE_MARK: unique symbol = Symbol.for("weft.pb.tuple");

/**
 * A Python `tuple`: a plain Array marked as a tuple (so it is sent back as a tuple). Make one with
 * {@link tuple}; test with `x instanceof PbTuple` or {@link isTuple}. `map`, `slice` and spreading
 * give plain arrays. (Not an Array subclass: constructing those costs V8 ~10x a plain array.)
 */
export type PbTuple<T = unknown> = T[] & {
  /**
   * The mark that makes an array a tuple: an own property under `Symbol.for("weft.pb.tuple")`, set
   * by {@link asTuple}. `Object.keys`, `JSON.stringify` and iteration skip symbol keys, so a tuple
   * otherwise behaves as the plain array it is.
   */
  readonly [TUPLE_MARK]: true;
};

/** `x instanceof PbTuple` is true for arrays made by {@link tuple} (and received tuples). */
export const PbTuple: {
  /** Whether `value` is an array marked as a tuple (what `value instanceof PbTuple` asks). */
  [Symbol.hasInstance](value: unknown): value is PbTuple;
} = {
  [Symbol.hasInstance]: isTuple,
};

/** Whether `value` is a {@link PbTuple}. */
export function isTuple(value: unknown): value is PbTuple {
  return Array.isArray(value) && (value as { [TUPLE_MARK]?: unknown })[TUPLE_MARK] === true;
}

/** Mark `items` (this very array) as a tuple and return it. */
export function asTuple<T>(items: T[]): PbTuple<T> {
  (items as { [TUPLE_MARK]?: true })[TUPLE_MARK] = true;
  return items as PbTuple<T>;
}

/** A `PbTuple` of `items`. */
export function tuple<T>(...items: T[]): PbTuple<T> {
  return asTuple(items);
}

/** A Python `frozenset`. */
export class FrozenSet<T = unknown> extends Set<T> {}

/** What arrives when the peer could not serialize something (Twisted's `jelly.Unpersistable`). */
export class Unpersistable {
  /**
   * Why, as the peer said it (`Unpersistable data: <reason>`), or that a persistent id was not
   * found.
   */
  readonly reason: string;

  constructor(reason: string) {
    this.reason = reason;
  }
}

/** A plain JavaScript object (prototype `Object.prototype` or `null`): sent as a dict. */
export function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** `n` as a Python float would be sent: the number itself, `PbFloat` unwrapped. */
export function floatValue(v: unknown): number | undefined {
  if (v instanceof PbFloat) return v.value;
  return typeof v === "number" ? v : undefined;
}
