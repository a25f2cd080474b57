/**
 * The Decimal argument type (Twisted's `Decimal`) and its value class {@link AmpDecimal}.
 */
import type { Argument } from "./arguments.js";
import { ArgumentError } from "./errors.js";
import { ascii, describe, encodeAsText, show } from "./internal.js";

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
  readonly #text: string;
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
    this.#text = this.#format();
  }

  #format(): string {
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
    return this.#text;
  }

  /** The wire form, as `toString()` (so `JSON.stringify` writes it as a string, losing no digit). */
  toJSON(): string {
    return this.#text;
  }

  /** The nearest double (`Number(toString())`; NaN for NaN/sNaN). */
  toNumber(): number {
    if (this.kind === "infinity") return this.negative ? -Infinity : Infinity;
    if (this.isNaN) return Number.NaN;
    return Number(this.#text);
  }

  /** Same canonical text (Python's `==` is numeric: `1.1 == 1.10`; this is not). */
  equals(other: AmpDecimal): boolean {
    return this.#text === other.#text;
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
