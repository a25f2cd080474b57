/**
 * AMP argument types with Twisted's exact wire encodings (reference §4.5). Each {@link Argument}
 * turns a value into the bytes of one box value and back; every failure either way is an
 * {@link ArgumentError} naming the type and the reason.
 *
 * | weft | Twisted | value type |
 * |---|---|---|
 * | {@link Integer} | `Integer` | `number \| bigint` |
 * | {@link Bytes} (alias {@link AmpString}) | `String` | `Uint8Array` |
 * | {@link Unicode} | `Unicode` | `string` |
 * | {@link Bool} (alias {@link AmpBoolean}) | `Boolean` | `boolean` |
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

import type { AmpBox } from "./box.js";
import { BoxDecoder, encodeBox } from "./box.js";
import { ArgumentError } from "./errors.js";
import { smallIntegerAt } from "./internal.js";

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

function ascii(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

function asciiBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function show(bytes: Uint8Array): string {
  const max = 40;
  const s = ascii(bytes.length > max ? bytes.subarray(0, max) : bytes);
  return JSON.stringify(s) + (bytes.length > max ? `… (${bytes.length} bytes)` : "");
}

/**
 * The `encode` of an argument whose values are `cls` instances written as their ASCII `toString()`
 * (Decimal, DateTime); anything else is refused naming `className`.
 */
function encodeAsText<T extends object>(
  typeName: string,
  cls: new (...args: never[]) => T,
  className: string,
): (value: T) => Uint8Array {
  return (value: T): Uint8Array => {
    if (!(value instanceof cls)) {
      throw new ArgumentError(typeName, `expected an ${className}, got ${describe(value)}.`);
    }
    return asciiBytes(value.toString());
  };
}

function describe(value: unknown): string {
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "string")
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value instanceof Uint8Array) return `Uint8Array(${value.length})`;
  if (value === null) return "null";
  if (typeof value === "object") return (value as object).constructor?.name ?? "object";
  return String(value);
}

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
/** Twisted's name for {@link Bytes}. */
export const AmpString = Bytes;

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
      if (i === n) return String.fromCharCode.apply(null, bytes as unknown as number[]);
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
/** Twisted's name for {@link Bool}. */
export const AmpBoolean = Bool;

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
 * A double (Twisted's `Float`), written as Python's `repr(float)` (see {@link pythonFloatRepr}).
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
// Decimal

// Python strips str.strip() whitespace first (ASCII here: \t-\r, \x1c-\x1f, space), then ignores
// every underscore. The strip is a loop: a regex like /\s+$/ backtracks quadratically on a long run
// of whitespace followed by something else.
function isDecimalSpace(c: number): boolean {
  return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20);
}

function stripDecimalSpace(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && isDecimalSpace(s.charCodeAt(start))) start++;
  while (end > start && isDecimalSpace(s.charCodeAt(end - 1))) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

