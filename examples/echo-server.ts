/**
 * Echo server: every connection gets back exactly the bytes it sends.
 * Run: `node --import tsx examples/echo-server.ts [PORT] [INTERFACE]` (defaults 8000, 127.0.0.1;
 * PORT 0 picks a free port). Prints `listening PORT` once ready; Ctrl-C stops it.
 */
import { Factory } from "../src/core/factory.js";
import { Protocol } from "../src/core/protocol.js";
import { createReactor } from "../src/core/reactor.js";

/** Writes back whatever it receives. */
class Echo extends Protocol {
  override dataReceived(data: Uint8Array): void {
    this.transport.write(data);
  }
}

const [portArg = "8000", iface = "127.0.0.1"] = process.argv.slice(2);
const reactor = createReactor();
const port = await reactor.listenTCP(Number(portArg), Factory.forProtocol(Echo), {
  interface: iface,
});
console.log(`listening ${port.getHost().port}`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, async () => {
    await port.stopListening({ closeConnections: true });
    process.exit(0);
  });
}
