/** `weft calc --via pb|amp|line|xmlrpc`: the same calculator service over each front-end. */
import { afterAll, describe, expect, it } from "vitest";
import { run } from "../../src/cli/main.js";
import type { ListeningPort } from "../../src/core/reactor.js";
import { CalculatorAMPFactory } from "../../src/services/calculator/amp.js";
import { CalculatorLineFactory } from "../../src/services/calculator/line.js";
import { CalculatorPBFactory } from "../../src/services/calculator/pb.js";
import { CalculatorService } from "../../src/services/calculator/service.js";
import { CalculatorXmlRpcServer } from "../../src/services/calculator/xmlrpc.js";
import { closeAll, listen } from "../services/helpers.js";

const http: ListeningPort[] = [];
afterAll(async () => {
  await closeAll();
  for (const p of http) await p.stopListening({ closeConnections: true });
});

async function calc(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await run(["calc", ...args], {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
  });
  return { code, stdout, stderr };
}

describe("weft calc --via", () => {
  const service = new CalculatorService();

  it("speaks PB by default and prints the article's tuples and total", async () => {
    const ports = [
      await listen(new CalculatorPBFactory(service, { serverId: 0 })),
      await listen(new CalculatorPBFactory(service, { serverId: 1 })),
      await listen(new CalculatorPBFactory(service, { serverId: 2 })),
    ];
    const r = await calc(["42", "47", "--ports", ports.join(",")]);
    expect(r).toEqual({ code: 0, stdout: "(89, 0)\n(89, 1)\n(89, 2)\ntotal: 267\n", stderr: "" });
  });

  it("speaks AMP, lines and XML-RPC on request", async () => {
    const amp = await listen(new CalculatorAMPFactory(service, { serverId: 0 }));
    const line = await listen(new CalculatorLineFactory(service, { serverId: 4 }));
    const xmlrpc = await new CalculatorXmlRpcServer(service, { serverId: 5 }).listen({ port: 0 });
    http.push(xmlrpc);
    expect((await calc(["1", "2", "--via", "amp", "--ports", String(amp)])).stdout).toBe(
      "(3, 0)\ntotal: 3\n",
    );
    expect(
      (await calc(["1", "2", "--via", "line", "--ports", String(line), "-n", "2"])).stdout,
    ).toBe("(3, 4)\n(3, 4)\ntotal: 6\n");
    const big = await calc([
      String(2n ** 70n),
      "1",
      "--via",
      "xmlrpc",
      "--ports",
      String(xmlrpc.getHost().port),
    ]);
    expect(big.stdout).toBe(`(${2n ** 70n + 1n}, 5)\ntotal: ${2n ** 70n + 1n}\n`);
  });

  it("refuses an unknown protocol (exit 2) and reports a failed call (exit 1)", async () => {
    expect((await calc(["1", "2", "--via", "smtp"])).code).toBe(2);
    const down = await calc(["1", "2", "--via", "pb", "--ports", "1", "--timeout", "5"]);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/weft calc: .*ERR_CONNECTION_REFUSED/);
  });
});
