/**
 * The article's weblog servers: tails an access log (Common or Combined Log Format) from its end and
 * serves its new hits two ways — request-driven (`NEW?` → the hits since you last asked, or `NONE`)
 * and pushed to every client every few seconds.
 * Run: `node --import tsx examples/weblog-server.ts [REQUEST_PORT] [PUSH_PORT] [LOG] [SECONDS]`
 * (defaults 8888, 8880, a generated demo log, 5). Prints `listening REQUEST_PORT PUSH_PORT`.
 */
import { createReactor } from "../src/core/reactor.js";
import {
  DemoLog,
  WeblogPushFactory,
  WeblogRequestFactory,
  WeblogService,
} from "../src/services/index.js";

const [requestPort = "8888", pushPort = "8880", logArg, seconds = "5"] = process.argv.slice(2);
const reactor = createReactor();
const demo = logArg === undefined || logArg === "" ? new DemoLog({ clock: reactor }) : null;
const service = new WeblogService({
  path: demo?.path ?? (logArg as string),
  clock: reactor,
  ...(demo !== null ? { onStop: () => demo.stop() } : {}),
});
const ports = [
  await reactor.listenTCP(Number(requestPort), new WeblogRequestFactory(service), {
    interface: "127.0.0.1",
  }),
  await reactor.listenTCP(
    Number(pushPort),
    new WeblogPushFactory(service, { clock: reactor, interval: Number(seconds) }),
    { interface: "127.0.0.1" },
  ),
];
console.log(`listening ${ports.map((p) => p.getHost().port).join(" ")}`);

const stop = async () => {
  await Promise.all(ports.map((p) => p.stopListening({ closeConnections: true })));
  service.stop();
  process.exit(0);
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