const DECIMAL_RE =
  /^([+-]?)(?:([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?|(inf|infinity)|(s?nan)([0-9]*))$/i;
const MAX_EMAX = 999999999999999999n;
const MIN_ETINY = -1999999999999999997n;

/**
 * An exact decimal number (Python `decimal.Decimal`), kept as text in Python's canonical `str()`
 * form, so precision and exponent survive: `1.10` stays `1.10`, `1e2` becomes `1E+2`, `-0` stays
 * `-0`. Also `NaN`, `-NaN`, `sNaN` (with optional diagnostic digits) and `±Infinity`. No arithmetic:
 * use a decimal library on `toString()`.
 */
export class AmpDecimal {
  /** Python's `str()` of the value. */
  private readonly text: string;
  /** True for a negative sign (including `-0`, `-NaN`). */
  readonly negative: boolean;
  /** `"finite"`, `"infinity"`, `"nan"` or `"snan"`. */
  readonly kind: "finite" | "infinity" | "nan" | "snan";
  /** Coefficient digits without leading zeros (`"0"` for zero; NaN diagnostic digits, or `""`). */
  readonly coefficient: string;
  /** Exponent: value = ±coefficient × 10^exponent (0 for the special values). */
  readonly exponent: bigint;

  /**
   * Parses `text` as Python's `Decimal(text)` does (sign, digits with an optional point, `e`/`E`
   * exponent, `Inf`/`Infinity`/`NaN`/`sNaN` in any case, `_` ignored, whitespace around; ASCII only;
   * the exponent within Python's limits). Throws {@link ArgumentError} otherwise.
   */
  constructor(text: string | bigint) {
    const src = typeof text === "bigint" ? text.toString() : text;
    if (typeof src !== "string") {
      throw new ArgumentError("Decimal", `expected a string or bigint, got ${describe(src)}.`);
    }
    // Python ignores every underscore in Decimal(text).
    const stripped = stripDecimalSpace(src);
    const m2 = DECIMAL_RE.exec(stripped.includes("_") ? stripped.replaceAll("_", "") : stripped);
    if (m2 === null) throw new ArgumentError("Decimal", `invalid decimal ${describe(src)}.`);
    this.negative = m2[1] === "-";
    if (m2[5] !== undefined) {
      this.kind = "infinity";
      this.coefficient = "";
      this.exponent = 0n;
    } else if (m2[6] !== undefined) {
      this.kind = m2[6].length === 4 ? "snan" : "nan";
      this.coefficient = m2[7]!.replace(/^0+/, "");
      this.exponent = 0n;
    } else {
      const intPart = m2[2] ?? "";
      const fracPart = m2[3] ?? "";
      if (intPart.length + fracPart.length === 0) {
        throw new ArgumentError("Decimal", `invalid decimal ${describe(src)}.`);
      }
      this.kind = "finite";
      this.coefficient = (intPart + fracPart).replace(/^0+(?=.)/, "");
      this.exponent = (m2[4] === undefined ? 0n : BigInt(m2[4])) - BigInt(fracPart.length);
      const adjusted = this.exponent + BigInt(this.coefficient.length - 1);
      if (adjusted > MAX_EMAX || this.exponent < MIN_ETINY) {
        throw new ArgumentError("Decimal", `exponent out of range in ${describe(src)}.`);
      }
    }
    this.text = this.format();
  }

  private format(): string {
    const sign = this.negative ? "-" : "";
    if (this.kind === "infinity") return `${sign}Infinity`;
    if (this.kind === "nan") return `${sign}NaN${this.coefficient}`;
    if (this.kind === "snan") return `${sign}sNaN${this.coefficient}`;
    // Python's Decimal.__str__ (to-scientific-string).
    const coeff = this.coefficient;
    const exp = this.exponent;
    const leftDigits = exp + BigInt(coeff.length);
    let dotPlace: bigint;
    if (exp <= 0n && leftDigits > -6n) dotPlace = leftDigits;
    else dotPlace = 1n;
    let intPart: string;
    let fracPart: string;
    if (dotPlace <= 0n) {
      intPart = "0";
      fracPart = `.${"0".repeat(Number(-dotPlace))}${coeff}`;
    } else if (dotPlace >= BigInt(coeff.length)) {
      intPart = coeff + "0".repeat(Number(dotPlace) - coeff.length);
      fracPart = "";
    } else {
      const d = Number(dotPlace);
      intPart = coeff.slice(0, d);
      fracPart = `.${coeff.slice(d)}`;
    }
    const e = leftDigits - dotPlace;
    const expPart = e === 0n ? "" : `E${e > 0n ? "+" : "-"}${e < 0n ? -e : e}`;
    return `${sign}${intPart}${fracPart}${expPart}`;
  }

  /** True for a NaN or sNaN. */
  get isNaN(): boolean {
    return this.kind === "nan" || this.kind === "snan";
  }

  /** True for a finite value. */
  get isFinite(): boolean {
    return this.kind === "finite";
  }

  /** Python's `str()` of the value, which is its wire form. */
  toString(): string {
    return this.text;
  }

  toJSON(): string {
    return this.text;
  }

  /** The nearest double (`Number(toString())`; NaN for NaN/sNaN). */
  toNumber(): number {
    if (this.kind === "infinity") return this.negative ? -Infinity : Infinity;
    if (this.isNaN) return Number.NaN;
    return Number(this.text);
  }

  /** Same canonical text (Python's `==` is numeric: `1.1 == 1.10`; this is not). */
  equals(other: AmpDecimal): boolean {
    return this.text === other.text;
  }
}

/**
 * An exact decimal (Twisted's `Decimal`) as an {@link AmpDecimal}; the wire form is Python's `str()`
 * of the value. Decoding accepts what Python's `Decimal(text)` accepts, in ASCII.
 */
export const Decimal: Argument<AmpDecimal> = {
  optional: false,
  name: "Decimal",
  encode: encodeAsText("Decimal", AmpDecimal, "AmpDecimal"),
  decode(bytes: Uint8Array): AmpDecimal {
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i]! >= 0x80)
        throw new ArgumentError("Decimal", `non-ASCII decimal ${show(bytes)}.`);
    }
    return new AmpDecimal(ascii(bytes));
  },
};

