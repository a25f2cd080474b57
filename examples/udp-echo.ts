/**
 * UDP echo: every datagram goes back to its sender (Twisted's `DatagramProtocol` example).
 * Run: `node --import tsx examples/udp-echo.ts [PORT]` (default 10007; 0 picks a free port), then
 * `nc -u 127.0.0.1 PORT`. Prints `listening PORT`. With `--client PORT MESSAGE` it sends MESSAGE to
 * an echo server instead and prints the reply (giving up after 2 s: UDP may lose it).
 */
import type { Address } from "../src/core/interfaces.js";
import { createReactor } from "../src/core/reactor.js";
import { DatagramProtocol } from "../src/core/udp.js";

class Echo extends DatagramProtocol {
  override datagramReceived(data: Uint8Array, addr: Address): void {
    this.transport.write(data, addr);
  }
}

class OneShot extends DatagramProtocol {
  constructor(
    private readonly to: number,
    private readonly message: string,
  ) {
    super();
  }
  override startProtocol(): void {
    this.transport.write(this.message, { host: "127.0.0.1", port: this.to });
  }
  override datagramReceived(data: Uint8Array): void {
    console.log(Buffer.from(data).toString());
    void reactor.stop();
  }
}

const reactor = createReactor();
const args = process.argv.slice(2);
if (args[0] === "--client") {
  await reactor.listenUDP(0, new OneShot(Number(args[1]), args[2] ?? "hello, udp"), {
    interface: "127.0.0.1",
  });
  const timer = setTimeout(() => {
    console.error("no reply (UDP may lose datagrams)");
    process.exitCode = 1;
    void reactor.stop();
  }, 2000);
  await reactor.run();
  clearTimeout(timer);
} else {
  const port = await reactor.listenUDP(Number(args[0] ?? "10007"), new Echo(), {
    interface: "127.0.0.1",
  });
  console.log(`listening ${port.getHost().port}`);
  const stop = (): void => void reactor.stop();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  await reactor.run(); // resolves once stopped: the UDP port is closed during shutdown
}
