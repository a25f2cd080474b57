/**
 * `weft fuzz` against the planted-bug servers of `targets/` (run in this process on 127.0.0.1,
 * port 0): each bug is found within a small budget, with a shrunk reproducer in the `--json`
 * report and a finding file that `weft fuzz replay` reproduces (exit 1) on a fresh copy of the
 * buggy server and not (exit 0) on the correct one. Time-to-find figures are in bench/fuzz.
 */
import { existsSync, readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import {
  inputOf,
  type JsonFinding,
  PROBE,
  report,
  startTarget,
  type Target,
  type TargetName,
  tempDir,
  weft,
} from "./helpers.js";

const running: Target[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((t) => t.close()));
});

async function target(name: TargetName): Promise<Target> {
  const t = await startTarget(name);
  running.push(t);
  return t;
}

/**
 * Each planted bug, the oracle that must name it, and the largest reproducer accepted. In this
 * process nothing restarts a target, so a server that stays broken (the crash, the poisoned
 * parser) cannot be shrunk here: `--spawn` does that (spawn.test.ts).
 */
const BUGS: ReadonlyArray<{
  name: TargetName;
  oracle: string;
  maxBytes: number;
  shrinks: boolean;
  args?: string[];
}> = [
  { name: "accepts-malformed", oracle: "accepted-malformed", maxBytes: 12, shrinks: true },
  { name: "wrong-length", oracle: "malformed-reply", maxBytes: 12, shrinks: true },
  { name: "hang", oracle: "hang", maxBytes: 16, shrinks: true },
  // One case at a time: with several in flight, the case reported may not be the one that broke it.
  {
    name: "poisoned",
    oracle: "liveness",
    maxBytes: 64,
    shrinks: false,
    args: ["--concurrency", "1"],
  },
  { name: "split-header", oracle: "inconsistent", maxBytes: 12, shrinks: true },
  { name: "crash", oracle: "crash", maxBytes: 64, shrinks: false },
];

function checkPlan(f: JsonFinding): void {
  const bytes = inputOf(f);
  expect(f.chunks.length).toBeGreaterThan(0);
  expect(f.chunks.reduce((a, b) => a + b, 0)).toBe(bytes.length);
  expect(f.delays).toHaveLength(f.chunks.length);
  expect(typeof f.halfClose).toBe("boolean");
  expect(f.seed).toBe(1);
  expect(f.case).toBeGreaterThanOrEqual(0);
  expect(f.observed).not.toBe("");
  expect(f.expected).not.toBe("");
  expect(f.replay).toMatch(/^weft fuzz replay \S+/);
}

describe("weft fuzz finds every planted bug", () => {
  for (const bug of BUGS) {
    it(`${bug.name}: a shrunk '${bug.oracle}' finding that replay reproduces`, async () => {
      const t = await target(bug.name);
      const out = tempDir();
      const res = await weft([
        "fuzz",
        "netstring",
        t.endpoint,
        ...PROBE,
        ...["--seed", "1", "--runs", "300", "--time", "3", "--timeout", "100", "--out", out],
        ...(bug.args ?? []),
        "--json",
      ]);
      const rep = report(res);
      expect(res.code, res.stderr).toBe(1);
      expect(rep.cases).toBeGreaterThan(0);
      const finding = rep.findings.find((f) => f.oracle === bug.oracle);
      expect(finding, JSON.stringify(rep.findings, null, 1)).toBeDefined();
      if (finding === undefined) return;
      checkPlan(finding);
      expect(inputOf(finding).length).toBeLessThanOrEqual(bug.maxBytes);
      if (bug.shrinks) expect(finding["shrunk"]).toBe(true);

      const file = String(finding["file"]);
      expect(existsSync(file)).toBe(true);
      expect(readFileSync(file, "utf8")).toContain(finding.input);
      const fresh = await target(bug.name);
      const again = await weft(["fuzz", "replay", file, fresh.endpoint]);
      expect(again.code, again.stdout + again.stderr).toBe(1);
      const correct = await target("correct");
      const fixed = await weft(["fuzz", "replay", file, correct.endpoint]);
      expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
    });
  }
});
