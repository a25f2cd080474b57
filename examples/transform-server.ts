/**
 * Transform server: one TransformService served over its three protocols at once (netstring as in
 * the Twisted tutorial, persistent lines, AMP), plus a transform of our own.
 * Run: `node --import tsx examples/transform-server.ts [BASE_PORT]` (default 10001: netstring on
 * BASE, line on BASE+1, AMP on BASE+2; 0 picks free ports). Prints `listening NETSTRING LINE AMP`.
 */
import { createReactor } from "../src/core/reactor.js";
import {
  TransformAMPFactory,
  TransformLineFactory,
  TransformNetstringFactory,
  TransformService,
} from "../src/services/index.js";

const base = Number(process.argv[2] ?? "10001");
const service = new TransformService().register("shout", (text) => `${text.toUpperCase()}!`);

const reactor = createReactor();
const opts = { interface: "127.0.0.1" };
const ports = [
  await reactor.listenTCP(base, new TransformNetstringFactory(service), opts),
  await reactor.listenTCP(base === 0 ? 0 : base + 1, new TransformLineFactory(service), opts),
  await reactor.listenTCP(base === 0 ? 0 : base + 2, new TransformAMPFactory(service), opts),
];
console.log(`listening ${ports.map((p) => p.getHost().port).join(" ")}`);

const stop = () =>
  Promise.all(ports.map((p) => p.stopListening({ closeConnections: true }))).then(() =>
    process.exit(0),
  );
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
