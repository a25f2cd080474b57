import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Each test file its own $XDG_STATE_HOME: `weft serve` locks its default state folder there.
    setupFiles: ["test/helpers/state-home.ts"],
    // One throwaway PostgreSQL for the run (Unix socket only, ~1 s to start): test/helpers/postgres.ts.
    globalSetup: ["test/helpers/postgres-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
