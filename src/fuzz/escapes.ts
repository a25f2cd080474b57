/**
 * The byte notation of `weft fuzz`: `--probe`/`--expect` are written with `\r \n \t \\ \xHH`
 * escapes (every other character is its UTF-8 bytes) or `@file` for binary, and findings show bytes
 * the same way, so an `observed` string can be pasted back into `--probe`.
 */
import { readFileSync } from "node:fs";
import { InvalidArgumentError } from "../core/errors.js";

const HEX = /^[0-9a-fA-F]{2}$/;

/** The bytes written by `text` with `\r \n \t \\ \xHH` escapes; InvalidArgumentError on a bad escape. */
export function unescapeBytes(text: string): Uint8Array {
  const out: number[] = [];
  const utf8 = new TextEncoder();
  let plain = "";
  const flush = () => {
    if (plain.length > 0) for (const b of utf8.encode(plain)) out.push(b);
    plain = "";
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch !== "\\") {
      plain += ch;
      continue;
    }
    flush();
    const next = text[i + 1];
    i++;
    switch (next) {
      case "r":
        out.push(0x0d);
        break;
      case "n":
        out.push(0x0a);
        break;
      case "t":
        out.push(0x09);
        break;
      case "\\":
        out.push(0x5c);
        break;
      case "x": {
        const hh = text.slice(i + 1, i + 3);
        if (!HEX.test(hh))
          throw new InvalidArgumentError(`bad escape "\\x${hh}": \\x needs two hex digits`);
        out.push(Number.parseInt(hh, 16));
        i += 2;
        break;
      }
      default:
        throw new InvalidArgumentError(
          next === undefined
            ? "a lone backslash ends the bytes: write \\\\ for a backslash"
            : `unknown escape "\\${next}": use \\r \\n \\t \\\\ or \\xHH`,
        );
    }
  }
  flush();
  return Uint8Array.from(out);
}

/** `--probe`/`--expect` values: `@file` reads the file's bytes, anything else is {@link unescapeBytes}. */
export function bytesArgument(text: string): Uint8Array {
  if (text.startsWith("@")) {
    const path = text.slice(1);
    try {
      return new Uint8Array(readFileSync(path));
    } catch (err) {
      throw new InvalidArgumentError(
        `cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
  return unescapeBytes(text);
}

/**
 * `bytes` in the escape notation: printable ASCII as is, `\r \n \t \\`, everything else `\xHH`.
 * At most `max` bytes are shown; a longer input ends with `…(+N bytes)`.
 */
export function escapeBytes(bytes: Uint8Array, max = Number.POSITIVE_INFINITY): string {
  let s = "";
  const n = Math.min(bytes.length, max);
  for (let i = 0; i < n; i++) {
    const b = bytes[i] as number;
    if (b === 0x5c) s += "\\\\";
    else if (b === 0x0d) s += "\\r";
    else if (b === 0x0a) s += "\\n";
    else if (b === 0x09) s += "\\t";
    else if (b >= 0x20 && b < 0x7f) s += String.fromCharCode(b);
    else s += `\\x${b.toString(16).padStart(2, "0")}`;
  }
  if (bytes.length > n) s += `…(+${bytes.length - n} bytes)`;
  return s;
}
