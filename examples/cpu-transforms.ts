/**
 * Transforms too heavy for the event loop, run in worker threads by transform-threads.ts. This
 * module is imported by the workers only (the server imports its types).
 */
import { pbkdf2Sync } from "node:crypto";

/** Key stretching: `iterations` rounds of PBKDF2-SHA256 over the text (CPU-bound, synchronous). */
export function stretch(text: string, iterations: number): string {
  return pbkdf2Sync(text, "weft", iterations, 16, "sha256").toString("hex");
}
