/**
 * AMP argument types with Twisted's exact wire encodings (reference §4.5). Each {@link Argument}
 * turns a value into the bytes of one box value and back; every failure either way is an
 * {@link ArgumentError} naming the type and the reason.
 *
 * | weft | Twisted | value type |
 * |---|---|---|
 * | {@link Integer} | `Integer` | `number \| bigint` |
 * | {@link Bytes} | `String` | `Uint8Array` |
 * | {@link Unicode} | `Unicode` | `string` |
 * | {@link Bool} | `Boolean` | `boolean` |
 * | {@link Float} | `Float` | `number` |
 * | {@link Decimal} | `Decimal` | {@link AmpDecimal} |
 * | {@link DateTime} | `DateTime` | {@link AmpDateTime} |
 * | {@link ListOf}(T) | `ListOf` | `T[]` |
 * | {@link AmpList}(schema) | `AmpList` | `Array<{…}>` |
 * | {@link optional}(T) | `optional=True` | `T \| undefined` |
 *
 * Bytes on the wire are identical to Twisted's both ways. Where weft refuses what Twisted lets
 * through: an Integer from a fractional number (Twisted truncates it); a ListOf value ending in a
 * partial element (Twisted drops it silently); a DateTime whose separators are not `-`, `T`, `:`,
 * `.` or whose offset minutes exceed 59 (Twisted reads the fields by position only); non-ASCII
 * Decimal text. Python's own limits are kept: at most 4300 Integer digits, Decimal exponents
 * within Python's context limits.
 */
import { ArgumentError } from "./errors.js";
import { ascii, asciiBytes, describe, show, smallIntegerAt } from "./internal.js";

export { AmpDateTime, type AmpDateTimeFields, DateTime } from "./datetime.js";
export { AmpDecimal, Decimal } from "./decimal.js";
export { AmpList, ListOf } from "./lists.js";

/** An AMP argument type: how one value is written as the bytes of a box value, and read back. */
export interface Argument<T> {
  /** True when the argument may be absent: its key is omitted when the value is `undefined`. */
  readonly optional: boolean;
  /** Wire bytes of `value`. Throws {@link ArgumentError} when the value cannot be encoded. */
  encode(value: T): Uint8Array;
  /** Value of the wire bytes. Throws {@link ArgumentError} when the bytes are not valid for the type. */
  decode(bytes: Uint8Array): T;
  /** The type's name for messages, e.g. `"Integer"`, `"ListOf(Unicode)"`. */
  readonly name: string;
}

/** The value type of an argument: `ArgValue<typeof Integer>` is `number | bigint`. */
export type ArgValue<A> = A extends Argument<infer T> ? T : never;

/** A schema: argument names (wire keys) to argument types. */
export type ArgumentSchema = Record<string, Argument<unknown>>;

type OptionalKeys<S extends ArgumentSchema> = {
  [K in keyof S]: S[K] extends { readonly optional: true } ? K : never;
}[keyof S];
type RequiredKeys<S extends ArgumentSchema> = Exclude<keyof S, OptionalKeys<S>>;
type Simplify<T> = { [K in keyof T]: T[K] } & {};

/**
 * The object a schema describes: required arguments as required properties, arguments made with
 * {@link optional} as optional properties (`undefined` when absent).
 */
export type SchemaValues<S extends ArgumentSchema> = Simplify<
  { [K in RequiredKeys<S>]: ArgValue<S[K]> } & {
    [K in OptionalKeys<S>]?: ArgValue<S[K]> | undefined;
  }
>;

const textDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const textEncoder = new TextEncoder();

// ---------------------------------------------------------------------------------------------
// Integer

/** Python's limit on the digits of an int ↔ str conversion (`sys.int_info.default_max_str_digits`). */
export const MAX_INTEGER_DIGITS = 4300;
// Python int(bytes): ASCII whitespace around, an optional sign, digits with single underscores.
const INTEGER_RE = /^[ \t\n\v\f\r]*([+-]?)([0-9](?:_?[0-9])*)[ \t\n\v\f\r]*$/;
// A module-level alias: under a CommonJS transform an imported binding is a lookup on every use.
const smallInteger = smallIntegerAt;

/**
 * Integer of any size (Twisted's `Integer`). Encodes canonical decimal (`-` sign, no leading zeros);
 * a `number` must be an integer (a fraction, NaN or ±Infinity throws, where Twisted would truncate),
 * larger magnitudes are exact with `bigint`. Decodes what Python's `int(bytes)` accepts — optional
 * sign, leading zeros, `_` between digits, surrounding ASCII whitespace — and rejects `""`, `1.0`,
 * `0x10`. The result is a `number` when `Number.isSafeInteger`, else a `bigint`. As in Python, more
 * than 4300 digits are refused both ways.
 */
