/**
 * The target of the fuzz benchmark, in a child process: weft's transform service over netstrings
 * (the `weft serve` front-end on port 10001: one request `NAME.TEXT`, one reply, close), on
 * 127.0.0.1 port 0. Prints `listening PORT`; stops when its stdin closes.
 */
import { createReactor } from "../../src/core/reactor.js";
import { TransformNetstringFactory } from "../../src/services/transform/netstring.js";
import { TransformService } from "../../src/services/transform/service.js";

const reactor = createReactor();
const port = await reactor.listenTCP(0, new TransformNetstringFactory(new TransformService()), {
  interface: "127.0.0.1",
});
process.stdout.write(`listening ${port.getHost().port}\n`);
process.stdin.resume();
process.stdin.on("end", () => process.exit(0));
