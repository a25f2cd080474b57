/**
 * Where the bundled poems come from: weft's own package, never the current directory. Checked in
 * this checkout and in an installed layout (`PROJECT/node_modules/weft/{package.json,src,poems}`,
 * run from PROJECT, which has a `poems/` folder of its own) in a child process.
 */
import { spawn } from "node:child_process";
import { cp, mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundledPoemsDirectory, PoetryService } from "../../src/services/poetry/service.js";
import { type ChildOutput, collectOutput } from "../helpers/children.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

let project = "";
let installed = "";

/** In a child process with cwd `project`: the bundled poems folder and names of the installed copy. */
function probe(): Promise<ChildOutput> {
  const module = pathToFileURL(join(installed, "src", "services", "poetry", "service.ts")).href;
  const code = `const m = await import(${JSON.stringify(module)});
const p = await m.PoetryService.bundled();
console.log(JSON.stringify({ dir: m.bundledPoemsDirectory(), names: p.names() }));`;
  return collectOutput(
    spawn(process.execPath, ["--import", TSX, "--input-type=module", "-e", code], {
      cwd: project,
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
}

beforeAll(async () => {
  project = await mkdtemp(join(tmpdir(), "weft-poems-"));
  await writeFile(join(project, "package.json"), JSON.stringify({ name: "someone-else" }));
  await mkdir(join(project, "poems"));
  await writeFile(join(project, "poems", "aaa-not-weft.txt"), "not one of weft's poems\n");
  installed = join(project, "node_modules", "weft");
  await mkdir(installed, { recursive: true });
  await cp(join(ROOT, "package.json"), join(installed, "package.json"));
  await cp(join(ROOT, "src"), join(installed, "src"), { recursive: true });
  await cp(join(ROOT, "poems"), join(installed, "poems"), { recursive: true });
});

afterAll(async () => {
  await rm(project, { recursive: true, force: true });
});

describe("bundled poems", () => {
  it("in this checkout: the package's poems/ folder", async () => {
    expect(bundledPoemsDirectory()).toBe(join(ROOT, "poems"));
    expect((await PoetryService.bundled()).names()).toContain("blake-sick-rose");
  });

  it("installed in another project: the package's poems, not the project's", async () => {
    const r = await probe();
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { dir: string; names: string[] };
    expect(out.dir).toBe(join(installed, "poems"));
    expect(out.names).toEqual((await PoetryService.bundled()).names());
    expect(out.names).not.toContain("aaa-not-weft");
  }, 30_000);

  it("a package without its poems/ folder is a clear error, never the project's folder", async () => {
    await rename(join(installed, "poems"), join(installed, "poems-moved"));
    try {
      const r = await probe();
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(
        /Cannot find weft's bundled poems: the package at .* has no poems\//,
      );
      expect(r.stdout).toBe("");
    } finally {
      await rename(join(installed, "poems-moved"), join(installed, "poems"));
    }
  }, 30_000);
});