export const Integer: Argument<number | bigint> = {
  optional: false,
  name: "Integer",
  encode(value: number | bigint): Uint8Array {
    let text: string;
    if (typeof value === "number") {
      if (!Number.isInteger(value)) {
        throw new ArgumentError("Integer", `${describe(value)} is not an integer.`);
      }
      text = Number.isSafeInteger(value) ? String(value) : BigInt(value).toString();
    } else if (typeof value === "bigint") text = value.toString();
    else throw new ArgumentError("Integer", `expected a number or bigint, got ${describe(value)}.`);
    if ((text.startsWith("-") ? text.length - 1 : text.length) > MAX_INTEGER_DIGITS) {
      throw new ArgumentError("Integer", `more than ${MAX_INTEGER_DIGITS} digits.`);
    }
    return asciiBytes(text);
  },
  decode(bytes: Uint8Array): number | bigint {
    const small = smallInteger(bytes, 0, bytes.length);
    if (!Number.isNaN(small)) return small;
    const m = INTEGER_RE.exec(ascii(bytes));
    if (m === null) throw new ArgumentError("Integer", `invalid integer ${show(bytes)}.`);
    const digits = m[2]!.includes("_") ? m[2]!.replaceAll("_", "") : m[2]!;
    if (digits.length > MAX_INTEGER_DIGITS) {
      throw new ArgumentError("Integer", `more than ${MAX_INTEGER_DIGITS} digits.`);
    }
    if (digits.length <= 15) {
      const n = Number(digits);
      return m[1] === "-" ? (n === 0 ? 0 : -n) : n;
    }
    const big = BigInt(m[1] === "-" ? `-${digits}` : digits);
    return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(big)
      : big;
  },
};

// ---------------------------------------------------------------------------------------------
// Bytes, Unicode, Bool

/**
 * Raw bytes (Twisted's `String`). Encoding returns the value itself (no copy); decoding returns a
 * copy (a plain `Uint8Array`, even from a Node `Buffer`, whose `slice()` would be a view), so the
 * result stays valid after the box callback returns and never pins a socket chunk.
 */
export const Bytes: Argument<Uint8Array> = {
  optional: false,
  name: "Bytes",
  encode(value: Uint8Array): Uint8Array {
    if (!(value instanceof Uint8Array)) {
      throw new ArgumentError("Bytes", `expected a Uint8Array, got ${describe(value)}.`);
    }
    return value;
  },
  decode(bytes: Uint8Array): Uint8Array {
    return new Uint8Array(bytes);
  },
};

/** True when `s` has a surrogate code unit that is not part of a pair. */
function hasLoneSurrogate(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c >= 0xdc00) return true;
    const next = s.charCodeAt(i + 1);
    if (!(next >= 0xdc00 && next <= 0xdfff)) return true;
    i++;
  }
  return false;
}

/** Short ASCII strings are copied byte by byte: cheaper than TextEncoder/TextDecoder calls. */
const SHORT_TEXT = 64;

/**
 * Text as strict UTF-8 (Twisted's `Unicode`). A string with a lone surrogate cannot be encoded;
 * invalid UTF-8 is refused on decode (no replacement characters). A leading U+FEFF is kept.
 */
export const Unicode: Argument<string> = {
  optional: false,
  name: "Unicode",
  encode(value: string): Uint8Array {
    if (typeof value !== "string") {
      throw new ArgumentError("Unicode", `expected a string, got ${describe(value)}.`);
    }
    const n = value.length;
    if (n <= SHORT_TEXT) {
      const out = new Uint8Array(n);
      let i = 0;
      for (; i < n; i++) {
        const c = value.charCodeAt(i);
        if (c >= 0x80) break;
        out[i] = c;
      }
      if (i === n) return out;
    }
    if (hasLoneSurrogate(value)) {
      throw new ArgumentError("Unicode", "string has a lone surrogate: not encodable as UTF-8.");
    }
    return textEncoder.encode(value);
  },
  decode(bytes: Uint8Array): string {
    const n = bytes.length;
    if (n <= SHORT_TEXT) {
      let i = 0;
      while (i < n && bytes[i]! < 0x80) i++;
      if (i === n) {
        const text: string = Reflect.apply(String.fromCharCode, null, bytes);
        return text;
      }
    }
    try {
      return textDecoder.decode(bytes);
    } catch (cause) {
      throw new ArgumentError("Unicode", `invalid UTF-8 ${show(bytes)}.`, { cause });
    }
  },
};

