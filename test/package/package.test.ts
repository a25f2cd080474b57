/**
 * The package as a user gets it, installed from its tarball (see helpers.ts): the files it ships,
 * the exact public API of `weft`, `weft/testing`, `weft/services` and `weft/db`, one copy of every class in
 * ESM and CJS (the CLI included), the dependencies the library entries load, the `weft` bin, and
 * the README's and docs/' code samples, run and type-checked against the installed package.
 */
import { existsSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  declaredExports,
  ensureBuilt,
  type Installed,
  installPacked,
  node,
  pkg,
  root,
} from "./helpers.js";
import { PUBLIC_API } from "./public-api.js";

const ENTRIES = [
  { name: "weft", file: "index" },
  { name: "weft/testing", file: "testing" },
  { name: "weft/services", file: "services" },
  { name: "weft/db", file: "db" },
] as const;

let installed: Installed;

beforeAll(() => {
  ensureBuilt(); // dist/ only when it is missing or older than src/
  installed = installPacked();
}, 600_000);

afterAll(() => installed?.dispose());

/** Runs an ES module script in the scratch project; returns its parsed JSON output. */
function runScript(source: string, ext: "mjs" | "cjs"): unknown {
  const file = join(installed.dir, `script-${Math.random().toString(36).slice(2)}.${ext}`);
  writeFileSync(file, source);
  const r = node([file], installed.dir);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout);
}

