/**
 * Calls every example command on an AMP server and prints the answers:
 * `node --import tsx examples/amp-client.ts HOST PORT` (works against examples/amp-server.ts and
 * against Twisted's test/interop/amp_server.py alike).
 */
import { clientFromString, connectProtocol } from "../src/core/endpoints.js";
import { createReactor } from "../src/core/reactor.js";
import { AMP } from "../src/protocols/amp/protocol.js";
import { Divide, Echo, Sum, Transform } from "./amp-commands.js";

const host = process.argv[2] ?? "127.0.0.1";
const port = Number(process.argv[3]);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error("usage: amp-client.ts HOST PORT");
  process.exit(2);
}

const reactor = createReactor();
const amp = await connectProtocol(clientFromString(reactor, `tcp:${host}:${port}`), new AMP());

const show = (what: string, value: unknown) =>
  console.log(`${what} -> ${typeof value === "bigint" ? `${value}n` : JSON.stringify(value)}`);

show("Sum(13, 81)", (await amp.callRemote(Sum, { a: 13, b: 81 })).total);
show("Sum(2**70, 1)", (await amp.callRemote(Sum, { a: 2n ** 70n, b: 1 })).total);
show("Divide(1, 3)", (await amp.callRemote(Divide, { numerator: 1, denominator: 3 })).result);
try {
  await amp.callRemote(Divide, { numerator: 1, denominator: 0 });
} catch (err) {
  show("Divide(1, 0)", `${(err as Error).name}: ${(err as Error).message}`);
}
show("Echo(☃)", (await amp.callRemote(Echo, { text: "hello ☃" })).text);
show(
  "Transform(cummingsify)",
  (await amp.callRemote(Transform, { name: "cummingsify", text: "Hello World" })).text,
);
show(
  "Transform(reverse)",
  (await amp.callRemote(Transform, { name: "reverse", text: "stressed" })).text,
);
try {
  await amp.callRemote(Transform, { name: "shout", text: "x" });
} catch (err) {
  show("Transform(shout)", `${(err as Error).name}: ${(err as Error).message}`);
}
amp.transport.loseConnection();
