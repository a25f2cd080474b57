/** The calculator client over XML-RPC (HTTP POST to each server in turn; keep-alive). */
import { Agent, request } from "node:http";
import { Deferred } from "../../core/deferred.js";
import { gatherResults } from "../../core/deferred-list.js";
import { type ClientOptions, defaultClock } from "../client.js";
import type { Calculation, Int } from "./service.js";
import { faultOf, methodCall, parseXmlRpc, XmlRpcParseError } from "./xmlrpc-codec.js";

/** Where an XML-RPC server listens. */
export interface XmlRpcServerAddress {
  /** Host name or IP address of the server. */
  readonly host: string;
  /** TCP port of the server's HTTP listener. */
  readonly port: number;
  /** Request path. Default `/`. */
  readonly path?: string;
}

/** Calls `calculate(a, b)` on each server in turn; same interface as the AMP `CalculatorClient`. */
export class CalculatorXmlRpcClient {
  readonly #servers: readonly XmlRpcServerAddress[];
  readonly #options: ClientOptions;
  readonly #agent = new Agent({ keepAlive: true });
  #next = 0;

  constructor(servers: readonly XmlRpcServerAddress[], options: ClientOptions = {}) {
    if (servers.length === 0) throw new RangeError("CalculatorXmlRpcClient needs a server.");
    this.#servers = servers;
    this.#options = options;
  }

  /**
   * `a + b` on the next server (round robin); see {@link calculateOn} for how a call fails.
   */
  calculate(a: Int, b: Int): Deferred<Calculation> {
    const i = this.#next;
    this.#next = (this.#next + 1) % this.#servers.length;
    return this.calculateOn(i, a, b);
  }

  /** `a + b` on server `index`. Fails with XmlRpcFault, XmlRpcParseError, a socket error or TimeoutError. */
  calculateOn(index: number, a: Int, b: Int): Deferred<Calculation> {
    const server = this.#servers[index];
    if (server === undefined) throw new RangeError(`No server number ${index}.`);
    const body = Buffer.from(methodCall("calculate", [a, b]), "utf8");
    let req: ReturnType<typeof request> | null = null;
    const d = new Deferred<Calculation>(() => req?.destroy());
    req = request(
      {
        host: server.host,
        port: server.port,
        path: server.path ?? "/",
        method: "POST",
        agent: this.#agent,
        headers: { "Content-Type": "text/xml", "Content-Length": body.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          if (d.called) return;
          try {
            if (res.statusCode !== 200) {
              throw new XmlRpcParseError(`HTTP ${res.statusCode} from the XML-RPC server`);
            }
            const doc = parseXmlRpc(Buffer.concat(chunks).toString("utf8"));
            if (doc.fault !== undefined) throw faultOf(doc.fault);
            const [answer] = doc.params;
            const [result, id] = Array.isArray(answer) ? answer : [];
            if (
              !(typeof result === "number" || typeof result === "bigint") ||
              typeof id !== "number"
            ) {
              throw new XmlRpcParseError("calculate answered something other than [sum, id]");
            }
            d.callback({ result, server: id });
          } catch (err) {
            d.errback(err);
          }
        });
      },
    );
    req.on("error", (err) => {
      if (!d.called) d.errback(err);
    });
    req.end(body);
    return d.addTimeout(this.#options.timeout ?? 30, this.#options.clock ?? defaultClock());
  }

  /**
   * Every pair spread over the servers; results in input order (gatherResults: the first failure
   * wins).
   */
  calculateAll(pairs: ReadonlyArray<readonly [Int, Int]>): Deferred<Calculation[]> {
    return gatherResults(pairs.map(([a, b]) => this.calculate(a, b)));
  }

  /** Close the kept-alive HTTP connections (this client's `http.Agent`): calls in flight fail. */
  close(): void {
    this.#agent.destroy();
  }
}
