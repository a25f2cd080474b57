import type { Deferred } from "../../src/core/deferred.js";

/** The result a Deferred holds right now: `null` while pending; the chain is passed on unchanged. */
export function outcome<T>(
  d: Deferred<T>,
): { ok: true; value: T } | { ok: false; error: Error } | null {
  let out: { ok: true; value: T } | { ok: false; error: Error } | null = null;
  d.addCallbacks(
    (value) => {
      out = { ok: true, value };
      return value;
    },
    (error) => {
      out = { ok: false, error };
      throw error;
    },
  );
  return out;
}
