/**
 * The transform service with a CPU-heavy transform, `stretch` (PBKDF2 key stretching), served from
 * the reactor's thread pool: while workers compute, the event loop keeps answering every other
 * client. Line protocol (`NAME SP TEXT` CRLF → `OK SP RESULT` CRLF).
 * Run: `node --import tsx examples/transform-threads.ts [PORT] [ITERATIONS]` (default 10002 and
 * 200000; 0 picks a free port). Prints `listening PORT`. Try `printf 'stretch hi\r\nupper hi\r\n'
 * | nc 127.0.0.1 PORT` next to a loop of `upper` requests on another connection.
 */
import { createReactor } from "../src/core/reactor.js";
import { deferToThread } from "../src/core/threads/defer.js";
import { threadTask } from "../src/core/threads/task.js";
import { TransformLineFactory } from "../src/services/transform/line.js";
import { TransformService } from "../src/services/transform/service.js";
import type { stretch } from "./cpu-transforms.js";

const port = Number(process.argv[2] ?? "10002");
const iterations = Number(process.argv[3] ?? "200000");

const reactor = createReactor({
  threadPool: { bootstrap: new URL("./tsx-worker-bootstrap.mjs", import.meta.url), maxThreads: 2 },
});
const stretchTask = threadTask<typeof stretch>(
  new URL("./cpu-transforms.ts", import.meta.url),
  "stretch",
);

const service = new TransformService().register("stretch", (text) =>
  deferToThread(reactor, stretchTask, text, iterations),
);
const listening = await reactor.listenTCP(port, new TransformLineFactory(service), {
  interface: "127.0.0.1",
});
// Stop listening before the pool stops (the pool stops "during" shutdown, after the calls queued).
reactor.addSystemEventTrigger("before", "shutdown", () =>
  listening.stopListening({ closeConnections: true }),
);
console.log(`listening ${listening.getHost().port}`);

const stop = (): void => {
  void reactor.stop().then(() => process.exit(0));
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
