/**
 * The package as a user gets it: the built `dist/` (ESM, CJS, types), the `exports` map for `weft`
 * and `weft/testing`, the `weft` bin, and the README's example run exactly as printed.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../..");

function node(
  args: string[],
  cwd = root,
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, args, { cwd, encoding: "utf8", timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  // Builds dist/ only when it is missing or older than src/.
  execFileSync(process.execPath, ["scripts/ensure-build.mjs"], { cwd: root, stdio: "pipe" });
}, 120_000);

describe("built package", () => {
  it("ships ESM, CJS and type declarations for both entry points", () => {
    for (const f of [
      "index.js",
      "index.cjs",
      "index.d.ts",
      "index.d.cts",
      "testing.js",
      "testing.cjs",
      "testing.d.ts",
      "testing.d.cts",
      "cli.js",
    ]) {
      expect(existsSync(join(root, "dist", f)), f).toBe(true);
    }
  });

  it("resolves `weft` and `weft/testing` through the exports map, from ESM and CJS", () => {
    const esm = node([
      "--input-type=module",
      "-e",
      `const w = await import("weft"); const t = await import("weft/testing");
       console.log([typeof w.Deferred, typeof w.Protocol, typeof w.createReactor, typeof w.NetstringReceiver,
         typeof w.LineReceiver, typeof w.Int32StringReceiver, typeof w.TransformService,
         typeof t.Clock, typeof t.MemoryTransport].join(","));`,
    ]);
    expect(esm.stderr).toBe("");
    expect(esm.stdout.trim()).toBe(Array(9).fill("function").join(","));
    const cjs = node([
      "-e",
      `const w = require("weft"); const t = require("weft/testing");
       console.log([typeof w.Deferred, typeof w.AMP, typeof t.Clock, typeof t.connectedPair].join(","));`,
    ]);
    expect(cjs.stderr).toBe("");
    expect(cjs.stdout.trim()).toBe("function,function,function,function");
  });

  it("has a working `weft` bin", () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
      bin: { weft: string };
    };
    const help = node([pkg.bin.weft, "--help"]);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/serve/);
    expect(readFileSync(join(root, pkg.bin.weft), "utf8").startsWith("#!/usr/bin/env node")).toBe(
      true,
    );
  });
});

describe("README", () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");

  it("starts with the two commands a newcomer runs", () => {
    const head = readme.split("\n").slice(0, 12).join("\n");
    expect(head).toContain("npm ci && npm start");
    expect(head).toContain("npm ci && npm test");
  });

  const dir = join(root, "test", "package", ".readme-run");
  const blocks = [...readme.matchAll(/```ts( example)?\n([\s\S]*?)```/g)].map((m) => ({
    runnable: m[1] !== undefined,
    code: m[2] ?? "",
  }));

  /** Runs `fn` with a fresh scratch folder inside the package (so `weft` resolves to it). */
  function inScratchDir(fn: () => void): void {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    try {
      fn();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it("runs its examples as printed", () => {
    const expected = ["hello, weft\n", "3\ntrue\n"];
    const runnable = blocks.filter((b) => b.runnable);
    expect(runnable).toHaveLength(expected.length);
    inScratchDir(() => {
      runnable.forEach((block, i) => {
        const file = join(dir, `example-${i}.ts`);
        writeFileSync(file, block.code);
        const r = node(["--import", "tsx", file]);
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
        expect(r.stdout).toBe(expected[i]);
      });
    });
  });

  it("has TypeScript snippets that type-check against the built package", () => {
    inScratchDir(() => {
      const files = blocks.map((block, i) => {
        const file = join(dir, `snippet-${i}.ts`);
        // `export {}` makes each snippet a module of its own, so their names don't collide.
        writeFileSync(file, `${block.code}\nexport {};\n`);
        return file;
      });
      const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
      const r = node([
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
      ]);
      expect(r.stdout + r.stderr).toBe("");
      expect(r.status).toBe(0);
    });
  });
});
