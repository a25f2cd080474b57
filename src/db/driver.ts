/**
 * Loads a driver (an optional peer dependency) on first use, with `import()`: `weft` and
 * `weft/services` never load one, and `weft/db` loads only the one its pool needs.
 */
import { DriverNotInstalledError } from "./errors.js";

const loaded = new Map<string, Promise<unknown>>();

/**
 * The driver's module (its default export for a CommonJS package), or DriverNotInstalledError
 * when the package cannot be found. A module that loads but throws fails with its own error.
 */
export function loadDriver(name: string): Promise<unknown> {
  let p = loaded.get(name);
  if (p === undefined) {
    p = import(name).then(
      (mod: { default?: unknown }) => mod.default ?? mod,
      (err: unknown) => {
        loaded.delete(name);
        const code = (err as { code?: unknown } | null)?.code;
        if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") {
          throw new DriverNotInstalledError(name, { cause: err });
        }
        throw err;
      },
    );
    loaded.set(name, p);
  }
  return p;
}
