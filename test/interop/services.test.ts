/**
 * weft's service front-ends against a real Twisted 22.4 client (/usr/bin/python3): the tutorial's
 * netstring transform protocol, the line protocol, and the AMP commands (Transform with its declared
 * error, Calculate with a big integer, GetPoem). If Twisted is missing this test FAILS (never skips).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CalculatorAMPFactory } from "../../src/services/calculator/amp.js";
import { CalculatorService } from "../../src/services/calculator/service.js";
import { PoetryAMPFactory } from "../../src/services/poetry/amp.js";
import { PoetryService } from "../../src/services/poetry/service.js";
import { TransformAMPFactory } from "../../src/services/transform/amp.js";
import { TransformLineFactory } from "../../src/services/transform/line.js";
import { TransformNetstringFactory } from "../../src/services/transform/netstring.js";
import { TransformService } from "../../src/services/transform/service.js";
import { requireTwisted, runPython as runTwisted } from "../helpers/twisted.js";
import { closeAll, listen } from "../services/helpers.js";

async function runPython(ports: Record<string, number>): Promise<Record<string, unknown>> {
  const r = await runTwisted("services_client.py", [JSON.stringify(ports)]);
  if (r.code !== 0) throw new Error(`services_client.py exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

let poetry: PoetryService;
const ports: Record<string, number> = {};

beforeAll(async () => {
  requireTwisted("the services interop");
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
