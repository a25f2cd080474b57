/** Byte helpers of weft/testing (internal: not re-exported by the testing barrel). */

/** The bytes of `parts`, one after another, in a new array. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
