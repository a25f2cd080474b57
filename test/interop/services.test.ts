/**
 * weft's service front-ends against a real Twisted 22.4 client (/usr/bin/python3): the tutorial's
 * netstring transform protocol, the line protocol, and the AMP commands (Transform with its declared
 * error, Calculate with a big integer, GetPoem). If Twisted is missing this test FAILS (never skips).
 */
import { spawn, spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CalculatorAMPFactory } from "../../src/services/calculator/amp.js";
import { CalculatorService } from "../../src/services/calculator/service.js";
import { PoetryAMPFactory } from "../../src/services/poetry/amp.js";
import { PoetryService } from "../../src/services/poetry/service.js";
import { TransformAMPFactory } from "../../src/services/transform/amp.js";
import { TransformLineFactory } from "../../src/services/transform/line.js";
import { TransformNetstringFactory } from "../../src/services/transform/netstring.js";
import { TransformService } from "../../src/services/transform/service.js";
import { closeAll, listen } from "../services/helpers.js";

const here = dirname(fileURLToPath(import.meta.url));
const PYTHON = "/usr/bin/python3";

function requireTwisted(): void {
  const probe = spawnSync(PYTHON, ["-c", "import twisted; print(twisted.__version__)"], {
    encoding: "utf8",
  });
  if (probe.status !== 0) {
    throw new Error(
      `Twisted is required for the interop tests: ${PYTHON} -c "import twisted" failed (${probe.error?.message ?? probe.stderr.trim()}). Install python3-twisted.`,
    );
  }
}

function runPython(ports: Record<string, number>): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [join(here, "services_client.py"), JSON.stringify(ports)]);
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) reject(new Error(`services_client.py exited ${code}: ${err}`));
      else resolve(JSON.parse(out) as Record<string, unknown>);
    });
  });
}

let poetry: PoetryService;
const ports: Record<string, number> = {};

beforeAll(async () => {
  requireTwisted();
  const service = new TransformService();
  poetry = await PoetryService.bundled();
  ports["netstring"] = await listen(new TransformNetstringFactory(service));
  ports["line"] = await listen(new TransformLineFactory(service));
  ports["amp"] = await listen(new TransformAMPFactory(service));
  ports["calc"] = await listen(new CalculatorAMPFactory(new CalculatorService(), { serverId: 7 }));
  ports["poetry_amp"] = await listen(new PoetryAMPFactory(poetry));
});
afterAll(closeAll);

describe("a Twisted client against weft's service front-ends", () => {
  it("gets the same answers a weft client would", async () => {
    const out = await runPython(ports);
    expect(out["netstring"]).toEqual([["hello world"], ["☃ña"], [], []]);
    expect(out["line"]).toEqual([
      "OK HELLO",
      'ERROR ERR_UNKNOWN_TRANSFORM Unknown transform: "nope"',
      "OK Été Indien",
      "OK b\\n\\ra",
    ]);
    expect(out["amp"]).toEqual(["Uryyb, ☃", 'UnknownTransform: Unknown transform: "__proto__"']);
    expect(out["amp_pipelined"]).toEqual(Array.from({ length: 100 }, (_, i) => String(i)));
    expect(out["calc"]).toEqual([String(2n ** 70n - 5n), 7]);
    expect(out["poem"]).toBe(poetry.getPoem("blake-sick-rose").text);
    expect(out["poem_error"]).toBe('No poem named "nope"');
  });
});
