/**
 * The package as a user installs it: `npm pack` of the built package, unpacked into
 * `node_modules/weft` of a scratch project outside the checkout, so every import goes through the
 * `exports` map and the `files` list. weft's own dependencies (and tsx, @types/node for the
 * examples) are links into this checkout's `node_modules`, so nothing is downloaded.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import ts from "typescript";

export const root = resolve(import.meta.dirname, "../..");

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node ...args` in `cwd`, bounded to 60 s. */
export function node(args: string[], cwd = root): Run {
  const r = spawnSync(process.execPath, args, { cwd, encoding: "utf8", timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Builds dist/ when it is missing or older than src/ (scripts/ensure-build.mjs). */
export function ensureBuilt(): void {
  execFileSync(process.execPath, ["scripts/ensure-build.mjs"], { cwd: root, stdio: "pipe" });
}

interface PackageJson {
  name: string;
  bin: Record<string, string>;
  dependencies: Record<string, string>;
  sideEffects?: unknown;
}

export const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as PackageJson;

/** A scratch project with the packed weft installed; `dispose()` removes it. */
export interface Installed {
  /** The scratch project's folder (its package.json is `"type": "module"`). */
  dir: string;
  /** The installed package's folder, `<dir>/node_modules/weft`. */
  weft: string;
  /** The files the tarball holds, relative to the package root. */
  files: string[];
  dispose(): void;
}

export function installPacked(): Installed {
  const dir = mkdtempSync(join(tmpdir(), "weft-package-"));
  const packed = execFileSync(
    "npm",
    ["pack", "--json", "--ignore-scripts", "--pack-destination", dir],
    { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
  );
  const [info] = JSON.parse(packed) as Array<{ filename: string; files: Array<{ path: string }> }>;
  if (info === undefined) throw new Error("npm pack printed no result");
  const modules = join(dir, "node_modules");
  const weft = join(modules, "weft");
  mkdirSync(weft, { recursive: true });
  execFileSync("tar", ["-xzf", join(dir, info.filename), "-C", weft, "--strip-components=1"]);
  for (const dep of [...Object.keys(pkg.dependencies), "tsx", "@types/node"]) {
    const target = join(modules, dep);
    mkdirSync(resolve(target, ".."), { recursive: true });
    symlinkSync(join(root, "node_modules", dep), target, "dir");
  }
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "consumer", type: "module" }));
  return {
    dir,
    weft,
    files: info.files.map((f) => f.path),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * The names each declaration file exports, sorted case-insensitively; type-only names carry a
 * `type ` prefix (what a user can `import`, as TypeScript sees it).
 */
export function declaredExports(files: string[]): string[][] {
  const program = ts.createProgram(files, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    types: ["node"],
    skipLibCheck: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const key = (name: string): string => name.replace(/^type /, "");
  return files.map((file) => {
    const source = program.getSourceFile(file);
    const moduleSymbol = source === undefined ? undefined : checker.getSymbolAtLocation(source);
    if (moduleSymbol === undefined) throw new Error(`${file} is not a module`);
    return checker
      .getExportsOfModule(moduleSymbol)
      .map((s) => {
        const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
        return target.flags & ts.SymbolFlags.Value ? s.name : `type ${s.name}`;
      })
      .sort((a, b) => {
        const [x, y] = [key(a).toLowerCase(), key(b).toLowerCase()];
        if (x !== y) return x < y ? -1 : 1;
        return key(a) < key(b) ? -1 : 1;
      });
  });
}
