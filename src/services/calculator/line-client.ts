/**
 * The calculator client over CRLF lines: `A SP B` → `OK SUM SERVER` (or `ERROR CODE MESSAGE`),
 * pipelined on one kept connection per server; replies come back in request order.
 */
import { Deferred } from "../../core/deferred.js";
import { gatherResults } from "../../core/deferred-list.js";
import { ConnectionLost } from "../../core/errors.js";
import { LineReceiver } from "../../protocols/receivers/index.js";
import {
  type ClientEndpointLike,
  type ClientOptions,
  defaultClock,
  KeptConnection,
} from "../client.js";
import { BadRequestError } from "../errors.js";
import { type Calculation, type Int, parseDecimalInt } from "./service.js";

class CalcLineClientProtocol extends LineReceiver {
  readonly #waiting: Array<Deferred<Calculation>> = [];

  ask(a: Int, b: Int): Deferred<Calculation> {
    const d = new Deferred<Calculation>();
    this.#waiting.push(d);
    this.sendLine(`${a} ${b}`);
    return d;
  }

  override lineReceived(line: Uint8Array): void {
    const d = this.#waiting.shift();
    if (d === undefined || d.called) return;
    const text = Buffer.from(line).toString("utf8");
    const m = /^OK (-?\d+) (-?\d+)$/.exec(text);
    if (m !== null) d.callback({ result: parseDecimalInt(m[1] as string), server: Number(m[2]) });
    else d.errback(new BadRequestError(`The calculator answered: ${text}`));
  }

  override connectionLost(reason: Error): void {
    super.connectionLost(reason);
    for (const d of this.#waiting.splice(0)) {
      if (!d.called)
        d.errback(new ConnectionLost(`Connection lost before the answer: ${reason.message}`));
    }
  }
}

/** Spreads calculations over line servers (round robin); same interface as the AMP client. */
export class CalculatorLineClient {
  readonly #conns: Array<KeptConnection<CalcLineClientProtocol>>;
  readonly #options: ClientOptions;
  #next = 0;

  constructor(endpoints: readonly ClientEndpointLike[], options: ClientOptions = {}) {
    if (endpoints.length === 0) throw new RangeError("CalculatorLineClient needs an endpoint.");
    this.#conns = endpoints.map((e) => new KeptConnection(e, () => new CalcLineClientProtocol()));
    this.#options = options;
  }

  /**
   * `a + b` on the next server (round robin), sent as the line `A B` on that server's kept
   * connection (opened on first use, reopened after a loss). Fails with the endpoint's connect
   * error, {@link BadRequestError} when the server answers anything but `OK SUM SERVER` (its
   * `ERROR CODE MESSAGE` line is in the message), `ConnectionLost` when the connection goes before
   * the answer, or `TimeoutError` after `options.timeout` seconds (default 30).
   */
  calculate(a: Int, b: Int): Deferred<Calculation> {
    const conn = this.#conns[this.#next] as KeptConnection<CalcLineClientProtocol>;
    this.#next = (this.#next + 1) % this.#conns.length;
    const d = new Deferred<Calculation>();
    conn.get().addCallbacks(
      (p) => {
        p.ask(a, b).addCallbacks(
          (r) => {
            if (!d.called) d.callback(r);
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

  /**
   * Every pair spread over the servers; results in input order (gatherResults: the first failure
   * wins).
   */
  calculateAll(pairs: ReadonlyArray<readonly [Int, Int]>): Deferred<Calculation[]> {
    return gatherResults(pairs.map(([a, b]) => this.calculate(a, b)));
  }

  /** Close every kept connection; a later call opens a new one. */
  close(): void {
    for (const c of this.#conns) c.close();
  }
}
