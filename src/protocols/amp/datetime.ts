/**
 * The DateTime argument type (Twisted's `DateTime`) and its value class {@link AmpDateTime}.
 */
import type { Argument } from "./arguments.js";
import { ArgumentError } from "./errors.js";
import { ascii, describe, encodeAsText, show } from "./internal.js";

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

  /** The wire form, as `toString()` (so `JSON.stringify` writes it). */
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
