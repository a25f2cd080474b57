/**
 * Internal helpers shared by the AMP codec (arguments.ts, command.ts) and the protocol's in-place
 * fast paths (protocol.ts), so both read paths give the same values and errors. Not exported from
 * the package's barrel.
 */
import { AmpError, ArgumentError } from "./errors.js";

/**
 * Integer.decode's fast path, on `buf[pos, pos + len)` in place: the value of plain decimal text of
 * 1–15 digits with an optional `-` (always a safe integer; `-0` gives 0), else NaN (the caller falls
 * back to the full parse). Shared by Integer.decode and the AMP protocol's in-place reader.
 */
export function smallIntegerAt(buf: Uint8Array, pos: number, len: number): number {
  if (len > 0 && len <= 15) {
    const neg = buf[pos] === 45;
    let j = neg ? 1 : 0;
    if (j < len) {
      let v = 0;
      for (; j < len; j++) {
        const d = (buf[pos + j] as number) - 48;
        if (d < 0 || d > 9) break;
        v = v * 10 + d;
      }
      if (j === len) return neg ? (v === 0 ? 0 : -v) : v;
    }
  }
  return Number.NaN;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** What to throw when `arg` cannot encode the value of `name`: its own AmpError, else an ArgumentError. */
export function encodeFailure(arg: { readonly name: string }, name: string, err: unknown): Error {
  if (err instanceof AmpError) return err;
  return new ArgumentError(arg.name, `cannot encode ${name}: ${errorText(err)}`, { cause: err });
}

/** What to throw when `arg` cannot decode the value of `name` (a `what`, e.g. "argument"). */
export function decodeFailure(
  arg: { readonly name: string },
  name: string,
  err: unknown,
  what = "argument",
): Error {
  if (err instanceof AmpError) return err;
  return new ArgumentError(arg.name, `cannot decode ${what} ${name}: ${errorText(err)}`, {
    cause: err,
  });
}

// ---------------------------------------------------------------------------------------------
// Text helpers of the argument types

/** The ASCII/latin1 text of `bytes` (one char per byte). */
export function ascii(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

/** The bytes of ASCII text. */
export function asciiBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** `bytes` for an error message: quoted, cut after 40 bytes. */
export function show(bytes: Uint8Array): string {
  const max = 40;
  const s = ascii(bytes.length > max ? bytes.subarray(0, max) : bytes);
  return JSON.stringify(s) + (bytes.length > max ? `… (${bytes.length} bytes)` : "");
}

/** A value for an error message. */
export function describe(value: unknown): string {
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "string")
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value instanceof Uint8Array) return `Uint8Array(${value.length})`;
  if (value === null) return "null";
  if (typeof value === "object") return value.constructor?.name ?? "object";
  return String(value);
}

/**
 * The `encode` of an argument whose values are `cls` instances written as their ASCII `toString()`
 * (Decimal, DateTime); anything else is refused naming `className`.
 */
export function encodeAsText<T extends object>(
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

/** An ArgumentError of `typeName` wrapping `e` (the failure of a part: `what`). */
export function wrap(typeName: string, e: unknown, what: string): ArgumentError {
  const reason = e instanceof Error ? e.message : String(e);
  return new ArgumentError(typeName, `${what}: ${reason}`, { cause: e });
}
