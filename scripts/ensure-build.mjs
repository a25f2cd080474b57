// Builds dist/ when it is missing or older than any file under src/ (used by `npm start`, `npm run bench`).
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

const out = "dist/cli.js";
if (
  !existsSync(out) ||
  statSync(out).mtimeMs <
    Math.max(newest("src"), statSync("package.json").mtimeMs, statSync("tsup.config.ts").mtimeMs)
) {
  process.stderr.write("weft: building dist/ …\n");
  rmSync("dist", { recursive: true, force: true });
  execFileSync(process.execPath, ["node_modules/tsup/dist/cli-default.js"], {
    stdio: ["ignore", "ignore", "inherit"],
  });
}
