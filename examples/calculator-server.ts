/**
 * Calculator server (Twisted's Perspective Broker calculator, over AMP): one process serving the
 * same CalculatorService on three consecutive ports, each port answering with its own server id.
 * Run: `node --import tsx examples/calculator-server.ts [FIRST_PORT] [DELAY_SECONDS]` (defaults
 * 8992 and 0; the delay is simulated work on the reactor's clock and never blocks).
 * Prints `listening P1 P2 P3`.
 */
import { createReactor, type ListeningPort } from "../src/core/reactor.js";
import { CalculatorAMPFactory, CalculatorService } from "../src/services/index.js";

const first = Number(process.argv[2] ?? "8992");
const delay = Number(process.argv[3] ?? "0");
const reactor = createReactor();
const service = new CalculatorService({ delay, clock: reactor });

const ports: ListeningPort[] = [];
for (const serverId of [1, 2, 3]) {
  const port = first === 0 ? 0 : first + serverId - 1;
  ports.push(
    await reactor.listenTCP(port, new CalculatorAMPFactory(service, { serverId }), {
      interface: "127.0.0.1",
    }),
  );
}
console.log(`listening ${ports.map((p) => p.getHost().port).join(" ")}`);

const stop = () =>
  Promise.all(ports.map((p) => p.stopListening({ closeConnections: true }))).then(() =>
    process.exit(0),
  );
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
