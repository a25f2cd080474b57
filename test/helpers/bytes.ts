/** Byte helpers for tests: hex and latin-1 ("ascii") views of bytes, and concatenation. */
export { concat } from "../../src/testing/bytes.js";

/** The bytes as lowercase hex, two digits each. */
export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** The bytes written as hex (white space ignored). */
export function fromHex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text.replace(/\s+/g, ""), "hex"));
}

/** The bytes as a string of one character per byte (latin-1), for readable assertions. */
export function ascii(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}

/** One byte per character (latin-1) of `text`. */
export function bytesOf(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, "latin1"));
}
