/**
 * Calculator client: spreads additions over the three calculator servers and gathers the answers.
 * Run: `node --import tsx examples/calculator-client.ts [P1 P2 P3]` (default 8992 8993 8994).
 */
import { clientFromString } from "../src/core/endpoints.js";
import { createReactor } from "../src/core/reactor.js";
import { CalculatorClient } from "../src/services/index.js";

const ports = process.argv.length > 2 ? process.argv.slice(2) : ["8992", "8993", "8994"];
const reactor = createReactor();
const calc = new CalculatorClient(
  ports.map((p) => clientFromString(reactor, `tcp:127.0.0.1:${p}`)),
  { timeout: 10 },
);
const pairs = [
  [1, 2],
  [30, 12],
  [2 ** 53, 2 ** 53],
  [-7, 7],
] as const;
try {
  const answers = await calc.calculateAll(pairs);
  for (const [i, { result, server }] of answers.entries()) {
    console.log(`server ${server}: ${pairs[i]?.[0]} + ${pairs[i]?.[1]} = ${result}`);
  }
} catch (err) {
  console.error(`calculation failed: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  calc.close();
}
