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
