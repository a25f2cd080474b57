/**
 * Run with `node --expose-gc --import tsx`: a reference the client drops is collected, its
 * `decref` reaches the server, and the server forgets the object. Prints `ok` or `bad …`.
 */
import { createReactor } from "../../../src/core/reactor.js";
import {
  type Broker,
  PBClientFactory,
  PBServerFactory,
  Referenceable,
  type RemoteReference,
  Root,
} from "../../../src/protocols/pb/index.js";

const gc = (globalThis as { gc?: () => void }).gc;

class Giver extends Root {
  remote_make(): Referenceable {
    return Referenceable.fromMethods({ ping: () => "pong" });
  }
  remote_noop(): null {
    return null;
  }
}

async function main(): Promise<void> {
  if (gc === undefined) throw new Error("run with --expose-gc");
  const reactor = createReactor();
  let server: Broker | null = null;
  const factory = new PBServerFactory(new Giver());
  const build = factory.buildProtocol.bind(factory);
  factory.buildProtocol = (addr) => {
    server = build(addr);
    return server;
  };
  const port = await reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
  const client = new PBClientFactory();
  reactor.connectTCP("127.0.0.1", port.getHost().port, client);
  const root = await client.getRootObject();
  await (async () => {
    const ref = (await root.callRemote("make")) as RemoteReference;
    if ((await ref.callRemote("ping")) !== "pong") throw new Error("no pong");
  })();
  const before = (server as Broker | null)?.localObjectCount;
  for (let i = 0; i < 50 && (server as Broker | null)?.localObjectCount !== 1; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
    await root.callRemote("noop");
  }
  const after = (server as Broker | null)?.localObjectCount;
  process.stdout.write(before === 2 && after === 1 ? "ok\n" : `bad ${before} ${after}\n`);
  client.disconnect();
  await port.stopListening({ closeConnections: true });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stdout.write(`bad ${String(err)}\n`);
    process.exit(1);
  },
);
