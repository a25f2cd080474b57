/** Shared by the database tests: the run's PostgreSQL (vitest global setup) and failure capture. */
import { inject } from "vitest";

/** The PostgreSQL server the global setup started; throws its reason when there is none. */
export function testPostgres(): { dir: string; url: string } {
  const p = inject("postgres");
  if (typeof p === "string") throw new Error(p);
  return p;
}

/** The error `p` fails with; throws when it succeeds. */
export async function failureOf(p: PromiseLike<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a failure");
}

/** A table name no other test uses. */
export function uniqueTable(prefix: string): string {
  return `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
}
