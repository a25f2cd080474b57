/** The line encoder: a line and its delimiter, in one buffer. */
import { Buffer } from "node:buffer";
import { DEFAULT_LINE_DELIMITER } from "./decoder.js";
import { delimiterBytes } from "./scanner.js";

const encodedDelimiters = new Map<string, Buffer>();

/** @internal The delimiter as bytes (encoded strings are cached). */
export function delimiterOf(delimiter: Uint8Array | string): Uint8Array {
  if (typeof delimiter !== "string") return delimiter;
  let b = encodedDelimiters.get(delimiter);
  if (b === undefined) {
    b = delimiterBytes(delimiter);
    if (encodedDelimiters.size < 64) encodedDelimiters.set(delimiter, b);
  }
  return b;
}

/**
 * The wire bytes of one line: `line` (a string is UTF-8 encoded) followed by `delimiter` (default
 * `"\r\n"`), in one new buffer. Like Twisted, no check is made that `line` holds no delimiter or
 * fits a receiver's maximum length.
 */
export function encodeLine(
  line: Uint8Array | string,
  delimiter: Uint8Array | string = DEFAULT_LINE_DELIMITER,
): Uint8Array {
  const d = delimiterOf(delimiter);
  if (typeof line === "string") {
    const n = Buffer.byteLength(line, "utf8");
    const out = Buffer.allocUnsafe(n + d.length);
    out.write(line, 0, "utf8");
    out.set(d, n);
    return out;
  }
  const out = Buffer.allocUnsafe(line.length + d.length);
  out.set(line, 0);
  out.set(d, line.length);
  return out;
}
