/**
 * The receivers benchmark: lines (bench/receivers/lines.ts), netstrings and length-prefixed frames,
 * each measured against a hand-written limit loop, the peer libraries and Twisted on the same
 * input in one run. Prints one table and writes it to bench/receivers/RESULTS.md.
 *
 *   node --expose-gc --import tsx bench/receivers/run.ts [lines] [netstring] [length-prefixed]
 *
 * Env: BENCH_SAMPLES (default 3), BENCH_SCALE (default 1), BENCH_TWISTED=0,
 * BENCH_TWISTED_SAMPLES (default 1) — see common.ts.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { LIMIT, type Row, SAMPLES, SCALE } from "./common.js";
import { benchLengthPrefixed } from "./length-prefixed.js";
import { benchNetstrings } from "./netstring.js";

type Suite = () => Promise<Row[]>;

async function linesSuite(): Promise<Suite | null> {
  if (!existsSync(fileURLToPath(new URL("./lines.ts", import.meta.url)))) return null;
  const spec = "./lines.js";
  const mod = (await import(spec)) as { benchLines?: Suite };
  return mod.benchLines ?? null;
}

/** Target ratio of "weft push" to the limit, per scenario (the project's performance goals). */
function target(scenario: string): number {
  return scenario.includes("7 B chunks") ? 0.5 : 0.8;
}

function fmt(n: number, digits = 2): string {
  if (!Number.isFinite(n)) return "–";
  if (n >= 100) return n.toFixed(0);
  return n.toFixed(digits);
}

/** Frames per second, in millions when large. */
function rate(fps: number): string {
  if (!Number.isFinite(fps)) return "–";
  return fps >= 1e5 ? `${(fps / 1e6).toFixed(3)} M` : fps.toFixed(fps >= 100 ? 0 : 1);
}

function table(rows: Row[]): string {
  const out: string[] = [];
  const groups = new Map<string, Row[]>();
  for (const r of rows) {
    const key = `${r.framing} — ${r.scenario}`;
    const g = groups.get(key) ?? [];
    g.push(r);
    groups.set(key, g);
  }
  out.push("| framing / scenario | implementation | frames/s | MB/s | × limit | note |");
  out.push("|---|---|--:|--:|--:|---|");
  for (const [key, g] of groups) {
    const limit = g.find((r) => r.impl === LIMIT || r.impl.startsWith(`${LIMIT} `));
    for (const r of g) {
      const fps = r.frames / r.seconds;
      const mbps = r.bytes / r.seconds / 1e6;
      const ratio = limit ? limit.seconds / r.seconds : Number.NaN;
      let note = r.note ?? "";
      // The targets compare like with like: the limit's own format (u32be for length-prefixed).
      if ((r.impl === "weft push" || r.impl === "weft push (u32be)") && limit) {
        const goal = target(r.scenario);
        note = [note, ratio >= goal ? `target ≥ ${goal}× met` : `below target ${goal}×`]
          .filter((s) => s !== "")
          .join("; ");
      }
      out.push(
        `| ${key} | ${r.impl} | ${rate(fps)} | ${fmt(mbps, 1)} | ${fmt(ratio)}× | ${note} |`,
      );
    }
  }
  return out.join("\n");
}

/** The 1, 5 and 15 minute load averages (the machine is shared: read the figures beside them). */
function loadavg(): string {
  try {
    return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" / ");
  } catch {
    return "n/a";
  }
}

async function main(): Promise<void> {
  const loadStart = loadavg();
  const wanted = process.argv.slice(2);
  const want = (name: string) => wanted.length === 0 || wanted.includes(name);
  const suites: Array<[string, Suite]> = [];
  if (want("lines")) {
    const lines = await linesSuite();
    if (lines) suites.push(["lines", lines]);
    else process.stdout.write("(bench/receivers/lines.ts not found: lines skipped)\n");
  }
  if (want("netstring")) suites.push(["netstring", benchNetstrings]);
  if (want("length-prefixed")) suites.push(["length-prefixed", benchLengthPrefixed]);
  if (want("shapes")) suites.push(["shapes", (await import("./shapes.js")).benchShapes]);

  const rows: Row[] = [];
  const t0 = Date.now();
  for (const [name, suite] of suites) {
    const s0 = Date.now();
    process.stdout.write(`running ${name} …\n`);
    rows.push(...(await suite()));
    process.stdout.write(`  ${name} done in ${((Date.now() - s0) / 1000).toFixed(1)} s\n`);
  }
  const md = table(rows);
  process.stdout.write(`\n${md}\n\nTotal ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);

  if (wanted.length === 0) {
    const header = [
      "# bench/receivers — results",
      "",
      `One run of \`node --expose-gc --import tsx bench/receivers/run.ts\` on ${new Date().toISOString().slice(0, 10)},`,
      `Node ${process.version}, best of ${SAMPLES} runs (×10 for the 16 MiB frame), scale ${SCALE}, on a shared`,
      "2-core machine (other work was running: expect noise). Frames/s (M = millions); MB/s of",
      "input; × limit = speed relative to the hand-written limit loop on the same input (higher is",
      'better; for the 16 MiB frame the limit is collect + one concat). "weft push" is the decoder\'s',
      'own `feed()` API; "weft Transform" the same decoder behind a Node `Transform`. Twisted runs',
      "in CPython on the same bytes in memory (one sample). The limit loops (the best simple",
      "hand-written loop for each framing, no limits or error paths; see each file's `limitLoop`):",
      "lines — `Buffer#indexOf(10)` and a plain `new Uint8Array(buffer, offset, length)` view per",
      "line, a line spanning chunks kept as a list of views and joined by one `Buffer.concat`;",
      "netstrings — a digit scan up to `:` and a plain view per frame; length-prefixed —",
      "`readUInt32BE` and a plain view per frame (so the varint rows are not like-for-like). A",
      "netstring or length-prefixed frame spanning chunks is allocated once at its known length and",
      "each piece copied into it once (for the 16 MiB frame: collect + one concat without the list).",
      `Load average (\`/proc/loadavg\`, 1/5/15 min) at the start: ${loadStart}; at the end: ${loadavg()}.`,
      "",
    ].join("\n");
    writeFileSync(new URL("./RESULTS.md", import.meta.url), `${header}\n${md}\n`);
    process.stdout.write("wrote bench/receivers/RESULTS.md\n");
  }
}

await main();
