/**
 * Connection counts (issue 10's fd row): per port (`server.maxConnections`, its `drop` event
 * logged, rate-limited), per process, per peer address; the defaults derived from the fd limit,
 * shown on a child server under `ulimit -n 200`. Plus the pure pieces: the fd limit parser, the
 * derived defaults, option checks and the rate-limited reporter.
 */
import { spawn } from "node:child_process";
import * as net from "node:net";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { Clock } from "../../src/core/clock.js";
import {
  type ConnectionLimits,
  derivedMaxConnections,
  openFileLimit,
  resolveLimits,
} from "../../src/core/connection-limits.js";
import { InvalidArgumentError } from "../../src/core/errors.js";
import { rateLimitedReporter } from "../../src/core/limit-log.js";
import { ProcessLimits } from "../../src/core/process-limits.js";
import { createReactor, type SocketPort } from "../../src/core/reactor.js";
import { collectOutput } from "../helpers/children.js";
import { Cleanups } from "../helpers/loopback.js";
import {
  collectReports,
  echoFactory,
  echoOnce,
  type Watched,
  waitFor,
  watchedClient,
} from "./limits-helpers.js";

const cleanups = new Cleanups();
afterEach(cleanups.run);

async function listen(limits: ConnectionLimits, host = "127.0.0.1"): Promise<SocketPort> {
  const reactor = createReactor({ clock: new Clock() });
  const port = await reactor.listenTCP(0, echoFactory(), { interface: host, limits });
  cleanups.push(() => port.stopListening({ closeConnections: true, timeout: 0 }));
  return port;
}

async function clients(port: SocketPort, n: number): Promise<Watched[]> {
  const out: Watched[] = [];
  for (let i = 0; i < n; i++) out.push(await watchedClient(port.getHost().port, cleanups));
  return out;
}

describe("connection counts", () => {
  it("per port: connections beyond maxConnections are dropped, one rate-limited line; room again once some close", async () => {
    const { lines, report } = collectReports();
    const process = new ProcessLimits({ maxConnections: null });
    const port = await listen({ maxConnections: 3, report, process });
    const cs = await clients(port, 7);
    await waitFor(() => cs.filter((c) => c.closed).length === 4, 3000, "the drops");
    expect(cs.slice(0, 3).every((c) => !c.closed)).toBe(true);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/dropped a connection from 127\.0\.0\.1: maxConnections 3 reached/);
    for (const c of cs.slice(0, 3)) c.socket.destroy();
    await waitFor(() => process.connections === 0, 3000, "the closes");
    expect(await echoOnce(port.getHost().port, cleanups)).toBe("4:ping,");
  });

  it("per process: the limit spans ports", async () => {
    const { lines, report } = collectReports();
    const process = new ProcessLimits({ maxConnections: 3 });
    expect(process.maxConnections).toBe(3);
    const a = await listen({ report, process });
    const b = await listen({ report, process });
    const first = await clients(a, 2);
    const second = await clients(b, 3);
    await waitFor(() => second.filter((c) => c.closed).length === 2, 3000, "the drops");
    expect([...first, ...second].filter((c) => !c.closed)).toHaveLength(3);
    expect(process.connections).toBe(3);
    expect(lines[0]).toMatch(/the process holds its maximum of 3 connections/);
  });

  it("per peer address: off by default; with maxConnectionsPerPeer, a peer's extra connections are dropped, other peers are not", async () => {
    const { lines, report } = collectReports();
    const process = new ProcessLimits({ maxConnections: null });
    const open = await listen({ report, process });
    const many = await clients(open, 6);
    const limited = await listen({ report, process, maxConnectionsPerPeer: 2 });
    const mine = await clients(limited, 4);
    await waitFor(() => mine.filter((c) => c.closed).length === 2, 3000, "the drops");
    expect(many.every((c) => !c.closed)).toBe(true);
    expect(lines[0]).toMatch(/from 127\.0\.0\.1: this peer holds its maximum of 2 connections/);
    // Another loopback address (127.0.0.2 as the source) is another peer.
    const other = net.connect({
      port: limited.getHost().port,
      host: "127.0.0.1",
      localAddress: "127.0.0.2",
    });
    other.on("error", () => {});
    cleanups.push(() => other.destroy());
    await new Promise((r) => other.once("connect", r));
    await new Promise((r) => setTimeout(r, 50));
    expect(other.destroyed).toBe(false);
  });

  it("fd limit: under `ulimit -n 200` the defaults keep accept below it; the excess is dropped and logged; service recovers", async () => {
    const fixture = fileURLToPath(new URL("./fixtures/limits-server.ts", import.meta.url));
    const child = spawn(
      "sh",
      ["-c", `ulimit -n 200 && exec "${process.execPath}" --import tsx "${fixture}"`],
      { stdio: ["pipe", "pipe", "pipe"] },
    );
    cleanups.push(() => child.kill());
    const done = collectOutput(child);
    const first = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes("\n")) resolve(out);
      });
      child.once("exit", () => reject(new Error(`child exited: ${out}`)));
    });
    const [portText, perPort, perProcess] = first.trim().split(" ");
    // 200 fds less a reserve of 64: 136 for the process, half of it for one port.
    expect([perPort, perProcess]).toEqual(["68", "136"]);
    const port = Number(portText);
    const cs: Watched[] = [];
    for (let i = 0; i < 150; i++) cs.push(await watchedClient(port, cleanups));
    await waitFor(() => cs.filter((c) => c.closed).length === 150 - 68, 5000, "the drops");
    for (const c of cs) c.socket.destroy();
    await waitFor(() => cs.every((c) => c.closed), 3000, "the closes");
    await new Promise((r) => setTimeout(r, 100));
    expect(await echoOnce(port, cleanups, "recovered")).toBe("9:recovered,");
    child.stdin.end();
    const { code, stderr } = await done;
    expect(code).toBe(0);
    const drops = stderr.split("\n").filter((l) => l.includes("maxConnections 68 reached"));
    expect(drops).toHaveLength(1); // 82 drops, one line (rate-limited)
  }, 15_000);
});

