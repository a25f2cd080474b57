/**
 * `commander` and `pino` serve only the `weft` command: nothing outside `src/cli/` imports them, so
 * the library entries (`weft`, `weft/testing`, `weft/services`) never load them. (The built bundles
 * are checked in test/cli/serve-modules.test.ts.)
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = join(import.meta.dirname, "..", "..", "src");

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sources(join(dir, e.name))
      : e.name.endsWith(".ts")
        ? [join(dir, e.name)]
        : [],
  );
}

describe("CLI-only dependencies", () => {
  it("no file outside src/cli imports commander or pino", () => {
    const outside = sources(SRC).filter((f) => !relative(SRC, f).startsWith("cli"));
    expect(outside.length).toBeGreaterThan(20);
    const offenders = outside.filter((f) =>
      /\bfrom\s+["'](commander|pino)["']|import\(\s*["'](commander|pino)["']|require\(\s*["'](commander|pino)["']/.test(
        readFileSync(f, "utf8"),
      ),
    );
    expect(offenders.map((f) => relative(SRC, f))).toEqual([]);
  });
});
