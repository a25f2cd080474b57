/** The netstring encoder: `<length>:<payload>,`. */
import { toBytes } from "../../framing/bytes.js";
import { COMMA_BYTE } from "./decoder.js";

const textEncoder = new TextEncoder();

/** The header `<length>:` of a netstring carrying `length` bytes. */
export function netstringHeader(length: number): Uint8Array {
  return textEncoder.encode(`${length}:`);
}

/** The wire bytes of one netstring (`<len>:<data>,`), in one new buffer. */
export function encodeNetstring(data: Uint8Array | string): Uint8Array {
  const bytes = toBytes(data);
  const head = netstringHeader(bytes.length);
  const out = new Uint8Array(head.length + bytes.length + 1);
  out.set(head, 0);
  out.set(bytes, head.length);
  out[out.length - 1] = COMMA_BYTE;
  return out;
}

export const COMMA_PIECE = Uint8Array.of(COMMA_BYTE);
