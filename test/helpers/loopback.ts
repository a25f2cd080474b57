/**
 * Loopback sockets for tests: listen on 127.0.0.1 port 0 (the port read back) with a reactor and
 * close everything afterwards; raw `node:net` clients for exact bytes.
 */
import * as net from "node:net";
import type { Factory } from "../../src/core/factory.js";
import type { Reactor, SocketPort } from "../../src/core/reactor.js";

/** Things to undo after each test, last first: `afterEach(runCleanups)`. */
export class Cleanups {
  readonly #steps: Array<() => unknown> = [];

  add(step: () => unknown): void {
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
  cleanups.add(() => port.stopListening({ closeConnections: true }));
  return port;
}

/** A raw socket connected to 127.0.0.1:`port` (resolves once connected). */
export function rawConnect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.off("error", reject);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}