// ---------------------------------------------------------------------------------------------
// DateTime

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

/** Fields of an {@link AmpDateTime}. */
export interface AmpDateTimeFields {
  /** 1..9999 */
  year: number;
  /** 1..12 */
  month: number;
  /** 1..days in the month */
  day: number;
  /** 0..23 */
  hour: number;
  /** 0..59 */
  minute: number;
  /** 0..59 */
  second: number;
  /** 0..999999 */
  microsecond: number;
  /** Offset from UTC in minutes, -1439..1439 (positive east of Greenwich). */
  offsetMinutes: number;
}

/**
 * A date and wall-clock time with a fixed UTC offset and microseconds (an aware Python `datetime`
 * as AMP carries it). Fields are local to the offset; {@link AmpDateTime.toDate} gives the instant.
 */
export class AmpDateTime implements AmpDateTimeFields {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  readonly microsecond: number;
  readonly offsetMinutes: number;

  /** Validates every field (ranges as Python's `datetime`); throws {@link ArgumentError}. */
  constructor(fields: AmpDateTimeFields) {
    const f = fields;
    const check = (name: string, v: unknown, lo: number, hi: number): number => {
      if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) {
        throw new ArgumentError("DateTime", `${name} ${describe(v)} is not in ${lo}..${hi}.`);
      }
      return v;
    };
    this.year = check("year", f.year, 1, 9999);
    this.month = check("month", f.month, 1, 12);
    const dim = this.month === 2 && isLeap(this.year) ? 29 : DAYS_IN_MONTH[this.month - 1]!;
    this.day = check("day", f.day, 1, dim);
    this.hour = check("hour", f.hour, 0, 23);
    this.minute = check("minute", f.minute, 0, 59);
    this.second = check("second", f.second, 0, 59);
    this.microsecond = check("microsecond", f.microsecond, 0, 999999);
    this.offsetMinutes = check("offsetMinutes", f.offsetMinutes, -1439, 1439) + 0;
  }

  /**
   * The instant `date` seen at `offsetMinutes` from UTC (default 0), with `microsecond` (default the
   * date's milliseconds × 1000).
   */
  static fromDate(date: Date, offsetMinutes = 0, microsecond?: number): AmpDateTime {
    const t = date.getTime();
    if (!Number.isFinite(t)) throw new ArgumentError("DateTime", "invalid Date.");
    const local = new Date(t + offsetMinutes * 60000);
    return new AmpDateTime({
      year: local.getUTCFullYear(),
      month: local.getUTCMonth() + 1,
      day: local.getUTCDate(),
      hour: local.getUTCHours(),
      minute: local.getUTCMinutes(),
      second: local.getUTCSeconds(),
      microsecond: microsecond ?? local.getUTCMilliseconds() * 1000,
      offsetMinutes,
    });
  }

  /** The instant as a Date (microseconds truncated to milliseconds). */
  toDate(): Date {
    const d = new Date(0);
    d.setUTCFullYear(this.year, this.month - 1, this.day);
    d.setUTCHours(this.hour, this.minute, this.second, Math.floor(this.microsecond / 1000));
    return new Date(d.getTime() - this.offsetMinutes * 60000);
  }

  /** The 32-character wire form, `YYYY-MM-DDTHH:MM:SS.ffffff±HH:MM` (offset 0 as `-00:00`). */
  toString(): string {
    const off = this.offsetMinutes;
    const abs = Math.abs(off);
    return (
      `${pad(this.year, 4)}-${pad(this.month, 2)}-${pad(this.day, 2)}T` +
      `${pad(this.hour, 2)}:${pad(this.minute, 2)}:${pad(this.second, 2)}.${pad(this.microsecond, 6)}` +
      `${off > 0 ? "+" : "-"}${pad(Math.floor(abs / 60), 2)}:${pad(abs % 60, 2)}`
    );
  }

  toJSON(): string {
    return this.toString();
  }

  /** Same fields and offset. */
  equals(other: AmpDateTime): boolean {
    return this.toString() === other.toString();
  }
}

