/**
 * The memory budget across connections (issue 10's memory rows, at bounded counts; full size in
 * bench/hardening): connections holding unfinished frames are aborted, largest first, once a
 * port's or the process's sum is over budget, and the server keeps answering others.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Clock } from "../../src/core/clock.js";
import type { ConnectionLimits } from "../../src/core/connection-limits.js";
import { Factory } from "../../src/core/factory.js";
import { ProcessLimits } from "../../src/core/process-limits.js";
import { createReactor, type ReactorOptions } from "../../src/core/reactor.js";
import { AMP } from "../../src/protocols/amp/protocol.js";
import { Cleanups } from "../helpers/loopback.js";
import {
  collectReports,
  echoFactory,
  echoOnce,
  pumpUntil,
  type Watched,
  waitFor,
  watchedClient,
  written,
} from "./limits-helpers.js";

const cleanups = new Cleanups();
afterEach(cleanups.run);

const MiB = 1024 * 1024;

async function listen(options: ReactorOptions, factory: Factory, l: ConnectionLimits) {
  const reactor = createReactor(options);
  const port = await reactor.listenTCP(0, factory, { interface: "127.0.0.1", limits: l });
  cleanups.push(() => port.stopListening({ closeConnections: true, timeout: 0 }));
  return port;
}

describe("memory budget", () => {
  it("netstring attack: 40 connections × 90 KB unfinished frames on a 1 MiB port budget → largest aborted, sum under budget, others served", async () => {
    const { lines, report } = collectReports();
    const process = new ProcessLimits({ memoryBudget: 64 * MiB, maxConnections: null });
    const clock = new Clock();
    const port = await listen({ clock }, echoFactory(), { memoryBudget: MiB, process, report });
    const n = port.getHost().port;
    const attackers: Watched[] = [];
    for (let i = 0; i < 40; i++) {
      const c = await watchedClient(n, cleanups);
      await written(c.socket, `99992:${"x".repeat(90_000)}`);
      attackers.push(c);
    }
    // Growth is accounted as it comes; each sweep (once a second) recounts exactly.
    await pumpUntil(
      clock,
      () =>
        attackers.filter((a) => a.closed).length + port.guard.records.length === 40 &&
        port.guard.total <= MiB,
      "the shedding",
    );
    expect(port.guard.total).toBeLessThanOrEqual(MiB);
    expect(process.total).toBe(port.guard.total);
    const open = attackers.filter((a) => !a.closed).length;
    expect(open).toBeGreaterThan(5); // only as many as needed were closed
    expect(open * 90_006).toBeLessThanOrEqual(MiB);
    expect(await echoOnce(n, cleanups, "still here")).toBe("10:still here,");
    expect(lines.length).toBeLessThanOrEqual(3); // rate-limited: one line per 10 s
    expect(lines[0]).toMatch(/memory budget of 1\.0 MiB exceeded: aborted the \d+ connection/);
  });

  it("AMP attack: unfinished boxes just under the 1 MiB box limit, on a 4 MiB budget; a box over the limit is refused", async () => {
    const { report } = collectReports();
    const process = new ProcessLimits({ memoryBudget: 64 * MiB, maxConnections: null });
    const port = await listen({ clock: new Clock() }, Factory.forProtocol(AMP), {
      memoryBudget: 4 * MiB,
      process,
      report,
    });
    const n = port.getHost().port;
    // One box: 15 pairs of 65,535-byte values (≈ 983 KB), never terminated.
    const pair = (i: number): Buffer => {
      const key = Buffer.from(`k${i}`);
      const head = Buffer.from([0, key.length]);
      const len = Buffer.alloc(2);
      len.writeUInt16BE(65535);
      return Buffer.concat([head, key, len, Buffer.alloc(65535, 120)]);
    };
    const box = Buffer.concat(Array.from({ length: 15 }, (_, i) => pair(i)));
    const attackers: Watched[] = [];
    for (let i = 0; i < 8; i++) {
      const c = await watchedClient(n, cleanups);
      c.socket.write(box);
      attackers.push(c);
    }
    await waitFor(() => attackers.filter((a) => a.closed).length >= 4, 5000, "the shedding");
    expect(port.guard.total).toBeLessThanOrEqual(4 * MiB);
    // 17 such pairs pass 1 MiB: the box decoder refuses it (BoxTooLarge closes the connection).
    const big = await watchedClient(n, cleanups);
    big.socket.write(Buffer.concat([box, pair(15), pair(16)]));
    await waitFor(() => big.closed, 3000, "the box limit");
  });

  it("the process budget spans ports: the connections holding the most across both are aborted", async () => {
    const { lines, report } = collectReports();
    const process = new ProcessLimits({ memoryBudget: 300_000, maxConnections: null });
    const clock = new Clock();
    const a = await listen({ clock }, echoFactory(), { process, report, memoryBudget: 8 * MiB });
    const b = await listen({ clock }, echoFactory(), { process, report, memoryBudget: 8 * MiB });
    const attackers: Watched[] = [];
    for (let i = 0; i < 24; i++) {
      const c = await watchedClient((i % 2 === 0 ? a : b).getHost().port, cleanups);
      await written(c.socket, `99992:${"y".repeat(10_000)}`);
      attackers.push(c);
    }
    // 240 KB held in all: within budget (a sweep makes the sums exact).
    await waitFor(() => a.guard.records.length + b.guard.records.length === 24, 3000, "accepts");
    // A netstring decoder counts the body bytes it holds (the 6-byte header is parsed).
    await pumpUntil(clock, () => process.total === 24 * 10_000, "the sums");
    expect(attackers.every((x) => !x.closed)).toBe(true);
    // One of them grows past the process budget: it is the one holding the most, and goes alone.
    await written(attackers[23]?.socket, "y".repeat(69_000));
    await waitFor(() => attackers[23]?.closed === true, 3000, "the largest aborted");
    clock.advance(1);
    await new Promise((r) => setTimeout(r, 50));
    expect(attackers.filter((x) => x.closed).length).toBe(1);
    expect(process.total).toBe(23 * 10_000);
    expect(process.total).toBe(a.guard.total + b.guard.total);
    expect(lines.some((l) => l.startsWith("process memory budget of 0.3 MiB"))).toBe(true);
    expect(await echoOnce(a.getHost().port, cleanups)).toBe("4:ping,");
  });

  it("unsent replies count: a client that never reads is aborted once its replies pass the budget", async () => {
    const { report } = collectReports();
    const process = new ProcessLimits({ memoryBudget: 64 * MiB, maxConnections: null });
    const port = await listen(
      { clock: new Clock(), pauseReadingOnFullBuffer: false },
      echoFactory(),
      { memoryBudget: 512 * 1024, process, report },
    );
    const c = await watchedClient(port.getHost().port, cleanups);
    c.socket.pause(); // never reads: the echoes pile up in the server's write buffer
    const frame = `50000:${"z".repeat(50_000)},`;
    for (let i = 0; i < 200 && !c.closed; i++) {
      c.socket.write(frame);
      await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => c.closed, 5000, "the abort");
    expect(port.guard.total).toBe(0);
  });
});
