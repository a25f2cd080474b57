/**
 * The lossless stop in the library: `stopListening({ closeConnections: true })` on a port with
 * pipelining clients still sending loses no reply, closes each connection after its last reply,
 * runs the factory's `doStop` after the last connection; a connection still busy at the timeout is
 * cut and reported to `onCut` with what was pending.
 */
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { CutConnection, ListeningPort } from "../../src/core/listening-port.js";
import { createReactor } from "../../src/core/reactor.js";
import { PoetryService } from "../../src/services/poetry/service.js";
import { SlowPoetryFactory } from "../../src/services/poetry/slow.js";
import { TransformAMPFactory } from "../../src/services/transform/amp.js";
import { TransformLineFactory } from "../../src/services/transform/line.js";
import { TransformService } from "../../src/services/transform/service.js";
import { ampScenario, lineScenario, stopUnderLoad } from "./stop-helpers.js";

const reactor = createReactor();
const open: ListeningPort[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.stopListening({ closeConnections: true })));
});

describe("stopListening({ closeConnections: true }) loses nothing", () => {
  it("line: 100 connections × 500 pipelined requests still being sent", async () => {
    const factory = new TransformLineFactory(new TransformService());
    let factoryStoppedWith = -1;
    const port = await reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
    factory.stopFactory = () => {
      factoryStoppedWith = port.connections.size;
    };
    let stopped: Promise<void> = Promise.resolve();
    const run = await stopUnderLoad(
      port.getHost().port,
      lineScenario(100, 500, { chunks: 5 }),
      () => {
        stopped = port.stopListening({ closeConnections: true, timeout: 30 });
      },
    );
    await stopped;
    expect(run).toEqual({ lost: 0, wrong: [], resets: 0 });
    expect(factoryStoppedWith).toBe(0);
  }, 60_000);

  it("AMP: 30 connections × 200 pipelined calls still being sent", async () => {
    const port = await reactor.listenTCP(0, new TransformAMPFactory(new TransformService()), {
      interface: "127.0.0.1",
    });
    let stopped: Promise<void> = Promise.resolve();
    const run = await stopUnderLoad(port.getHost().port, ampScenario(30, 200, 5), () => {
      stopped = port.stopListening({ closeConnections: true, timeout: 30 });
    });
    await stopped;
    expect(run).toEqual({ lost: 0, wrong: [], resets: 0 });
  }, 60_000);

  it("a slow poem longer than the timeout is cut at the timeout and reported with what was pending", async () => {
    const poetry = await PoetryService.bundled();
    const factory = new SlowPoetryFactory(poetry, {
      clock: reactor,
      bytesPerTick: 1,
      interval: 0.05,
    });
    const port = await reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
    open.push(port);
    const client = net.connect(port.getHost().port, "127.0.0.1");
    client.on("error", () => undefined);
    let received = 0;
    const closed = new Promise<void>((r) => client.on("close", () => r()));
    await new Promise<void>((r) => client.once("data", () => r()));
    client.on("data", (d: Buffer) => {
      received += d.length;
    });
    const cuts: CutConnection[] = [];
    const t0 = performance.now();
    await port.stopListening({ closeConnections: true, timeout: 0.5, onCut: (c) => cuts.push(c) });
    await closed;
    expect(performance.now() - t0).toBeGreaterThanOrEqual(450);
    expect(received).toBeGreaterThan(0);
    expect(cuts).toHaveLength(1);
    expect(cuts[0]?.peer.host).toBe("127.0.0.1");
    expect(cuts[0]?.pending.join(" ")).toMatch(/poem being sent \(\d+ of \d+ bytes\)/);
  });
});
