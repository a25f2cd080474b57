/**
 * Jelly: JavaScript values to s-expressions that a Twisted peer's `jelly.unjelly` reads (Twisted's
 * `twisted.spread.jelly`), byte-exact: shared and cyclic containers become `reference`/`dereference`
 * with the ids Twisted assigns (in the order of second encounters). See `values.ts` for the type
 * mapping.
 */
import { JellyError } from "./errors.js";
import { FrozenSet, isPlainObject, isTuple, PbFloat } from "./values.js";

/** An s-expression as the banana encoder takes it. */
export type Sexp = number | bigint | string | Uint8Array | PbFloat | Sexp[];

/**
 * The broker side of jellying (the `invoker` Twisted's `_Jellier` is given): turns local objects
 * that are sent by reference ({@link Referenceable}) into ids the peer can call back. A
 * {@link Broker} is one; without one ({@link jelly} with no invoker), references are sent as
 * `unpersistable`.
 */
export interface JellyInvoker {
  /** A connection-unique id for `object`, counted once more each time it is sent. */
  registerReference(object: object): number;
}

/** An object that writes its own jelly (Twisted's `Jellyable`). */
export abstract class Jellyable {
  /**
   * This object's s-expression (Twisted's `jellyFor`). Containers inside should be jellied with
   * `jellier.jelly(...)`, and an expression that may be met twice wrapped in
   * {@link Jellier.prepare}/{@link Jellier.preserve}, so that shared and cyclic references keep
   * Twisted's ids.
   */
  abstract jellyFor(jellier: Jellier): Sexp;
}

/** One jelly pass (Twisted's `_Jellier`): per-call reference bookkeeping. */
export class Jellier {
  /** The broker that registers references, or null when references cannot be sent. */
  readonly invoker: JellyInvoker | null;
  #preserved: Map<object, Sexp[]> | null = null;
  #cooked: Map<object, Sexp[]> | null = null;
  #refId = 1;

  constructor(invoker: JellyInvoker | null = null) {
    this.invoker = invoker;
  }

  /** Start an object's expression (its id is assigned only if it is met again). */
  prepare(object: object): Sexp[] {
    this.#preserved ??= new Map();
    this.#preserved.set(object, []);
    return [];
  }

  /** Finish an object's expression; returns what stands in its place. */
  preserve(object: object, sexp: Sexp[]): Sexp[] {
    if (this.#cooked?.has(object) === true) {
      const ref = this.#preserved?.get(object) as Sexp[];
      ref[2] = sexp;
      return ref;
    }
    this.#preserved ??= new Map();
    this.#preserved.set(object, sexp);
    return sexp;
  }

  #checkMutable(object: object): Sexp[] | undefined {
    if (this.#preserved === null) return undefined;
    const cooked = this.#cooked?.get(object);
    if (cooked !== undefined) return cooked;
    const list = this.#preserved.get(object);
    if (list === undefined) return undefined;
    // Met again: turn its expression into [reference, id, <expr>] in place.
    const refId = this.#refId++;
    const copy = list.slice();
    list.length = 0;
    list.push("reference", refId, copy);
    const deref: Sexp[] = ["dereference", refId];
    this.#cooked ??= new Map();
    this.#cooked.set(object, deref);
    return deref;
  }

  /** The expression for `value`. Throws {@link JellyError} for what cannot be sent. */
  jelly(value: unknown): Sexp {
    const scalar = jellyScalar(value);
    if (scalar !== undefined) return scalar;
    if (typeof value !== "object" || value === null) {
      throw new JellyError(`Cannot jelly a ${typeof value}`);
    }
    if (value instanceof Jellyable) {
      return this.#checkMutable(value) ?? value.jellyFor(this);
    }
    const pre = this.#checkMutable(value);
    if (pre !== undefined) return pre;
    const sxp = this.prepare(value);
    if (Array.isArray(value)) {
      sxp.push(isTuple(value) ? "tuple" : "list");
      for (const x of value) sxp.push(this.jelly(x));
    } else if (value instanceof Map) {
      sxp.push("dictionary");
      for (const [k, v] of value) sxp.push([this.jelly(k), this.jelly(v)]);
    } else if (value instanceof Set) {
      sxp.push(value instanceof FrozenSet ? "frozenset" : "set");
      for (const x of value) sxp.push(this.jelly(x));
    } else if (isPlainObject(value)) {
      sxp.push("dictionary");
      for (const k of Object.keys(value)) {
        sxp.push([["unicode", k], this.jelly((value as Record<string, unknown>)[k])]);
      }
    } else {
      const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
      throw new JellyError(
        `Cannot jelly an instance of ${typeof name === "string" ? name : "an unknown class"} (make it a Referenceable or a Copyable)`,
      );
    }
    return this.preserve(value, sxp);
  }
}

/**
 * The expression for a value with no containers inside, or undefined. The fast path for call
 * arguments and answers (numbers, strings, a tuple of them): no reference bookkeeping is needed
 * when no container can be met twice. Gives exactly what {@link Jellier.jelly} gives.
 */
export function jellyScalar(value: unknown): Sexp | undefined {
  switch (typeof value) {
    case "number":
    case "bigint":
      return value;
    case "string":
      return ["unicode", value];
    case "boolean":
      return ["boolean", value ? "true" : "false"];
    case "undefined":
      return ["None"];
    case "object":
      if (value === null) return ["None"];
      if (value instanceof PbFloat || value instanceof Uint8Array) return value;
      return undefined;
    default:
      return undefined;
  }
}

/** `["tuple"|"list", ...]` for an array of scalars (see {@link jellyScalar}), or undefined. */
export function jellyFlat(values: readonly unknown[], atom: "tuple" | "list"): Sexp[] | undefined {
  const out: Sexp[] = [atom];
  for (const v of values) {
    const s = jellyScalar(v);
    if (s === undefined) return undefined;
    out.push(s);
  }
  return out;
}

/** Jelly `value` on its own (no broker: references cannot be sent). */
export function jelly(value: unknown, invoker: JellyInvoker | null = null): Sexp {
  return new Jellier(invoker).jelly(value);
}
