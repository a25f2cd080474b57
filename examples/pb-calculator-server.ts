/**
 * The article's Server.py, with weft: a `pb.Root` whose `remote_calculate(a, b)` returns
 * `(a + b, id)`, served by a PBServerFactory on three ports with ids 0, 1, 2 (the article's
 * `enumerate`). Run: `node --import tsx examples/pb-calculator-server.ts [FIRST_PORT] [DELAY]`
 * (defaults 8992 and 0; FIRST_PORT 0 picks free ports). The article's `time.sleep(1)` becomes an
 * optional delay on the reactor's clock, which never blocks. Prints `listening P1 P2 P3`.
 */
import { createReactor, type ListeningPort } from "../src/core/reactor.js";
import { PBServerFactory, Root, tuple } from "../src/protocols/pb/index.js";

const PORT = Number(process.argv[2] ?? "8992");
const DELAY = Number(process.argv[3] ?? "0");
const COUNT = 3;
const reactor = createReactor();

class Calculator extends Root {
  readonly id: number;

  constructor(id: number) {
    super();
    this.id = id;
    console.error(`Calculator ${id} running`);
  }

  remote_calculate(a: number, b: number): unknown {
    console.error(`Calculator ${this.id} calculating ...`);
    const answer = tuple(a + b, this.id);
    if (DELAY === 0) return answer;
    return new Promise((resolve) => reactor.callLater(DELAY, () => resolve(answer)));
  }
}

const ports: ListeningPort[] = [];
for (let i = 0; i < COUNT; i++) {
  const port = PORT === 0 ? 0 : PORT + i;
  ports.push(
    await reactor.listenTCP(port, new PBServerFactory(new Calculator(i)), {
      interface: "127.0.0.1",
    }),
  );
}
console.log(`listening ${ports.map((p) => p.getHost().port).join(" ")}`);

const stop = (): void => {
  void Promise.all(ports.map((p) => p.stopListening({ closeConnections: true }))).then(() =>
    process.exit(0),
  );
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
