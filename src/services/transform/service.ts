/**
 * The transform service: named text transforms looked up in an explicit registry (a `Map`, never a
 * property of an object, so `__proto__`, `constructor` or `toString` are simply unknown names).
 * It knows nothing about protocols; the netstring, line and AMP front-ends beside it call it.
 */
import { InvalidArgumentError } from "../../core/errors.js";
import { TransformFailedError, UnknownTransformError } from "../errors.js";

/** A transform: text in, text out, synchronously or through a Promise/thenable. */
export type TransformFn = (text: string) => string | PromiseLike<string>;

/** Lowercase everything (the Twisted tutorial's `cummingsify`, minus its randomness). */
function cummingsify(text: string): string {
  return text.toLowerCase();
}

/** Reverse by Unicode code point (a surrogate pair stays in order). */
function reverse(text: string): string {
  const cps = Array.from(text);
  cps.reverse();
  return cps.join("");
}

/** Uppercase everything. */
function upper(text: string): string {
  return text.toUpperCase();
}

/** Lowercase, then uppercase the first character of every whitespace-separated word. */
function title(text: string): string {
  return text
    .toLowerCase()
    .replace(/(^|\s)(\S)/gu, (_m, sep: string, ch: string) => sep + ch.toUpperCase());
}

/** ROT13 on the ASCII letters; everything else unchanged. */
function rot13(text: string): string {
  return text.replace(/[A-Za-z]/g, (c) => {
    const code = c.charCodeAt(0);
    const base = code >= 97 ? 97 : 65;
    return String.fromCharCode(((code - base + 13) % 26) + base);
  });
}

/** The transforms every {@link TransformService} starts with (unless `builtins: false`). */
export const BUILTIN_TRANSFORMS: ReadonlyMap<string, TransformFn> = new Map<string, TransformFn>([
  ["cummingsify", cummingsify],
  ["reverse", reverse],
  ["upper", upper],
  ["title", title],
  ["rot13", rot13],
]);

/**
 * Transform names must be usable by every front-end: 1–64 characters from `A-Z a-z 0-9 _ -`
 * (no `.`, which the netstring request `name.text` splits at, and no space, which the line request
 * `NAME SP TEXT` splits at).
 */
export const TRANSFORM_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Options of {@link TransformService}. */
export interface TransformServiceOptions {
  /** Start with the built-in transforms (cummingsify, reverse, upper, title, rot13). Default `true`. */
  builtins?: boolean;
}

/** A registry of named transforms. */
export class TransformService {
  readonly #transforms = new Map<string, TransformFn>();

  constructor(options: TransformServiceOptions = {}) {
    if (options.builtins !== false) {
      for (const [name, fn] of BUILTIN_TRANSFORMS) this.#transforms.set(name, fn);
    }
  }

  /**
   * Register (or replace) a transform. Throws InvalidArgumentError for a name outside
   * 1–64 characters from `A-Z a-z 0-9 _ -`, or a `fn` that is not a function.
   */
  register(name: string, fn: TransformFn): this {
    if (typeof name !== "string" || !TRANSFORM_NAME.test(name)) {
      throw new InvalidArgumentError(
        `Invalid transform name ${JSON.stringify(name)}: use 1-64 characters from A-Z a-z 0-9 _ -`,
      );
    }
    if (typeof fn !== "function") {
      throw new InvalidArgumentError(`Transform ${name} must be a function.`);
    }
    this.#transforms.set(name, fn);
    return this;
  }

  /** Remove a transform; returns whether it existed. */
  unregister(name: string): boolean {
    return this.#transforms.delete(name);
  }

  /** Whether `name` is registered. */
  has(name: string): boolean {
    return this.#transforms.has(name);
  }

  /** The registered names, sorted. */
  names(): string[] {
    return [...this.#transforms.keys()].sort();
  }

  /**
   * Apply transform `name` to `text`. Returns the string directly when the transform is synchronous
   * (the front-ends' fast path) or a Promise for an asynchronous one.
   *
   * Throws UnknownTransformError synchronously for an unknown name; a transform that throws, rejects
   * or yields a non-string becomes TransformFailedError (thrown, or the Promise's rejection).
   */
  apply(name: string, text: string): string | Promise<string> {
    const fn = this.#transforms.get(name);
    if (fn === undefined) throw UnknownTransformError.forName(name);
    let out: string | PromiseLike<string>;
    try {
      out = fn(text);
    } catch (err) {
      throw TransformFailedError.forName(name, err);
    }
    if (typeof out === "string") return out;
    if (
      out !== null &&
      typeof out === "object" &&
      typeof (out as PromiseLike<string>).then === "function"
    ) {
      return Promise.resolve(out).then(
        (v) => checkResult(name, v),
        (err: unknown) => {
          throw err instanceof TransformFailedError ? err : TransformFailedError.forName(name, err);
        },
      );
    }
    return checkResult(name, out);
  }

  /** Like {@link apply}, always asynchronous: a Promise of the result (rejects with the typed errors). */
  transform(name: string, text: string): Promise<string> {
    try {
      return Promise.resolve(this.apply(name, text));
    } catch (err) {
      return Promise.reject(err);
    }
  }
}

function checkResult(name: string, value: unknown): string {
  if (typeof value !== "string") {
    throw new TransformFailedError(
      `Transform ${JSON.stringify(name)} returned ${typeof value}, not a string.`,
      {
        transformName: name,
      },
    );
  }
  return value;
}
