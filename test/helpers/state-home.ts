/**
 * vitest setup file: every test file gets its own `XDG_STATE_HOME` (a temp folder, removed after the
 * file). `weft serve` locks its default state folder (`$XDG_STATE_HOME/weft`), so servers started by
 * test files running in parallel must not share the user's `~/.local/state/weft` — nor leave state
 * in it. Child processes inherit the variable.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

const home = mkdtempSync(join(tmpdir(), "weft-state-home-"));
process.env["XDG_STATE_HOME"] = home;

afterAll(() => {
  rmSync(home, { recursive: true, force: true });
});
