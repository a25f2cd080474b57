import net from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { type ClientEndpoint, connectProtocol } from "../../../src/core/endpoints.js";
import { AMP } from "../../../src/protocols/amp/protocol.js";
import {
  FibonacciAMPFactory,
  FibonacciNumberTooLargeError,
  Next,
} from "../../../src/services/fibonacci/amp.js";
import { FibonacciLineFactory } from "../../../src/services/fibonacci/line.js";
import { MemoryFibonacciStore } from "../../../src/services/fibonacci/memory-store.js";
import { FibonacciService } from "../../../src/services/fibonacci/service.js";
import { closeAll, endpoint, lines, listen } from "../helpers.js";

afterAll(closeAll);

async function ampClient(port: number): Promise<AMP> {
  return connectProtocol(endpoint(port) as ClientEndpoint, new AMP());
}

describe("fibonacci front-ends", () => {
  it("line: every line gets the next number, shared with the AMP port (distinct across both)", async () => {
    const service = new FibonacciService(new MemoryFibonacciStore());
    const linePort = await listen(new FibonacciLineFactory(service));
    const ampPort = await listen(new FibonacciAMPFactory(service));
    expect(await lines(linePort, "next\r\n\r\nanything\r\n", 3)).toEqual(["2", "3", "5"]);
    const amp = await ampClient(ampPort);
    expect(await amp.callRemote(Next, {})).toEqual({ position: 3, number: 8n });
    expect(await lines(linePort, "x\r\n", 1)).toEqual(["13"]);
    amp.transport.loseConnection();
  });

  it("AMP: past 65,535 digits a number needs acceptBig (big-value split); never truncated", async () => {
    const start = 313_600n; // F(313,603) has more than 65,535 digits
    const service = new FibonacciService(new MemoryFibonacciStore(start));
    const amp = await ampClient(await listen(new FibonacciAMPFactory(service)));
    await expect(amp.callRemote(Next, {})).rejects.toBeInstanceOf(FibonacciNumberTooLargeError);
    const big = await amp.callRemote(Next, { acceptBig: true });
    expect(big.position).toBe(Number(start + 1n));
    expect(big.number.toString().length).toBeGreaterThan(65_535);
    const { fibonacciAt } = await import("../../../src/services/fibonacci/sequence.js");
    expect(big.number).toBe(fibonacciAt(start + 1n));
    amp.transport.loseConnection();
  });

  it("line: a number longer than 16 KiB is sent whole (documented), a long request line closes", async () => {
    const service = new FibonacciService(new MemoryFibonacciStore(80_000n));
    const port = await listen(new FibonacciLineFactory(service));
    const [n] = await lines(port, "x\r\n", 1);
    expect(n?.length).toBeGreaterThan(16_384);
    const closed = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => s.write(`${"y".repeat(2000)}\r\n`));
      s.on("data", () => undefined);
      s.on("close", () => resolve(true));
    });
    expect(closed).toBe(true);
  });
});
