/**
 * UDP benchmark (`node --import tsx bench/udp/run.ts`, part of `npm run bench`).
 *
 * Echoed datagrams per second over 127.0.0.1: a weft `DatagramProtocol` echo server against a raw
 * `dgram` echo server, both driven by the same raw `dgram` client in the same process and run,
 * with a window of W datagrams in flight (64-byte payloads). Lost datagrams are re-sent after 100
 * ms of silence (counted), so loss never stalls the run. Median of BENCH_SAMPLES (default 5) runs
 * of N datagrams (BENCH_SCALE scales N).
 */
import * as dgram from "node:dgram";
import type { Address } from "../../src/core/interfaces.js";
import { createReactor } from "../../src/core/reactor.js";
import { DatagramProtocol } from "../../src/core/udp.js";

const SAMPLES = Math.max(1, Number(process.env["BENCH_SAMPLES"] ?? 5) || 5);
const SCALE = Number(process.env["BENCH_SCALE"] ?? 1) || 1;
const N = Math.max(1000, Math.round(50_000 * SCALE));
const WINDOW = 32;
const payload = Buffer.alloc(64, 120);

class Echo extends DatagramProtocol {
  override datagramReceived(data: Uint8Array, addr: Address): void {
    this.transport.write(data, addr);
  }
}

let resent = 0;

/** Sends N datagrams to `port`, W in flight; resolves with datagrams/s. */
async function drive(port: number): Promise<number> {
  const client = dgram.createSocket("udp4");
  await new Promise<void>((r) => client.bind(0, "127.0.0.1", () => r()));
  const once = (): Promise<number> =>
    new Promise((resolve) => {
      let sent = 0;
      let got = 0;
      const t0 = performance.now();
      let timer: NodeJS.Timeout | null = null;
      const arm = (): void => {
        if (timer !== null) clearTimeout(timer);
        timer = setTimeout(() => {
          // Silence: assume the window was lost, refill it.
          for (let i = 0; i < WINDOW && sent < N + resent + WINDOW; i++) {
            resent++;
            client.send(payload, port, "127.0.0.1");
          }
          arm();
        }, 100);
      };
      client.on("message", () => {
        got++;
        if (got >= N) {
          if (timer !== null) clearTimeout(timer);
          client.removeAllListeners("message");
          resolve((N / (performance.now() - t0)) * 1000);
          return;
        }
        if (sent < N) {
          sent++;
          client.send(payload, port, "127.0.0.1");
        }
        arm();
      });
      for (; sent < WINDOW; sent++) client.send(payload, port, "127.0.0.1");
      arm();
    });
  await once();
  const rates: number[] = [];
  for (let s = 0; s < SAMPLES; s++) rates.push(await once());
  client.close();
  rates.sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)] as number;
}

const reactor = createReactor();
const weftPort = await reactor.listenUDP(0, new Echo(), { interface: "127.0.0.1" });
const raw = dgram.createSocket("udp4");
raw.on("message", (m, r) => raw.send(m, r.port, r.address));
await new Promise<void>((r) => raw.bind(0, "127.0.0.1", () => r()));

const w = await drive(weftPort.getHost().port);
const r = await drive(raw.address().port);
console.log("server      datagrams/s");
console.log(`weft        ${w.toFixed(0)}`);
console.log(`raw dgram   ${r.toFixed(0)}`);
console.log(
  `weft/raw    ${(w / r).toFixed(2)}   (${N} datagrams per sample, window ${WINDOW}, ${resent} re-sent)`,
);
raw.close();
await reactor.stop();
