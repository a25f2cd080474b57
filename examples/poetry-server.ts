/**
 * Fast poetry server (Twisted tutorial part 6): every connection gets the whole poem, then is closed.
 * Run: `node --import tsx examples/poetry-server.ts [PORT] [POEM]` (defaults 10000 and the first
 * bundled poem; PORT 0 picks a free port). Prints `listening PORT`. Try it with
 * `node --import tsx examples/get-poetry.ts PORT`.
 */
import { createReactor } from "../src/core/reactor.js";
import { FastPoetryFactory, PoetryService } from "../src/services/index.js";

const [portArg = "10000", poem] = process.argv.slice(2);
const reactor = createReactor();
const poetry = await PoetryService.bundled();
const factory = new FastPoetryFactory(poetry, poem === undefined ? {} : { poem });
const port = await reactor.listenTCP(Number(portArg), factory, { interface: "127.0.0.1" });
console.log(`listening ${port.getHost().port}`);
console.error(`serving ${factory.poem.name} (${factory.poem.bytes.length} bytes)`);

process.once("SIGINT", () =>
  port.stopListening({ closeConnections: true }).then(() => process.exit(0)),
);
process.once("SIGTERM", () =>
  port.stopListening({ closeConnections: true }).then(() => process.exit(0)),
);
