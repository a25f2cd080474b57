/** Small byte/text helpers shared by the front-ends. */
import { Buffer, isUtf8 } from "node:buffer";

const encoder = new TextEncoder();

/** Decode strict UTF-8; `undefined` when the bytes are not valid UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  const buf = Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!isUtf8(buf)) return undefined;
  return buf.toString("utf8");
}

/** UTF-8 encode. */
export function encodeUtf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Index of the first `byte` in `bytes`, or -1. */
export function indexOfByte(bytes: Uint8Array, byte: number): number {
  return bytes.indexOf(byte);
}
