/** Shared helpers of the shape tests: run a decoder over chunks and record what it reports. */
import { ShapeDecoder } from "../../../src/protocols/shapes/decoder.js";
import type { ShapeError } from "../../../src/protocols/shapes/errors.js";
import type { Shape } from "../../../src/protocols/shapes/shape.js";

/** A frame with every byte value turned into hex (views copied out while they are valid). */
export type Plain = Record<string, number | string>;

export const hex = (h: string): Uint8Array =>
  Uint8Array.from(Buffer.from(h.replace(/\s+/g, ""), "hex"));
export const toHex = (u: Uint8Array): string => Buffer.from(u).toString("hex");
export const latin1 = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, "latin1"));

/** Copies a frame's values out: numbers as they are, bytes as hex. */
export function plain(frame: object): Plain {
  const out: Plain = {};
  for (const [k, v] of Object.entries(frame))
    out[k] = v instanceof Uint8Array ? toHex(v) : Number(v);
  return out;
}

export interface Run {
  frames: Plain[];
  errors: ShapeError[];
  discards: ShapeError[];
  decoder: ShapeDecoder;
}

/** Feeds `chunks` (then `end()` unless told) and records frames, errors and discards. */
export function run(shape: Shape, chunks: readonly Uint8Array[], end = true): Run {
  const frames: Plain[] = [];
  const errors: ShapeError[] = [];
  const discards: ShapeError[] = [];
  const decoder = new ShapeDecoder(
    {
      onFrame: (f) => frames.push(plain(f)),
      onError: (e) => errors.push(e as ShapeError),
      onDiscard: (e) => discards.push(e),
    },
    shape,
  );
  for (const c of chunks) {
    const copy = c.slice();
    decoder.feed(copy);
    // Overwrite what was fed: a decoder keeping a view of a chunk for later would be caught.
    copy.fill(0xee);
  }
  if (end) decoder.end();
  return { frames, errors, discards, decoder };
}

/** Every byte alone, one chunk each. */
export function bytewise(bytes: Uint8Array): Uint8Array[] {
  return Array.from(bytes, (b) => Uint8Array.of(b));
}