// Byte positions of the numeric fields in the 32-byte form.
const DT_RE =
  /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})\.([0-9]{6})([+-])([0-9]{2}):([0-9]{2})$/;

/**
 * A date-time with its UTC offset (Twisted's `DateTime`), as an {@link AmpDateTime}: exactly 32 ASCII
 * characters `YYYY-MM-DDTHH:MM:SS.ffffff±HH:MM`, UTC written `-00:00` (as Twisted does) and `+00:00`
 * accepted. Decoding checks the separators and digits (Twisted reads the fields by position and
 * ignores the separators: weft is stricter) and the ranges; offset minutes must be 00..59.
 */
export const DateTime: Argument<AmpDateTime> = {
  optional: false,
  name: "DateTime",
  encode: encodeAsText("DateTime", AmpDateTime, "AmpDateTime"),
  decode(bytes: Uint8Array): AmpDateTime {
    const m = bytes.length === 32 ? DT_RE.exec(ascii(bytes)) : null;
    if (m === null) throw new ArgumentError("DateTime", `invalid date-time ${show(bytes)}.`);
    const n = (i: number): number => Number(m[i]);
    const oh = n(9);
    const om = n(10);
    if (oh > 23 || om > 59)
      throw new ArgumentError("DateTime", `invalid UTC offset ${show(bytes)}.`);
    const offset = (oh * 60 + om) * (m[8] === "-" ? -1 : 1);
    return new AmpDateTime({
      year: n(1),
      month: n(2),
      day: n(3),
      hour: n(4),
      minute: n(5),
      second: n(6),
      microsecond: n(7),
      offsetMinutes: offset,
    });
  },
};

// ---------------------------------------------------------------------------------------------
// Compound: ListOf, AmpList, optional

function wrap(typeName: string, e: unknown, what: string): ArgumentError {
  const reason = e instanceof Error ? e.message : String(e);
  return new ArgumentError(typeName, `${what}: ${reason}`, { cause: e });
}

/**
 * A list of values of one simple type (Twisted's `ListOf`): each element as a uint16 BE length and
 * its encoding; `[]` is the empty value. A trailing partial element is refused with
 * {@link ArgumentError} (Twisted silently drops it).
 */
export function ListOf<T>(element: Argument<T>): Argument<T[]> {
  const name = `ListOf(${element.name})`;
  return {
    optional: false,
    name,
    encode(values: T[]): Uint8Array {
      if (!Array.isArray(values))
        throw new ArgumentError(name, `expected an array, got ${describe(values)}.`);
      const parts: Uint8Array[] = [];
      let total = 0;
      for (let i = 0; i < values.length; i++) {
        let b: Uint8Array;
        try {
          b = element.encode(values[i] as T);
        } catch (e) {
          throw wrap(name, e, `element ${i}`);
        }
        if (b.length > 0xffff)
          throw new ArgumentError(name, `element ${i} is longer than 65535 bytes.`);
        parts.push(b);
        total += 2 + b.length;
      }
      const out = new Uint8Array(total);
      let pos = 0;
      for (const b of parts) {
        out[pos] = b.length >>> 8;
        out[pos + 1] = b.length & 0xff;
        out.set(b, pos + 2);
        pos += 2 + b.length;
      }
      return out;
    },
    decode(bytes: Uint8Array): T[] {
      const out: T[] = [];
      let pos = 0;
      const n = bytes.length;
      while (pos < n) {
        if (pos + 2 > n) throw new ArgumentError(name, `truncated element length at byte ${pos}.`);
        const len = (bytes[pos]! << 8) | bytes[pos + 1]!;
        const start = pos + 2;
        if (start + len > n) {
          throw new ArgumentError(
            name,
            `element ${out.length} needs ${len} bytes, ${n - start} left.`,
          );
        }
        try {
          out.push(element.decode(bytes.subarray(start, start + len)));
        } catch (e) {
          throw wrap(name, e, `element ${out.length}`);
        }
        pos = start + len;
      }
      return out;
    },
  };
}

