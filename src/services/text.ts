/** Small byte/text helpers shared by the front-ends. */
import { Buffer, isUtf8 } from "node:buffer";

// Measured on Node 20: a fatal TextDecoder (simdutf inside) validates and decodes a short line about
// 2–4× faster than wrapping the view in a Buffer for isUtf8 + toString.
const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lenient = new TextDecoder("utf-8", { ignoreBOM: true });

/** Decode strict UTF-8; `undefined` when the bytes are not valid UTF-8. A leading BOM is kept. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return strict.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Whether `bytes` are valid UTF-8 (one native pass). */
export { isUtf8 };

type Slicer = (this: Uint8Array, start: number, end: number) => string;
// Node's native non-validating UTF-8 slicer works on any Uint8Array and skips both the view
// allocation of `subarray` and the decoder's call overhead; fall back to a TextDecoder without it.
const nativeSlice = (Buffer.prototype as unknown as { utf8Slice?: Slicer }).utf8Slice;

/**
 * Decode `bytes[start, end)` as UTF-8 WITHOUT validation (invalid sequences become U+FFFD): only for
 * bytes already checked with {@link isUtf8}.
 */
export function sliceUtf8(bytes: Uint8Array, start: number, end: number): string {
  if (nativeSlice !== undefined) return nativeSlice.call(bytes, start, end);
  return lenient.decode(bytes.subarray(start, end));
}

/** A Buffer with Node's native slicer (present in every Node release; checked at load). */
export type SlicingBuffer = Buffer & { utf8Slice(start: number, end: number): string };

/** Whether `Buffer#utf8Slice` exists (else use {@link sliceUtf8}). */
export const HAS_UTF8_SLICE = nativeSlice !== undefined;
