/**
 * The time limits (issue 10's slowloris row): frame time with a minimum rate, idle time, TLS
 * handshake time — on the manual Clock with real sockets, plus one test in real time.
 */
import { readFileSync, rmSync } from "node:fs";
import * as tls from "node:tls";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Clock } from "../../src/core/clock.js";
import type { ConnectionLimits } from "../../src/core/connection-limits.js";
import { Factory } from "../../src/core/factory.js";
import { ProcessLimits } from "../../src/core/process-limits.js";
import { Protocol } from "../../src/core/protocol.js";
import { createReactor, type SocketPort } from "../../src/core/reactor.js";
import { LineOnlyReceiver } from "../../src/protocols/receivers/lines/receiver.js";
import { Cleanups } from "../helpers/loopback.js";
import { selfSignedCertificate } from "../helpers/tls.js";
import {
  collectReports,
  echoFactory,
  echoOnce,
  pump,
  pumpUntil,
  type Watched,
  waitFor,
  watchedClient,
  written,
} from "./limits-helpers.js";

const cleanups = new Cleanups();
afterEach(cleanups.run);

class EchoLine extends LineOnlyReceiver {
  override lineReceived(line: Uint8Array): void {
    this.sendLine(line);
  }
}

async function listenOn(
  clock: Clock | undefined,
  factory: Factory,
  limits: ConnectionLimits,
): Promise<SocketPort> {
  const reactor = createReactor(clock === undefined ? {} : { clock });
  const process = new ProcessLimits({ maxConnections: null });
  const port = await reactor.listenTCP(0, factory, {
    interface: "127.0.0.1",
    limits: { process, ...limits },
  });
  cleanups.push(() => port.stopListening({ closeConnections: true, timeout: 0 }));
  return port;
}

/** Sends one byte on every open client (a slowloris step). */
async function drip(clients: Watched[], byte: string): Promise<void> {
  await Promise.all(clients.filter((c) => !c.closed).map((c) => written(c.socket, byte)));
}

describe("frame time", () => {
  it("slowloris on the line and netstring receivers: closed after frameTimeout while new clients are served", async () => {
    const clock = new Clock();
    const { lines, report } = collectReports();
    const linePort = await listenOn(clock, Factory.forProtocol(EchoLine), { report });
    const netPort = await listenOn(clock, echoFactory(), { report });
    const slow: Watched[] = [];
    for (let i = 0; i < 5; i++) slow.push(await watchedClient(linePort.getHost().port, cleanups));
    for (let i = 0; i < 5; i++) slow.push(await watchedClient(netPort.getHost().port, cleanups));
    await drip(slow.slice(0, 5), "a");
    await drip(slow.slice(5), "99999:");
    // One byte every 3 s (the slowloris): still open at 18 s, all closed by 26 s.
    for (let t = 0; t < 18; t += 3) {
      await pump(clock, 3);
      await drip(slow, "a");
    }
    expect(slow.filter((c) => c.closed)).toEqual([]);
    expect(await echoOnce(netPort.getHost().port, cleanups)).toBe("4:ping,");
    // Closed frameTimeout (20 s) after their frame's first byte was seen (a netstring's header
    // alone is no frame yet), give or take a tick of the sweep.
    await pumpUntil(clock, () => slow.every((c) => c.closed), "slowloris closed", 1, 8);
    expect(clock.seconds()).toBeLessThanOrEqual(26);
    expect(await echoOnce(netPort.getHost().port, cleanups)).toBe("4:ping,");
    expect(lines.filter((l) => l.includes("a frame not completed")).length).toBe(2); // one per port
  });

  it("a big frame on a slow honest link (above frameMinRate) arrives", async () => {
    const clock = new Clock();
    const port = await listenOn(clock, echoFactory(), { frameTimeout: 5, frameMinRate: 500 });
    const c = await watchedClient(port.getHost().port, cleanups);
    await written(c.socket, "30000:");
    // 600 bytes per clock second for 50 s: far longer than frameTimeout, but above the rate.
    for (let i = 0; i < 50; i++) {
      await written(c.socket, "x".repeat(600));
      await pump(clock, 1);
    }
    await written(c.socket, ",");
    await waitFor(() => Buffer.concat(c.received).length === 30_007, 3000, "the echo");
    expect(c.closed).toBe(false);
  });

  it("below the rate, the same frame is cut once it falls behind", async () => {
    const clock = new Clock();
    const port = await listenOn(clock, echoFactory(), { frameTimeout: 5, frameMinRate: 500 });
    const c = await watchedClient(port.getHost().port, cleanups);
    await written(c.socket, "30000:");
    for (let i = 0; i < 30 && !c.closed; i++) {
      await written(c.socket, "x".repeat(300));
      await pump(clock, 1);
    }
    // Allowed after t s: 5 + 300·t/500 = 5 + 0.6 t, passed at t ≈ 12.5 (plus one tick).
    expect(c.closed).toBe(true);
    expect(clock.seconds()).toBeGreaterThanOrEqual(12);
    expect(clock.seconds()).toBeLessThanOrEqual(15);
  });

  it("real time: a slowloris connection is closed within the configured 0.3 s while others are served", async () => {
    const port = await listenOn(undefined, echoFactory(), { frameTimeout: 0.3, report: () => {} });
    const slow = await watchedClient(port.getHost().port, cleanups);
    await written(slow.socket, "5:ab");
    const started = Date.now();
    expect(await echoOnce(port.getHost().port, cleanups)).toBe("4:ping,");
    await waitFor(() => slow.closed, 2000, "the real-time frame limit");
    expect(Date.now() - started).toBeLessThan(1500);
  });
});

