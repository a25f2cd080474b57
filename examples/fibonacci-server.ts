/**
 * The article's Fibonacci server (twistd + a saved `.tap`), done with weft's state API: hands every
 * client distinct numbers (2, 3, 5, 8, …) — any line in, the next number out — and continues where
 * it stopped after a restart. The place in the sequence is kept in STATE_DIR (locked while running).
 * Run: `node --import tsx examples/fibonacci-server.ts [PORT] [STATE_DIR] [strict]` (defaults 8890,
 * `$XDG_STATE_HOME/weft` or `~/.local/state/weft`; `strict` fsyncs each claim, so that even
 * `kill -9` never repeats a number). Prints `listening PORT`; stop it with Ctrl-C or SIGTERM.
 */
import { createReactor } from "../src/core/reactor.js";
import {
  defaultStateDir,
  FibonacciLineFactory,
  FibonacciService,
  FileFibonacciStore,
  StateDirectory,
} from "../src/services/index.js";

const port = Number(process.argv[2] ?? "8890");
const reactor = createReactor();
const state = await StateDirectory.open(process.argv[3] ?? defaultStateDir());
const store = await FileFibonacciStore.open(state, {
  strict: process.argv[4] === "strict",
  clock: reactor,
});
const service = new FibonacciService(store);
const listening = await reactor.listenTCP(port, new FibonacciLineFactory(service), {
  interface: "127.0.0.1",
});
console.log(`listening ${listening.getHost().port}`);

const stop = async () => {
  await listening.stopListening({ closeConnections: true });
  await service.close(); // the last save
  await state.close();
  process.exit(0);
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