/** Encodes one object of `schema` as a box (missing optional keys omitted). */
export function encodeSchemaBox<S extends ArgumentSchema>(
  typeName: string,
  schema: S,
  value: SchemaValues<S>,
): AmpBox {
  const box: AmpBox = new Map();
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(schema)) {
    const arg = schema[key]!;
    const v = obj[key];
    if (v === undefined) {
      if (arg.optional) continue;
      throw new ArgumentError(typeName, `missing required key ${JSON.stringify(key)}.`);
    }
    try {
      box.set(key, arg.encode(v));
    } catch (e) {
      throw wrap(typeName, e, `key ${JSON.stringify(key)}`);
    }
  }
  return box;
}

/** Decodes one box with `schema` (extra keys ignored; absent optional keys left undefined). */
export function decodeSchemaBox<S extends ArgumentSchema>(
  typeName: string,
  schema: S,
  box: AmpBox,
): SchemaValues<S> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(schema)) {
    const arg = schema[key]!;
    const bytes = box.get(key);
    if (bytes === undefined) {
      if (arg.optional) continue;
      throw new ArgumentError(typeName, `missing required key ${JSON.stringify(key)}.`);
    }
    try {
      out[key] = arg.decode(bytes);
    } catch (e) {
      throw wrap(typeName, e, `key ${JSON.stringify(key)}`);
    }
  }
  return out as SchemaValues<S>;
}

/**
 * A list of structured values (Twisted's `AmpList`): each element encoded as a whole box (keys
 * sorted, `00 00`-terminated) from `schema`, concatenated; `[]` is the empty value. Nesting is
 * allowed. Optional schema keys are omitted when undefined; a truncated box is refused.
 */
export function AmpList<S extends ArgumentSchema>(schema: S): Argument<Array<SchemaValues<S>>> {
  const name = `AmpList(${Object.entries(schema)
    .map(([k, a]) => `${k}: ${a.name}`)
    .join(", ")})`;
  return {
    optional: false,
    name,
    encode(values: Array<SchemaValues<S>>): Uint8Array {
      if (!Array.isArray(values))
        throw new ArgumentError(name, `expected an array, got ${describe(values)}.`);
      const parts: Uint8Array[] = [];
      let total = 0;
      for (let i = 0; i < values.length; i++) {
        let b: Uint8Array;
        try {
          b = encodeBox(encodeSchemaBox(name, schema, values[i]!));
        } catch (e) {
          throw wrap(name, e, `element ${i}`);
        }
        parts.push(b);
        total += b.length;
      }
      const out = new Uint8Array(total);
      let pos = 0;
      for (const b of parts) {
        out.set(b, pos);
        pos += b.length;
      }
      return out;
    },
    decode(bytes: Uint8Array): Array<SchemaValues<S>> {
      const out: Array<SchemaValues<S>> = [];
      const state: { failure: Error | null } = { failure: null };
      const decoder = new BoxDecoder({
        onFrame: (box) => {
          if (state.failure !== null) return;
          try {
            out.push(decodeSchemaBox(name, schema, box));
          } catch (e) {
            state.failure = e as Error;
          }
        },
        onError: (e) => {
          state.failure ??= wrap(name, e, `element ${out.length}`);
        },
      });
      decoder.feed(bytes);
      decoder.end();
      if (state.failure !== null) throw state.failure;
      return out;
    },
  };
}

/**
 * The same type, optional: in a command or AmpList schema its key is omitted when the value is
 * `undefined`, and an absent key decodes to `undefined`.
 */
export function optional<T>(
  arg: Argument<T>,
): Argument<T | undefined> & { readonly optional: true } {
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
