import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Each test file its own $XDG_STATE_HOME: `weft serve` locks its default state folder there.
    setupFiles: ["test/helpers/state-home.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
