/** Byte helpers shared by the framings' encoders and receivers. */
import { Buffer } from "node:buffer";

const textEncoder = new TextEncoder();

/** `data` as bytes (a string UTF-8 encoded). */
export function toBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === "string" ? textEncoder.encode(data) : data;
}

/** The bytes of `parts`, one after another, in one new array (`total`: their summed length, if known). */
export function concatBytes(parts: readonly Uint8Array[], total = -1): Uint8Array {
  if (total < 0) {
    total = 0;
    for (const p of parts) total += p.length;
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
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
