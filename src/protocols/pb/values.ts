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
  readonly value: number;

  constructor(value: number) {
    this.value = value;
  }

  valueOf(): number {
    return this.value;
  }

  toString(): string {
    return String(this.value);
  }
}

/** A Python `tuple`: an Array that is sent as a tuple. `map`/`filter` return plain arrays. */
export class PbTuple<T = unknown> extends Array<T> {
  static override get [Symbol.species](): ArrayConstructor {
    return Array;
  }
}

/** A `PbTuple` of `items`. */
export function tuple<T>(...items: T[]): PbTuple<T> {
  const t = new PbTuple<T>();
  for (const x of items) t.push(x);
  return t;
}

/** A Python `frozenset`. */
export class FrozenSet<T = unknown> extends Set<T> {}

/** What arrives when the peer could not serialize something (Twisted's `jelly.Unpersistable`). */
export class Unpersistable {
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
