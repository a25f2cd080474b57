/**
 * The article's Client.py, with weft: connect to the three calculator servers with
 * `PBClientFactory().getRootObject()`, call `calculate(a, b)` on each (a and b grow by 10 and 11
 * per server, as in the article), print each result tuple and the total.
 * Run: `node --import tsx examples/pb-calculator-client.ts [HOST] [P1 P2 P3]`.
 */
import { createReactor } from "../src/core/reactor.js";
import { PBClientFactory } from "../src/protocols/pb/index.js";

const host = process.argv[2] ?? "127.0.0.1";
const ports = process.argv.length > 3 ? process.argv.slice(3).map(Number) : [8992, 8993, 8994];
const reactor = createReactor();

let a = 42;
let b = 47;
let total = 0;
let count = 0;
const factories: PBClientFactory[] = [];

function finish(code: number): void {
  for (const f of factories) f.disconnect();
  process.exitCode = code;
}

console.log("Connecting to Servers...");
for (const port of ports) {
  const factory = new PBClientFactory();
  factories.push(factory);
  reactor.connectTCP(host, port, factory);
  factory.getRootObject().addCallbacks(
    (perspective) => {
      perspective.callRemote("calculate", a, b).addCallbacks(
        (result) => {
          const [sum, id] = result as [number, number];
          console.log(`(${sum}, ${id})`);
          total += sum;
          count += 1;
          if (count === ports.length) {
            console.log(`total: ${total}`);
            finish(0);
          }
        },
        () => {
          console.log("remote failure");
          finish(1);
        },
      );
      console.log("connected");
      a += 10;
      b += 11;
    },
    () => {
      console.log("remote failure");
      finish(1);
    },
  );
}
