/**
 * Loading the weft modules a configuration names (`"modules": ["./my-protocols.mjs"]`) and reading a
 * configuration file. The module contract is documented in `definition.ts`.
 */
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ConfigError } from "../errors.js";
import { BUILTIN_REGISTRY } from "./builtins.js";
import { checkSuiteConfig, type SuiteConfig } from "./config.js";
import type { ServiceRegistry } from "./registry.js";

/** The URL `specifier` is imported from: a path relative to `baseDir`, an absolute path, or a `file:` URL. */
function moduleUrl(specifier: string, baseDir: string): string {
  if (specifier.startsWith("file:")) return specifier;
  if (isAbsolute(specifier) || specifier.startsWith("./") || specifier.startsWith("../"))
    return pathToFileURL(resolve(baseDir, specifier)).href;
  throw new Error(
    "must be a path relative to the config file (./my-module.mjs) or an absolute path; to use a package, add a file that re-exports it",
  );
}

/**
 * `base` plus the modules at `specifiers` (imported in order, relative to `baseDir`). Each module's
 * default export is a WeftModule. Throws ConfigError naming `config.modules[i]` when a module cannot
 * be imported or does not keep the contract.
 */
export async function registryWithModules(
  base: ServiceRegistry,
  specifiers: readonly string[],
  baseDir: string,
): Promise<ServiceRegistry> {
  let registry = base;
  for (const [i, specifier] of specifiers.entries()) {
    const where = `config.modules[${i}]`;
    let namespace: { default?: unknown };
    try {
      namespace = (await import(moduleUrl(specifier, baseDir))) as { default?: unknown };
    } catch (err) {
      const detail = err instanceof Error ? err.message : String(err);
      throw new ConfigError(`${where}: cannot load ${JSON.stringify(specifier)}: ${detail}`, {
        cause: err,
        issues: [{ path: where, message: `cannot load ${JSON.stringify(specifier)}: ${detail}` }],
      });
    }
    if (namespace.default === undefined) {
      const m = `${JSON.stringify(specifier)} has no default export (export default defineWeftModule({ … }))`;
      throw new ConfigError(`${where}: ${m}`, { issues: [{ path: where, message: m }] });
    }
    registry = registry.with(namespace.default, where);
  }
  return registry;
}

/** A configuration file, read and checked, with the registry its modules make. */
export interface LoadedSuiteConfig {
  /** The configuration, checked against `registry`. */
  readonly config: SuiteConfig;
  /** The registry given, plus the services and front-ends of the file's `modules`. */
  readonly registry: ServiceRegistry;
  /** The file's folder: what relative paths in it are resolved against. */
  readonly baseDir: string;
}

/**
 * Read the JSON configuration `file`, load its `modules` (relative to its folder) on top of
 * `base` (default: the built-in services), and check it. Throws ConfigError (its message starts
 * with the file name) on any problem.
 */
export async function loadSuiteConfig(
  file: string,
  base: ServiceRegistry = BUILTIN_REGISTRY,
): Promise<LoadedSuiteConfig> {
  const baseDir = dirname(resolve(file));
  const fail = (what: string, err: unknown): never => {
    const detail = err instanceof Error ? err.message : String(err);
    const issues = err instanceof ConfigError ? err.issues : [];
    throw new ConfigError(`${file}: ${what}${detail}`, { cause: err, issues });
  };
  let text = "";
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    fail("cannot read: ", err);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    fail("not valid JSON: ", err);
  }
  try {
    // The top level first: a "modules" that is not an array of paths is reported as such.
    const modules = modulesOf(json);
    const registry = await registryWithModules(base, modules, baseDir);
    checkSuiteConfig(json, registry);
    return { config: json as SuiteConfig, registry, baseDir };
  } catch (err) {
    return fail("", err);
  }
}

/** The `modules` of a parsed config, if it is an array of strings (the full check comes after). */
function modulesOf(json: unknown): string[] {
  if (typeof json !== "object" || json === null || !("modules" in json)) return [];
  const modules: unknown = json.modules;
  return Array.isArray(modules) && modules.every((m) => typeof m === "string") ? modules : [];
}
