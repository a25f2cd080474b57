import { defineConfig } from "vitest/config";

/**
 * `npm run soak`: long repetitions of the stop, limit and load tests (files `test/soak/*.soak.ts`),
 * kept out of `npm test` (whose include is `test/**\/*.test.ts`). Files run one at a time, so one
 * soak's load does not skew another's timing.
 */
export default defineConfig({
  test: {
    include: ["test/soak/**/*.soak.ts"],
    testTimeout: 600_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    passWithNoTests: true,
  },
});
