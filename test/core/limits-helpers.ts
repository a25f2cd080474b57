/** Shared pieces of the connection-limit tests: servers, raw clients, bounded waits. */
import type * as net from "node:net";
import type { Clock } from "../../src/core/clock.js";
import { Factory } from "../../src/core/factory.js";
import { NetstringReceiver } from "../../src/protocols/receivers/netstring/receiver.js";
import { type Cleanups, rawConnect } from "../helpers/loopback.js";

/** Echoes each netstring (limit 100,000 bytes, as the transform front-ends). */
export class EchoNetstring extends NetstringReceiver {
  override MAX_LENGTH = 100_000;
  override stringReceived(data: Uint8Array): void {
    this.sendString(data);
  }
}

export const echoFactory = (): Factory => Factory.forProtocol(EchoNetstring);

/** Resolves once `cond()` is true; rejects after `ms` (polls every 10 ms). */
export async function waitFor(cond: () => boolean, ms = 3000, what = "condition"): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A raw client that records whether the server closed it. */
export interface Watched {
  socket: net.Socket;
  closed: boolean;
  received: Buffer[];
}

/** Connects a raw client to 127.0.0.1:`port`, watching its close and collecting what it reads. */
export async function watchedClient(port: number, cleanups: Cleanups): Promise<Watched> {
  const socket = await rawConnect(port, { cleanups });
  const w: Watched = { socket, closed: false, received: [] };
  socket.on("data", (d: Buffer) => w.received.push(d));
  socket.on("error", () => {});
  socket.on("close", () => {
    w.closed = true;
  });
  return w;
}

/** Sends one netstring on a raw client and resolves with the reply's bytes (bounded wait). */
export async function echoOnce(port: number, cleanups: Cleanups, text = "ping"): Promise<string> {
  const c = await watchedClient(port, cleanups);
  c.socket.write(`${text.length}:${text},`);
  const want = `${text.length}:${text},`;
  await waitFor(() => Buffer.concat(c.received).toString() === want, 3000, "the echo");
  c.socket.destroy();
  return Buffer.concat(c.received).toString();
}

/** Lines the limits reported. */
export function collectReports(): { lines: string[]; report: (line: string) => void } {
  const lines: string[] = [];
  return { lines, report: (line) => lines.push(line) };
}

/** Writes `data` on `socket` and resolves once it has been handed to the kernel. */
export function written(socket: net.Socket | undefined, data: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket === undefined) reject(new Error("no socket"));
    else socket.write(data, (err) => (err ? reject(err) : resolve()));
  });
}

/**
 * Advances the manual `clock` by `step` seconds at a time, letting real I/O run 20 ms in between,
 * until `cond()` holds; rejects after `maxSteps` steps.
 */
export async function pumpUntil(
  clock: Clock,
  cond: () => boolean,
  what: string,
  step = 1,
  maxSteps = 15,
): Promise<void> {
  for (let i = 0; i < maxSteps; i++) {
    if (cond()) return;
    clock.advance(step);
    await new Promise((r) => setTimeout(r, 20));
  }
  if (!cond()) throw new Error(`${what}: not reached after ${maxSteps} steps of ${step} s`);
}

/** Advances the manual `clock` by 1 s `seconds` times, letting real I/O run 20 ms after each. */
export async function pump(clock: Clock, seconds: number): Promise<void> {
  for (let i = 0; i < seconds; i++) {
    clock.advance(1);
    await new Promise((r) => setTimeout(r, 20));
  }
}
