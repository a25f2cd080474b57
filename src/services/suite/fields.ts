/**
 * The valibot building blocks of weft's own configuration schemas (the suite's top level and the
 * built-in services' settings), each with the message a user reads after the JSON path.
 *
 * Why valibot: it implements Standard Schema (so user services may bring zod, ArkType or valibot
 * schemas alike), has no dependencies, is modular, and loads in ~45 ms where zod 4.6 took ~300 ms
 * on this machine (the `weft` command pays that on every start); 25M downloads a month.
 */
import * as v from "valibot";

/** A string with at least one character. */
export const nonEmptyString = v.pipe(
  v.string("must be a non-empty string"),
  v.minLength(1, "must be a non-empty string"),
);

/** A finite number of seconds >= 0. */
export const seconds = (() => {
  const m = "must be a number of seconds >= 0";
  return v.pipe(v.number(m), v.finite(m), v.minValue(0, m));
})();

/** A safe integer, in [min, max] when given. */
export function integer(min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER) {
  const m =
    min === Number.MIN_SAFE_INTEGER && max === Number.MAX_SAFE_INTEGER
      ? "must be an integer"
      : max === Number.MAX_SAFE_INTEGER
        ? `must be an integer >= ${min}`
        : `must be an integer ${min}..${max}`;
  return v.pipe(v.number(m), v.safeInteger(m), v.minValue(min, m), v.maxValue(max, m));
}

/** Messages of {@link strictObject} and {@link looseObject}. */
export interface ObjectMessages<E extends v.ObjectEntries> {
  /** The message for a value that is no object. Default `must be an object`. */
  what?: string;
  /** Messages for missing required keys. Default `missing`. */
  missing?: { readonly [K in keyof E]?: string };
  /** Keys accepted besides `entries` (taken out and checked elsewhere), for the unknown-key message. */
  alsoAllowed?: readonly string[];
}

/** The message function of an object schema: `what`, `missing`, or `unknown key "K" (allowed: …)`. */
function objectMessage<E extends v.ObjectEntries>(
  entries: E,
  options: ObjectMessages<E>,
): (issue: v.BaseIssue<unknown>) => string {
  const allowed = [...Object.keys(entries), ...(options.alsoAllowed ?? [])].join(", ");
  const missing: { readonly [key: string]: string | undefined } = options.missing ?? {};
  return (issue) => {
    // valibot reports an unknown key of a strict object as expecting "never" at that key, and a
    // missing key with the key as the issue's only path item and no input.
    if (issue.expected === "never") return `unknown key ${issue.received} (allowed: ${allowed})`;
    if (issue.input !== undefined || issue.path === undefined)
      return options.what ?? "must be an object";
    const key = issue.path[issue.path.length - 1]?.key;
    return (typeof key === "string" ? missing[key] : undefined) ?? "missing";
  };
}

/** An object with at least the keys of `entries` (others pass through, unchecked). */
export function looseObject<const E extends v.ObjectEntries>(
  entries: E,
  options: ObjectMessages<E> = {},
) {
  return v.looseObject(entries, objectMessage(entries, options));
}

/**
 * An object with exactly the keys of `entries`: a value that is no object reads
 * `PATH: must be an object`, a missing required key `PATH.KEY: missing`, and an unknown key
 * `PATH.KEY: unknown key "KEY" (allowed: …)`.
 */
export function strictObject<const E extends v.ObjectEntries>(
  entries: E,
  options: ObjectMessages<E> = {},
) {
  return v.strictObject(entries, objectMessage(entries, options));
}
