/** The length-prefixed encoder: a payload's length prefix, and whole frames. */
import { WeftError } from "../../../core/errors.js";
import { toBytes } from "../../framing/bytes.js";
import { MAX_SAFE_LENGTH } from "../../framing/limits.js";
import type { LengthPrefix, LengthPrefixedOptions } from "./decoder.js";

/** `sendString` was given more bytes than the prefix can announce (code `ERR_STRING_TOO_LONG`). */
export class StringTooLongError extends WeftError {
  /** Bytes that were to be sent. */
  readonly length: number;
  /** The largest length the prefix can announce. */
  readonly maximum: number;

  constructor(length: number, maximum: number) {
    super("ERR_STRING_TOO_LONG", `Try to send ${length} bytes whereas maximum is ${maximum}`);
    this.length = length;
    this.maximum = maximum;
  }
}

/** Largest payload a fixed prefix of `width` bytes can announce. */
function prefixCapacity(prefix: LengthPrefix): number {
  if (prefix === "varint" || prefix === 8) return MAX_SAFE_LENGTH;
  return 2 ** (8 * prefix) - 1;
}

/** Encodes the length prefix alone for a payload of `length` bytes. */
export function encodeLengthPrefix(
  length: number,
  options: Omit<LengthPrefixedOptions, "maxLength"> = {},
): Uint8Array {
  const prefix = options.prefix ?? 4;
  const le = (options.endian ?? "big") === "little";
  const cap = prefixCapacity(prefix);
  if (length > cap) throw new StringTooLongError(length, cap);
  if (prefix === "varint") {
    const out: number[] = [];
    let v = length;
    while (v >= 0x80) {
      out.push((v % 128) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(v);
    return Uint8Array.from(out);
  }
  const out = new Uint8Array(prefix);
  let v = length;
  for (let k = 0; k < prefix; k++) {
    const byte = v % 256;
    v = Math.floor(v / 256);
    out[le ? k : prefix - 1 - k] = byte;
  }
  return out;
}

/**
 * The wire bytes of one frame: prefix + payload, in one new buffer. `maxLength` is not checked on
 * send (as Twisted); a payload too big for the prefix throws {@link StringTooLongError}.
 */
export function encodeLengthPrefixed(
  payload: Uint8Array | string,
  options: Omit<LengthPrefixedOptions, "maxLength"> = {},
): Uint8Array {
  const data = toBytes(payload);
  const head = encodeLengthPrefix(data.length, options);
  const out = new Uint8Array(head.length + data.length);
  out.set(head, 0);
  out.set(data, head.length);
  return out;
}
