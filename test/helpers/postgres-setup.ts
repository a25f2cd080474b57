/**
 * vitest global setup: one PostgreSQL server for the whole run (see postgres.ts), its socket
 * directory and URL provided to the tests (`inject("postgres")`), stopped and removed afterwards.
 * When PostgreSQL is not installed, `inject("postgres")` is the reason as a string, and the
 * database tests fail with it (they are not skipped: `.ci/run` installs the package).
 */
import type { TestProject } from "vitest/node";
import { startTestPostgres } from "./postgres.js";

declare module "vitest" {
  export interface ProvidedContext {
    postgres: { dir: string; url: string } | string;
  }
}

export default function setup(project: TestProject): () => void {
  let server: ReturnType<typeof startTestPostgres> | null = null;
  try {
    server = startTestPostgres();
    project.provide("postgres", { dir: server.dir, url: server.url });
  } catch (err) {
    project.provide("postgres", err instanceof Error ? err.message : String(err));
  }
  return () => server?.dispose();
}
