// `npm run bench`: installs the peer libraries (bench/package.json) on first use, then runs every
// suite under bench/<name>/run.ts in turn. `npm run bench -- receivers amp` runs only those.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";

if (!existsSync("bench/node_modules")) {
  process.stderr.write("bench: installing peer libraries (bench/package.json) …\n");
  execFileSync("npm", ["ci", "--prefix", "bench", "--no-audit", "--no-fund"], { stdio: "inherit" });
}
const wanted = process.argv.slice(2);
const suites = readdirSync("bench", { withFileTypes: true })
  .filter((e) => e.isDirectory() && existsSync(`bench/${e.name}/run.ts`))
  .map((e) => e.name)
  .filter((name) => wanted.length === 0 || wanted.includes(name))
  .sort();
for (const suite of suites) {
  process.stdout.write(`\n=== bench/${suite} ===\n`);
  execFileSync(process.execPath, ["--expose-gc", "--import", "tsx", `bench/${suite}/run.ts`], {
    stdio: "inherit",
  });
}