describe("the tarball", () => {
  it("ships ESM, CJS and type declarations for every entry, and every chunk they import", () => {
    for (const { file } of ENTRIES) {
      for (const ext of ["js", "cjs", "d.ts", "d.cts"]) {
        expect(installed.files, `${file}.${ext}`).toContain(`dist/${file}.${ext}`);
      }
    }
    expect(installed.files).toContain(pkg.bin["weft"]?.replace(/^\.\//, ""));
    for (const f of readdirSync(join(root, "dist"))) {
      if (!f.endsWith(".map")) expect(installed.files, f).toContain(`dist/${f}`);
    }
  });
});

describe("public API", () => {
  it("each entry declares exactly the names of test/package/public-api.ts, in .d.ts and .d.cts", () => {
    const files = ENTRIES.flatMap(({ file }) => [
      join(installed.weft, "dist", `${file}.d.ts`),
      join(installed.weft, "dist", `${file}.d.cts`),
    ]);
    const declared = declaredExports(files);
    ENTRIES.forEach(({ name }, i) => {
      expect(declared[2 * i], `${name} (.d.ts)`).toEqual(PUBLIC_API[name]);
      expect(declared[2 * i + 1], `${name} (.d.cts)`).toEqual(PUBLIC_API[name]);
    });
  });

  it("each entry's runtime exports, from import and from require, are the declared values", () => {
    const names = JSON.stringify(ENTRIES.map((e) => e.name));
    const esm = runScript(
      `const out = [];
       for (const name of ${names}) out.push(Object.keys(await import(name)).sort());
       console.log(JSON.stringify(out));`,
      "mjs",
    );
    const cjs = runScript(
      `console.log(JSON.stringify(${names}.map((name) => Object.keys(require(name)).sort())));`,
      "cjs",
    );
    const values = ENTRIES.map(({ name }) =>
      PUBLIC_API[name].filter((n) => !n.startsWith("type ")).sort(),
    );
    expect(esm).toEqual(values);
    expect(cjs).toEqual(values);
  });

  it("has one home for each name: no name is exported by two entries", () => {
    const seen = new Map<string, string>();
    for (const { name } of ENTRIES) {
      for (const n of PUBLIC_API[name]) {
        expect(seen.get(n), `${n} in ${name}`).toBeUndefined();
        seen.set(n, name);
      }
    }
  });
});

/** Class identity checks, the same from ESM and CJS: every entry's classes are weft's. */
const IDENTITY_CHECKS = `
  let reason;
  class Side extends w.Protocol {
    connectionLost(r) { reason = r; }
  }
  const pair = t.connectedPair(new Side(), new Side());
  pair.clientTransport.loseConnection();
  pair.pump.flush();
  const fired = [];
  const clock = new t.Clock();
  w.deferLater(clock, 1, () => fired.push(1));
  clock.advance(1);
  const checks = {
    "connectedPair's ConnectionDone is weft's": reason instanceof w.ConnectionDone,
    "... and a WeftError": reason instanceof w.WeftError,
    "a service front-end is a weft Factory": new s.TransformLineFactory(new s.TransformService()) instanceof w.Factory,
    "a service AMP is weft's AMP": s.ServiceAMP.prototype instanceof w.AMP,
    "a services error is a WeftError": new s.ConfigError("x") instanceof w.WeftError,
    "weft/testing's Clock drives weft's deferLater": fired.length === 1,
    "import and require give the same weft": ew.Deferred === w.Deferred && ew.AMP === w.AMP,
    "... the same weft/testing": et.Clock === t.Clock && et.MemoryTransport === t.MemoryTransport,
    "... the same weft/services": es.TransformService === s.TransformService,
    "... the same weft/db": ed.ConnectionPool === d.ConnectionPool && ed.QueryFailedError === d.QueryFailedError,
    "a weft/db error is a WeftError": new d.PoolClosedError() instanceof w.WeftError,
  };
  console.log(JSON.stringify(checks));
`;

describe("one copy of every class", () => {
  const allTrue = (checks: unknown): void => {
    expect(Object.keys(checks as object).length).toBeGreaterThan(5);
    for (const [what, ok] of Object.entries(checks as object)) expect(ok, what).toBe(true);
  };

  it("across weft, weft/testing, weft/services and weft/db, from ESM", () => {
    allTrue(
      runScript(
        `import * as w from "weft"; import * as t from "weft/testing"; import * as s from "weft/services";
         import * as d from "weft/db";
         import { createRequire } from "node:module";
         const require = createRequire(import.meta.url);
         const ew = require("weft"), et = require("weft/testing"), es = require("weft/services");
         const ed = require("weft/db");
         ${IDENTITY_CHECKS}`,
        "mjs",
      ),
    );
  });

  it("across weft, weft/testing, weft/services and weft/db, from CJS", () => {
    allTrue(
      runScript(
        `const w = require("weft"), t = require("weft/testing"), s = require("weft/services");
         const d = require("weft/db");
         (async () => {
           const ew = await import("weft"), et = await import("weft/testing"), es = await import("weft/services");
           const ed = await import("weft/db");
           ${IDENTITY_CHECKS}
         })();`,
        "cjs",
      ),
    );
  });

  /**
   * A config module (ESM or CJS) adds a front-end for the built-in transform service through
   * `weft/services`; the installed CLI must serve it, and the service instance the CLI hands the
   * module must be an instance of the module's own `weft/services` class (one copy of each class).
   */
  function serveRegistered(kind: "mjs" | "cjs"): unknown {
    const module = join(installed.dir, `hello-module.${kind}`);
    const body = `
      class Hello extends w.Protocol {
        connectionMade() { this.transport.write("hello"); this.transport.loseConnection(); }
      }
      const helloModule = s.defineWeftModule({
        frontEnds: [
          s.defineFrontEnd({
            service: "transform", protocol: "hello", description: "says hello",
            build: ({ service }) => {
              if (!(service instanceof s.TransformService)) throw new Error("two copies of TransformService");
              return w.Factory.forProtocol(Hello);
            },
          }),
        ],
      });`;
    writeFileSync(
      module,
      kind === "mjs"
        ? `import * as w from "weft"; import * as s from "weft/services"; ${body} export default helloModule;`
        : `const w = require("weft"), s = require("weft/services"); ${body} module.exports = helloModule;`,
    );
    const config = join(installed.dir, `suite-${kind}.json`);
    writeFileSync(
      config,
      JSON.stringify({
        modules: [`./hello-module.${kind}`],
        services: { transform: { listen: [{ protocol: "hello", endpoint: "tcp:0" }] } },
      }),
    );
    const serve = `
      const cli = await import(${JSON.stringify(join(installed.weft, pkg.bin["weft"] ?? ""))});
      let out = "";
      const io = {
        stdout: (text) => {
          out += text;
          if (/hello/.test(out)) setImmediate(() => process.kill(process.pid, "SIGINT"));
        },
        stderr: (text) => process.stderr.write(text),
      };
      const code = await cli.run(["serve", "--config", ${JSON.stringify(config)}, "--log-level", "silent"], io);
      console.log(JSON.stringify({ code, served: /transform\\s+hello/.test(out) }));`;
    return runScript(serve, "mjs");
  }

  it("the CLI shares the registry of weft/services: a module's front-end is served (ESM)", () => {
    expect(serveRegistered("mjs")).toEqual({ code: 0, served: true });
  });

  it("the CLI shares the registry of weft/services: a module's front-end is served (CJS)", () => {
    expect(serveRegistered("cjs")).toEqual({ code: 0, served: true });
  });
});

describe("dependencies", () => {
  /** The packages (by folder under node_modules) that CommonJS has loaded after `imports`. */
  const loadedAfter = (imports: string): unknown =>
    runScript(
      `${imports}
       import { createRequire } from "node:module";
       const cache = Object.keys(createRequire(import.meta.url).cache);
       const names = cache.map((f) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(f)?.[1]).filter(Boolean);
       console.log(JSON.stringify([...new Set(names)].sort()));`,
      "mjs",
    );

  it("weft, weft/testing and weft/services load neither commander nor pino; the CLI loads both", () => {
    const library = loadedAfter(
      `await import("weft"); await import("weft/testing"); await import("weft/services");`,
    );
    expect(library).not.toContain("commander");
    expect(library).not.toContain("pino");
    // Nor a database driver (optional peer dependencies, loaded by weft/db on first connect).
    expect(library).not.toContain("pg");
    expect(library).not.toContain("better-sqlite3");
    // The method sees them when they are loaded: the CLI's bin does.
    const cli = loadedAfter(
      `await import(${JSON.stringify(join(installed.weft, pkg.bin["weft"] ?? ""))});`,
    );
    expect(cli).toContain("commander");
    expect(cli).toContain("pino");
  });

  it("weft/db loads its drivers only when a pool connects, and names the missing one", () => {
    const driversAfterImport = loadedAfter(`await import("weft/db");`) as string[];
    expect(driversAfterImport).not.toContain("pg");
    expect(driversAfterImport).not.toContain("better-sqlite3");
    // The drivers are optional peers: not installed in the scratch project, so each pool fails
    // with DriverNotInstalledError (for SQLite, from its worker thread, which runs dist/db-sqlite-worker.js).
    const missing = runScript(
      `import { ConnectionPool } from "weft/db";
       const out = [];
       for (const database of ["postgres://weft@localhost/x?host=/nonexistent", "sqlite::memory:"]) {
         const pool = new ConnectionPool({ database, min: 0 });
         out.push(await pool.runQuery("SELECT 1").then(() => "ok", (e) => [e.name, e.code, e.driver]));
         await pool.close();
       }
       console.log(JSON.stringify(out));`,
      "mjs",
    );
    expect(missing).toEqual([
      ["DriverNotInstalledError", "ERR_DB_DRIVER_NOT_INSTALLED", "pg"],
      ["DriverNotInstalledError", "ERR_DB_DRIVER_NOT_INSTALLED", "better-sqlite3"],
    ]);
    // Installed, the SQLite driver runs in the package's worker entry.
    symlinkSync(
      join(root, "node_modules", "better-sqlite3"),
      join(installed.dir, "node_modules", "better-sqlite3"),
      "dir",
    );
    const works = runScript(
      `const { ConnectionPool } = require("weft/db");
       (async () => {
         const pool = new ConnectionPool({ database: "sqlite::memory:" });
         const rows = await pool.runQuery("SELECT 40 + ? AS n", [2]);
         await pool.close();
         console.log(JSON.stringify(rows));
       })();`,
      "cjs",
    );
    expect(works).toEqual([{ n: 42 }]);
  });

  it("declares side effects only for the CLI (which runs itself as the main module): no library chunk calls anything at load", () => {
    // Shape keepers are made lazily (framing/v8.ts) and the suite's registry is an immutable value,
    // so a bundler may drop any library chunk whose exports are unused.
    const chunks = readdirSync(join(root, "dist")).filter((f) => f.endsWith(".js"));
    const topLevelCalls = chunks.filter((f) =>
      /^[A-Za-z_$][\w$.]*\(.*\);$/m.test(readFileSync(join(root, "dist", f), "utf8")),
    );
    expect(topLevelCalls).toEqual([]);
    expect(pkg.sideEffects).toEqual(["./dist/cli.js"]);
  });

  it("depends on fast-check ^4 (the arbitraries' doc says so)", () => {
    expect(pkg.dependencies["fast-check"]).toMatch(/^\^4\./);
    const doc = readFileSync(join(root, "src", "testing", "arbitraries.ts"), "utf8");
    expect(doc).toContain(`\`${pkg.dependencies["fast-check"]}\``);
  });
});

describe("the weft bin", () => {
  it("prints its help", () => {
    const full = node([join(installed.weft, pkg.bin["weft"] ?? ""), "--help"]);
    expect(full.status).toBe(0);
    expect(full.stdout).toMatch(/serve/);
    expect(
      readFileSync(join(root, pkg.bin["weft"] ?? ""), "utf8").startsWith("#!/usr/bin/env node"),
    ).toBe(true);
  });
});

describe("README and docs/", () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const docs = existsSync(join(root, "docs"))
    ? readdirSync(join(root, "docs"))
        .filter((f) => f.endsWith(".md"))
        .sort()
        .map((f) => ({ name: `docs/${f}`, text: readFileSync(join(root, "docs", f), "utf8") }))
    : [];
  const sources = [{ name: "README.md", text: readme }, ...docs];
  const blocks = sources.flatMap(({ name, text }) =>
    [...text.matchAll(/```ts( example)?\n([\s\S]*?)```/g)].map((m, i) => ({
      name: `${name.replace(/[/.]/g, "-")}-${i}`,
      runnable: m[1] !== undefined,
      code: m[2] ?? "",
    })),
  );

  it("the README starts with the two commands a newcomer runs", () => {
    const head = readme.split("\n").slice(0, 12).join("\n");
    expect(head).toContain("npm ci && npm start");
    expect(head).toContain("npm ci && npm test");
  });

  it("runs the examples as printed, against the installed package", () => {
    const expected = ["hello, weft\n", "3\ntrue\n"];
    const runnable = blocks.filter((b) => b.runnable);
    expect(runnable).toHaveLength(expected.length);
    runnable.forEach((block, i) => {
      const file = join(installed.dir, `example-${block.name}.ts`);
      writeFileSync(file, block.code);
      const r = node(["--import", "tsx", file], installed.dir);
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(expected[i]);
    });
  });

  it("has TypeScript samples that type-check against the installed package", () => {
    expect(docs.length).toBeGreaterThanOrEqual(2);
    const files = blocks.map((block) => {
      const file = join(installed.dir, `snippet-${block.name}.ts`);
      // `export {}` makes each sample a module of its own, so their names don't collide.
      writeFileSync(file, `${block.code}\nexport {};\n`);
      return file;
    });
    const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
    const r = node(
      [
        tsc,
        "--noEmit",
        "--ignoreConfig",
        "--strict",
        "--exactOptionalPropertyTypes",
        "--noUncheckedIndexedAccess",
        "--noImplicitOverride",
        "--target",
        "es2022",
        "--module",
        "nodenext",
        "--moduleResolution",
        "nodenext",
        "--types",
        "node",
        "--skipLibCheck",
        ...files,
      ],
      installed.dir,
    );
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});
