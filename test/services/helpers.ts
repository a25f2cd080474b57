/** Loopback helpers for the services tests: every server on 127.0.0.1 port 0, closed afterwards. */
import net from "node:net";
import { clientFromString } from "../../src/core/endpoints.js";
import type { Factory } from "../../src/core/factory.js";
import { createReactor, type ListeningPort, type Reactor } from "../../src/core/reactor.js";
import type { ClientEndpointLike } from "../../src/services/client.js";

export const reactor: Reactor = createReactor();
const open: ListeningPort[] = [];

/** Listen with `factory` on 127.0.0.1:0; returns the bound port. */
export async function listen(factory: Factory): Promise<number> {
  const port = await reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
  open.push(port);
  return port.getHost().port;
}

/** Stop every port opened by {@link listen} and close its connections (call in afterEach/afterAll). */
export async function closeAll(): Promise<void> {
  const ports = open.splice(0);
  await Promise.all(ports.map((p) => p.stopListening({ closeConnections: true })));
}

/** A client endpoint for 127.0.0.1:`port`. */
export function endpoint(port: number): ClientEndpointLike {
  return clientFromString(reactor, `tcp:127.0.0.1:${port}`);
}

/**
 * Raw exchange: connect, write `data` (if any), collect everything until the server closes
 * (or `endAfterMs` passed — only as a guard, the tests expect the server to close).
 */
export function exchange(
  port: number,
  data?: Uint8Array | string,
  options: { half?: boolean } = {},
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    s.on("connect", () => {
      if (data !== undefined) s.write(data);
      if (options.half === true) s.end();
    });
    s.on("data", (d) => chunks.push(d));
    s.on("close", () => resolve(Buffer.concat(chunks)));
    s.on("error", reject);
  });
}

/** A raw line client: write `data`, resolve once `n` CRLF-terminated lines arrived, then close. */
export function lines(port: number, data: string | Uint8Array, n: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    let buf = "";
    s.setEncoding("utf8");
    s.on("connect", () => s.write(data));
    s.on("data", (d: string) => {
      buf += d;
      const parts = buf.split("\r\n");
      if (parts.length - 1 >= n) {
        s.destroy();
        resolve(parts.slice(0, n));
      }
    });
    s.on("close", () => reject(new Error(`closed after ${JSON.stringify(buf)}`)));
    s.on("error", reject);
  });
}

/** A raw TCP server writing exactly `reply` to each connection, then closing (for misbehaving-peer tests). */
export async function rawServer(
  onConnection: (socket: net.Socket) => void,
): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => undefined);
    onConnection(s);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A port nothing listens on (bound then released). */
export async function deadPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}
