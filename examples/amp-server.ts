/**
 * An AMP server with the example commands (Sum, Divide, Echo, Transform): every connection shares
 * one CommandLocator. Run: `node --import tsx examples/amp-server.ts 0` (0 = any free port); prints
 * `listening PORT` once ready. Stops on SIGINT/SIGTERM.
 */
import { createReactor } from "../src/core/reactor.js";
import { AMPFactory } from "../src/protocols/amp/protocol.js";
import { calculatorLocator } from "./amp-commands.js";

const port = Number(process.argv[2] ?? "0");
const host = process.argv[3] ?? "127.0.0.1";
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error("usage: amp-server.ts PORT [HOST]");
  process.exit(2);
}

const reactor = createReactor();
const listening = await reactor.listenTCP(port, new AMPFactory(calculatorLocator()), {
  interface: host,
});
console.log(`listening ${listening.getHost().port}`);

const stop = () => {
  void listening.stopListening({ closeConnections: true }).then(() => process.exit(0));
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