describe("limit settings", () => {
  it("reads the soft fd limit from /proc/self/limits text; derives a connection limit from it", () => {
    const text = [
      "Limit                     Soft Limit           Hard Limit           Units     ",
      "Max open files            1024                 4096                 files     ",
    ].join("\n");
    expect(openFileLimit(text)).toBe(1024);
    expect(openFileLimit(text.replace("1024 ", "unlimited "))).toBeNull();
    expect(openFileLimit("nothing here")).toBeNull();
    expect(derivedMaxConnections(1024)).toBe(1024 - 103);
    expect(derivedMaxConnections(200)).toBe(136);
    expect(derivedMaxConnections(50)).toBe(16);
    expect(derivedMaxConnections(1_048_576)).toBe(65536);
    expect(derivedMaxConnections(null)).toBeNull();
    expect(openFileLimit()).toBeGreaterThan(0); // this machine's
  });

  it("fills in the defaults and rejects invalid values", () => {
    expect(resolveLimits({}, 1000)).toEqual({
      memoryBudget: 64 * 1024 * 1024,
      frameTimeout: 20,
      frameMinRate: 500,
      idleTimeout: null,
      handshakeTimeout: 10,
      maxConnections: 500,
      maxConnectionsPerPeer: null,
    });
    expect(
      resolveLimits({ frameTimeout: null, maxConnections: null }, 10).maxConnections,
    ).toBeNull();
    for (const bad of [
      { memoryBudget: 0 },
      { frameTimeout: -1 },
      { frameMinRate: Number.NaN },
      { maxConnectionsPerPeer: 0 },
    ]) {
      expect(() => resolveLimits(bad)).toThrow(InvalidArgumentError);
    }
    expect(() => new ProcessLimits({ memoryBudget: -5 })).toThrow(InvalidArgumentError);
  });

  it("an invalid limit makes listen reject", async () => {
    const reactor = createReactor();
    await expect(
      reactor.listenTCP(0, echoFactory(), { interface: "127.0.0.1", limits: { idleTimeout: -1 } }),
    ).rejects.toThrow(/Invalid limit idleTimeout/);
  });

  it("the reporter writes one line per kind per interval, then says how many it suppressed", () => {
    const clock = new Clock();
    const lines: string[] = [];
    const report = rateLimitedReporter((l) => lines.push(l), clock, 10);
    for (let i = 0; i < 1000; i++) report("a", `a ${i}`);
    report("b", "b 0");
    clock.advance(10);
    report("a", "a later");
    expect(lines).toEqual(["a 0", "b 0", "suppressed 999 similar (a) in the last 10 s", "a later"]);
    const throwing = rateLimitedReporter(() => {
      throw new Error("sink down");
    }, clock);
    expect(() => throwing("x", "y")).not.toThrow();
  });
});
