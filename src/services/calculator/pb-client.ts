/**
 * The calculator client over PB, as the article's client works: one PB connection per server,
 * `getRootObject()`, then `callRemote('calculate', a, b)` → `(sum, id)`.
 */
import { Deferred } from "../../core/deferred.js";
import { gatherResults } from "../../core/deferred-list.js";
import { ClientFactory } from "../../core/factory.js";
import type { BrokerFactory } from "../../protocols/pb/broker.js";
import { Broker } from "../../protocols/pb/broker.js";
import type { RemoteReference } from "../../protocols/pb/reference.js";
import { globalSecurity } from "../../protocols/pb/security.js";
import { type ClientEndpointLike, type ClientOptions, defaultClock } from "../client.js";
import type { Calculation, Int } from "./service.js";

/** The factory each connection's broker reports to (it only needs to learn when PB is ready). */
class OneBroker extends ClientFactory<Broker> implements BrokerFactory {
  readonly security = globalSecurity;
  readonly unsafeTracebacks = false;
  readonly bananaLimits = {};
  readonly logger = { error: () => {} };
  readonly ready: Promise<RemoteReference>;
  #resolve!: (root: RemoteReference) => void;
  #reject!: (err: Error) => void;

  constructor() {
    super();
    this.ready = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  override buildProtocol(): Broker {
    const b = new Broker(true);
    b.factory = this;
    return b;
  }

  brokerConnected(broker: Broker): void {
    this.#resolve(broker.remoteForName("root"));
  }

  brokerConnectionLost(_broker: Broker, reason: Error): void {
    this.#reject(reason);
  }

  failed(reason: unknown): void {
    this.#reject(reason instanceof Error ? reason : new Error(String(reason)));
  }
}

/**
 * Connects to every endpoint (PB) once, then sends each calculation to the next server in turn.
 * Same interface as the AMP `CalculatorClient`.
 */
export class CalculatorPBClient {
  readonly #endpoints: readonly ClientEndpointLike[];
  readonly #options: ClientOptions;
  readonly #roots: Array<Promise<RemoteReference> | null>;
  readonly #brokers: Array<Broker | null>;
  #next = 0;

  constructor(endpoints: readonly ClientEndpointLike[], options: ClientOptions = {}) {
    if (endpoints.length === 0) {
      throw new RangeError("CalculatorPBClient needs at least one endpoint.");
    }
    this.#endpoints = endpoints;
    this.#options = options;
    this.#roots = endpoints.map(() => null);
    this.#brokers = endpoints.map(() => null);
  }

  /** `a + b` on the next server (round robin). */
  calculate(a: Int, b: Int): Deferred<Calculation> {
    const i = this.#next;
    this.#next = (this.#next + 1) % this.#endpoints.length;
    return this.calculateOn(i, a, b);
  }

  /** `a + b` on server number `index`. Fails with the connect error, the remote error or TimeoutError. */
  calculateOn(index: number, a: Int, b: Int): Deferred<Calculation> {
    const d = new Deferred<Calculation>();
    this.#root(index).then(
      (root) => {
        root.callRemote("calculate", a, b).addCallbacks(
          (answer) => {
            if (d.called) return;
            const [result, server] = Array.isArray(answer) ? answer : [];
            if (
              (typeof result === "number" || typeof result === "bigint") &&
              typeof server === "number"
            ) {
              d.callback({ result, server });
            } else {
              d.errback(new TypeError(`Unexpected answer to calculate: ${String(answer)}`));
            }
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

  /** Every pair spread over the servers; results in input order. */
  calculateAll(pairs: ReadonlyArray<readonly [Int, Int]>): Deferred<Calculation[]> {
    return gatherResults(pairs.map(([a, b]) => this.calculate(a, b)));
  }

  /** Close every connection. */
  close(): void {
    for (const b of this.#brokers) if (b?.connected) b.transport.loseConnection();
    this.#brokers.fill(null);
    this.#roots.fill(null);
  }

  #root(index: number): Promise<RemoteReference> {
    const endpoint = this.#endpoints[index];
    if (endpoint === undefined) return Promise.reject(new RangeError(`No server number ${index}.`));
    const known = this.#roots[index];
    if (known !== undefined && known !== null && this.#brokers[index]?.disconnected !== true) {
      return known;
    }
    const factory = new OneBroker();
    const ready = factory.ready;
    this.#roots[index] = ready;
    this.#brokers[index] = null;
    ready.catch(() => {
      if (this.#roots[index] === ready) this.#roots[index] = null;
    });
    Promise.resolve(endpoint.connect(factory)).then(
      (proto) => {
        this.#brokers[index] = proto as Broker;
      },
      (err: unknown) => factory.failed(err),
    );
    return ready;
  }
}
