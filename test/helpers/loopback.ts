/**
 * Loopback sockets for tests: listen on 127.0.0.1 port 0 (the port read back) with a reactor and
 * close everything afterwards; raw `node:net` clients for exact bytes.
 */
import * as net from "node:net";
import type { Factory } from "../../src/core/factory.js";
import type { Reactor, SocketPort } from "../../src/core/reactor.js";

/** Things to undo after each test, last first: `afterEach(cleanups.run)`. */
export class Cleanups {
  readonly #steps: Array<() => unknown> = [];

  push(step: () => unknown): void {
    this.#steps.push(step);
  }

  /** Runs every step added so far, last first, and forgets them. */
  run = async (): Promise<void> => {
    for (const step of this.#steps.splice(0).reverse()) await step();
  };
}

/** Listens with `factory` on 127.0.0.1:0; the port is stopped (connections closed) by `cleanups`. */
export async function listenLoopback(
  reactor: Reactor,
  factory: Factory,
  cleanups: Cleanups,
): Promise<SocketPort> {
  const port = await reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
  cleanups.push(() => port.stopListening({ closeConnections: true }));
  return port;
}

/** Options of {@link rawConnect}. */
export interface RawConnectOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Do not read until `resume()` (paused from the start). Default false. */
  paused?: boolean;
  /** Destroy the socket with these cleanups. */
  cleanups?: Cleanups;
}

/** A raw `node:net` socket connected to `host:port` (resolves once connected). */
export function rawConnect(port: number, options: RawConnectOptions = {}): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: options.host ?? "127.0.0.1" }, () => {
      socket.off("error", reject);
      resolve(socket);
    });
    if (options.paused === true) socket.pause();
    socket.once("error", reject);
    options.cleanups?.push(() => socket.destroy());
  });
}
