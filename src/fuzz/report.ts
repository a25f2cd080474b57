/** What `weft fuzz` prints: the live status line, periodic lines, the findings table, the JSON object. */
import { escapeBytes } from "./escapes.js";
import { type Finding, findingJson, replayCommand } from "./findings.js";

/** `cases 1234  1,020 cases/s  findings 1  elapsed 3.2s`. */
export function statusLine(cases: number, findings: number, elapsedMs: number): string {
  const s = Math.max(elapsedMs, 1) / 1000;
  return `cases ${cases}  ${Math.round(cases / s)} cases/s  findings ${findings}  elapsed ${s.toFixed(1)}s`;
}

/** The replay command of a finding (its file must have been written). */
export function findingReplay(f: Finding, endpoint: string): string {
  return replayCommand(f.file ?? "<no file>", endpoint);
}

/** The findings as a table: oracle, case, input (escaped, cut), chunks, what was observed. */
export function findingsTable(findings: readonly Finding[], endpoint: string): string {
  if (findings.length === 0) return "no findings\n";
  const lines: string[] = [`${findings.length} finding${findings.length === 1 ? "" : "s"}:`];
  for (const [i, f] of findings.entries()) {
    const c = f.case;
    lines.push(
      `${i + 1}. ${f.oracle}  (case ${f.caseNumber}, seed ${f.seed}, ${f.hits} hit${f.hits === 1 ? "" : "s"}${f.shrunk ? ", shrunk" : ", not shrunk"})`,
      `   input    "${escapeBytes(c.bytes, 160)}" (${c.bytes.length} bytes)`,
      `   delivery chunks [${c.chunks.join(", ")}]${c.delays.some((d) => d > 0) ? ` delays [${c.delays.join(", ")}] ms` : ""}${c.halfClose ? ", half-close" : ""}`,
      `   observed ${f.observed}`,
      `   expected ${f.expected}`,
      `   replay   ${findingReplay(f, endpoint)}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/** The `--json` object. */
export function jsonReport(
  cases: number,
  findings: readonly Finding[],
  endpoint: string,
  extra: Record<string, unknown>,
): string {
  return `${JSON.stringify({
    cases,
    findings: findings.map((f) => findingJson(f, findingReplay(f, endpoint))),
    ...extra,
  })}\n`;
}