const TRUE = asciiBytes("True");
const FALSE = asciiBytes("False");

/** `True` / `False` exactly (Twisted's `Boolean`); anything else (`true`, `TRUE`, `1`) is refused. */
export const Bool: Argument<boolean> = {
  optional: false,
  name: "Bool",
  encode(value: boolean): Uint8Array {
    if (typeof value !== "boolean") {
      throw new ArgumentError("Bool", `expected a boolean, got ${describe(value)}.`);
    }
    return (value ? TRUE : FALSE).slice();
  },
  decode(bytes: Uint8Array): boolean {
    const s = bytes.length <= 5 ? ascii(bytes) : "";
    if (s === "True") return true;
    if (s === "False") return false;
    throw new ArgumentError("Bool", `expected True or False, got ${show(bytes)}.`);
  },
};

// ---------------------------------------------------------------------------------------------
// Float

/**
 * Python's `repr(float)` of a number: the shortest digits that round-trip (as JS), spelled the Python
 * way: `1.0`, `1e+16`, `1e-05`, `-0.0`, `nan`, `inf`, `-inf`. Exponent form when the decimal exponent
 * is below -4 or at least 16.
 */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (x === Number.POSITIVE_INFINITY) return "inf";
  if (x === Number.NEGATIVE_INFINITY) return "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const s = x.toExponential(); // shortest round-trip digits, e.g. "-1.2345e+17"
  const neg = s.charCodeAt(0) === 45;
  const e = s.indexOf("e");
  const digits = s.slice(neg ? 1 : 0, e).replace(".", "");
  const exp = Number(s.slice(e + 1));
  let out: string;
  if (exp < -4 || exp >= 16) {
    const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    out = `${mant}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  } else if (exp >= 0) {
    out =
      digits.length <= exp + 1
        ? `${digits}${"0".repeat(exp + 1 - digits.length)}.0`
        : `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  } else out = `0.${"0".repeat(-exp - 1)}${digits}`;
  return neg ? `-${out}` : out;
}

// Python float(bytes): whitespace, sign, then a decimal literal with single underscores between
// digits, or inf / infinity / nan in any case.
const D = "[0-9](?:_?[0-9])*";
const FLOAT_RE = new RegExp(
  `^[ \\t\\n\\v\\f\\r]*([+-]?)(?:(?:${D}(?:\\.(?:${D})?)?|\\.${D})(?:e[+-]?${D})?|(inf|infinity)|(nan))[ \\t\\n\\v\\f\\r]*$`,
  "i",
);

/**
 * A double (Twisted's `Float`), written as Python's `repr(float)` (the shortest decimal that reads back as the same double).
 * Decodes what Python's `float(bytes)` accepts, including `nan`, `inf`, `-inf`, `Infinity`, `NaN`
 * in any case, `_` between digits and surrounding ASCII whitespace. Encoding needs a `number`.
 */
export const Float: Argument<number> = {
  optional: false,
  name: "Float",
  encode(value: number): Uint8Array {
    if (typeof value !== "number") {
      throw new ArgumentError("Float", `expected a number, got ${describe(value)}.`);
    }
    return asciiBytes(pythonFloatRepr(value));
  },
  decode(bytes: Uint8Array): number {
    const text = ascii(bytes);
    const m = FLOAT_RE.exec(text);
    if (m === null) {
      throw new ArgumentError("Float", `invalid float ${show(bytes)}.`);
    }
    const neg = m[1] === "-";
    if (m[2] !== undefined) return neg ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    if (m[3] !== undefined) return Number.NaN;
    const body = text.trim().replace(/^[+-]/, "").replaceAll("_", "");
    const n = Number(body);
    return neg ? -n : n;
  },
};

// ---------------------------------------------------------------------------------------------
// optional

/**
 * Makes `arg` optional (Twisted's `optional=True`): the key may be absent from the box, and the
 * value is then `undefined`. In a command's values, `undefined` sends no key; the argument's own
 * `encode(undefined)` throws ArgumentError.
 */
export function optional<T>(arg: Argument<T>): Argument<T | undefined> & {
  /** Marks the argument optional. */
  readonly optional: true;
} {
  return {
    optional: true,
    name: `optional(${arg.name})`,
    encode(value: T | undefined): Uint8Array {
      if (value === undefined) {
        throw new ArgumentError(
          arg.name,
          "value is undefined: omit the key of an optional argument.",
        );
      }
      return arg.encode(value);
    },
    decode(bytes: Uint8Array): T | undefined {
      return arg.decode(bytes);
    },
  };
}