describe("idle time", () => {
  it("closes a connection silent for idleTimeout; an active one stays; off by default", async () => {
    const clock = new Clock();
    const port = await listenOn(clock, echoFactory(), { idleTimeout: 10 });
    const defaults = await listenOn(clock, echoFactory(), {});
    const idle = await watchedClient(port.getHost().port, cleanups);
    const active = await watchedClient(port.getHost().port, cleanups);
    const untimed = await watchedClient(defaults.getHost().port, cleanups);
    for (let i = 0; i < 8; i++) {
      await written(active.socket, "1:a,");
      await pump(clock, 2);
    }
    expect(idle.closed).toBe(true); // 10 s without a byte
    expect(active.closed).toBe(false);
    expect(untimed.closed).toBe(false);
    expect(clock.seconds()).toBeGreaterThanOrEqual(10);
  });

  it("a connection with work in progress (Protocol.pendingWork) is not idle", async () => {
    const clock = new Clock();
    const made: Busy[] = [];
    class Busy extends Protocol {
      busy = true;
      override connectionMade(): void {
        made.push(this);
      }
      override pendingWork(): string | null {
        return this.busy ? "computing" : null;
      }
    }
    const port = await listenOn(clock, Factory.forProtocol(Busy), { idleTimeout: 5 });
    const c = await watchedClient(port.getHost().port, cleanups);
    await waitFor(() => made.length === 1, 2000, "the connection");
    await pump(clock, 12);
    expect(c.closed).toBe(false);
    const p = made[0];
    if (p !== undefined) p.busy = false;
    await pumpUntil(clock, () => c.closed, "idle once the work is done", 1, 8);
  });
});

describe("TLS handshake time", () => {
  let dir = "";
  let cert = "";
  let key = "";
  beforeAll(() => {
    const c = selfSignedCertificate("weft-limits-");
    dir = c.dir;
    cert = readFileSync(c.certFile, "utf8");
    key = readFileSync(c.keyFile, "utf8");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("a client that never completes its handshake is dropped after handshakeTimeout; a real TLS client is served", async () => {
    const clock = new Clock();
    const { lines, report } = collectReports();
    const reactor = createReactor({ clock });
    const process = new ProcessLimits({ maxConnections: null });
    const port = await reactor.listenTLS(0, echoFactory(), {
      interface: "127.0.0.1",
      cert,
      key,
      limits: { handshakeTimeout: 3, report, process },
    });
    cleanups.push(() => port.stopListening({ closeConnections: true, timeout: 0 }));
    const n = port.getHost().port;
    const mute = await watchedClient(n, cleanups); // TCP only: no ClientHello
    const good = tls.connect({ port: n, host: "127.0.0.1", ca: cert, servername: "localhost" });
    cleanups.push(() => good.destroy());
    await new Promise<void>((resolve, reject) => {
      good.once("secureConnect", resolve);
      good.once("error", reject);
    });
    await waitFor(() => process.connections === 2, 2000, "both admitted");
    await pumpUntil(clock, () => mute.closed, "the handshake limit", 1, 5);
    expect(clock.seconds()).toBeGreaterThanOrEqual(3);
    const reply: Buffer[] = [];
    good.on("data", (d: Buffer) => reply.push(d));
    good.write("2:hi,");
    await waitFor(() => Buffer.concat(reply).toString() === "2:hi,", 3000, "the TLS echo");
    expect(lines.filter((l) => l.includes("TLS handshake not completed within 3 s"))).toHaveLength(
      1,
    );
    await waitFor(() => process.connections === 1, 2000, "the count");
  });
});
