/**
 * The weblog's line wire format, shared by the request-driven (8888) and push (8880) front-ends and
 * their clients. Every line ends with CRLF:
 * - `HIT <json>`: one hit, a JSON object with `id` and the fields of {@link Hit} (absent ones null);
 * - `DROPPED <n>`: `n` hits this client did not get (it fell more than the backlog behind), sent
 *   before the hits that follow them;
 * - `END`: the end of one answer to `NEW?` (request-driven only);
 * - `NONE`: the answer to `NEW?` when nothing is new (the seed's `<none/>`).
 */
import type { HitsSince, NumberedHit } from "./service.js";

/** One hit's line (without CRLF). */
export function hitLine(hit: NumberedHit): string {
  return `HIT ${JSON.stringify(hit)}`;
}

/** The lines (with CRLF) of `batch`: `DROPPED n` first when hits were dropped, then one `HIT` each. */
export function batchText(batch: HitsSince): string {
  let out = batch.dropped > 0 ? `DROPPED ${batch.dropped}\r\n` : "";
  for (const hit of batch.hits) out += `${hitLine(hit)}\r\n`;
  return out;
}

/** What one received line says: a hit, a drop count, or a marker; null for anything else. */
export type WeblogLine =
  | { kind: "hit"; hit: NumberedHit }
  | { kind: "dropped"; count: number }
  | { kind: "end" }
  | { kind: "none" };

/** Parse one line of the weblog format (client side). */
export function parseWeblogLine(line: string): WeblogLine | null {
  if (line === "END") return { kind: "end" };
  if (line === "NONE") return { kind: "none" };
  if (line.startsWith("DROPPED ")) {
    const count = Number(line.slice(8));
    return Number.isSafeInteger(count) && count > 0 ? { kind: "dropped", count } : null;
  }
  if (line.startsWith("HIT ")) {
    try {
      const hit = JSON.parse(line.slice(4)) as NumberedHit;
      return typeof hit === "object" && hit !== null && typeof hit.id === "number"
        ? { kind: "hit", hit }
        : null;
    } catch {
      return null;
    }
  }
  return null;
}
