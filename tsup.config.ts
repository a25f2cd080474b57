import { writeFile } from "node:fs/promises";
import { defineConfig } from "tsup";

/**
 * One copy of every class, whichever way weft is loaded. The library is built once, as ES modules
 * with code splitting: `weft`, `weft/testing`, `weft/services` and the CLI import their classes from
 * the same shared chunks (one `Clock`, one `ConnectionDone`, one front-end registry), so a module that
 * `weft serve --config` loads reaches the registry the CLI uses. The CommonJS entries are one line
 * each, `module.exports = require("./index.js")`: Node ≥ 20.19 (and ≥ 22.12) loads an ES module from
 * `require` (`engines` says so), so `require("weft")` and `import("weft")` are the same objects too —
 * no second bundle, no dual-package hazard. Only their type declarations (`.d.cts`) are built apart.
 * (tsup's own CJS splitting is not used: it rewrites class fields into `__init` methods and breaks
 * classes that build an instance in a static block.)
 */
const library = {
  index: "src/index.ts",
  testing: "src/testing/index.ts",
  services: "src/services/index.ts",
  db: "src/db/index.ts",
};

// tsup 8.5.1's DTS worker passes `baseUrl`, which TS 6.0 rejects (TS5101) unless silenced.
const dtsCompilerOptions = { ignoreDeprecations: "6.0" };

export default defineConfig([
  {
    // db-sqlite-worker: the module an SQLite connection's worker thread imports (src/db/sqlite.ts
    // finds it next to its own chunk); an entry of its own, not a public one.
    entry: { ...library, cli: "src/cli/main.ts", "db-sqlite-worker": "src/db/sqlite-worker.ts" },
    format: ["esm"],
    splitting: true,
    dts: { entry: library, compilerOptions: dtsCompilerOptions },
    sourcemap: true,
    target: "node20",
    platform: "node",
    async onSuccess() {
      for (const name of Object.keys(library)) {
        await writeFile(
          `dist/${name}.cjs`,
          `"use strict";\n// weft is ES modules; require() loads them (Node >= 20.19), so both formats share one copy.\nmodule.exports = require("./${name}.js");\n`,
        );
      }
    },
  },
  {
    entry: library,
    format: ["cjs"],
    dts: { entry: library, only: true, compilerOptions: dtsCompilerOptions },
    target: "node20",
    platform: "node",
  },
]);
