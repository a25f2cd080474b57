/**
 * A client of the calculator that spreads calls over several servers (ports) and gathers results.
 */
import { Deferred } from "../../core/deferred.js";
import { gatherResults } from "../../core/deferred-list.js";
import { AMP } from "../../protocols/amp/protocol.js";
import {
  type ClientEndpointLike,
  type ClientOptions,
  defaultClock,
  KeptConnection,
} from "../client.js";
import { Calculate } from "./amp.js";
import type { Calculation, Int } from "./service.js";

/**
 * Connects to every endpoint once (AMP), then sends each calculation to the next server in turn.
 *
 * ```ts
 * const calc = new CalculatorClient(["tcp:127.0.0.1:8992", …].map((s) => clientFromString(reactor, s)));
 * const answers = await calc.calculateAll([[1, 2], [3, 4], [5, 6]]);
 * calc.close();
 * ```
 */
export class CalculatorClient {
  readonly #endpoints: readonly ClientEndpointLike[];
  readonly #options: ClientOptions;
  readonly #conns: Array<KeptConnection<AMP>>;
  #next = 0;

  constructor(endpoints: readonly ClientEndpointLike[], options: ClientOptions = {}) {
    if (endpoints.length === 0)
      throw new RangeError("CalculatorClient needs at least one endpoint.");
    this.#endpoints = endpoints;
    this.#options = options;
    this.#conns = endpoints.map((e) => new KeptConnection(e, () => new AMP()));
  }

  /** `a + b` on the next server (round robin). Fails with the typed connect/AMP error or TimeoutError. */
  calculate(a: Int, b: Int): Deferred<Calculation> {
    const i = this.#next;
    this.#next = (this.#next + 1) % this.#endpoints.length;
    return this.calculateOn(i, a, b);
  }

  /** `a + b` on server number `index` (position in the endpoint list). */
  calculateOn(index: number, a: Int, b: Int): Deferred<Calculation> {
    const d = new Deferred<Calculation>();
    const conn = this.#conns[index];
    if (conn === undefined) throw new RangeError(`No server number ${index}.`);
    conn.get().addCallbacks(
      (amp) => {
        amp.callRemote(Calculate, { a, b }).addCallbacks(
          (r) => {
            if (!d.called) d.callback({ result: r.result, server: Number(r.server) });
          },
          (e: Error) => {
            if (!d.called) d.errback(e);
          },
        );
      },
      (e: Error) => {
        if (!d.called) d.errback(e);
      },
    );
    return d.addTimeout(this.#options.timeout ?? 30, this.#options.clock ?? defaultClock());
  }

  /** Every pair spread over the servers; results in input order (gatherResults: first failure wins). */
  calculateAll(pairs: ReadonlyArray<readonly [Int, Int]>): Deferred<Calculation[]> {
    return gatherResults(pairs.map(([a, b]) => this.calculate(a, b)));
  }

  /** Close every connection. */
  close(): void {
    for (const c of this.#conns) c.close();
  }
}
