/**
 * Echo server: every connection gets back exactly the bytes it sends.
 * Run: `node --import tsx examples/echo-server.ts [PORT] [INTERFACE]` (defaults 8000, 127.0.0.1;
 * PORT 0 picks a free port). Prints `listening PORT` once ready; Ctrl-C stops it (connections still
 * open 5 seconds later are aborted).
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

/** Seconds open connections get to close cleanly on Ctrl-C before they are aborted. */
const CLOSE_TIMEOUT = 5;

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, async () => {
    // A peer that never sends its FIN cannot hold the shutdown: it is aborted after CLOSE_TIMEOUT.
    await port.stopListening({ closeConnections: true, timeout: CLOSE_TIMEOUT });
    process.exit(0);
  });
}
