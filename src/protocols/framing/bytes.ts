/** Byte helpers shared by the framings' encoders and receivers. */
import { Buffer } from "node:buffer";

const textEncoder = new TextEncoder();

/** `data` as bytes (a string UTF-8 encoded). */
export function toBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === "string" ? textEncoder.encode(data) : data;
}

/** A Buffer over the same memory as `u` (no copy). */
export function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/**
 * Payloads up to this size are sent as one concatenated write (one transport call, one small copy);
 * larger ones as pieces through `writeSequence` (no copy of the payload).
 */
export const SMALL_WRITE = 4096;
