/**
 * The calculator over XML-RPC (default port 8999): HTTP POST of a `methodCall` `calculate(a, b)`
 * with two `<int>`s answers the array `[sum, id]`; anything else is a fault (never a crash): -32700
 * for a body that is not well-formed XML-RPC, -32601 for another method, -32602 for bad arguments.
 * HTTP from `node:http`, XML read by saxes (`xmlrpc-codec.ts`). Limits: the body size (413 beyond
 * it, checked against Content-Length before reading and while reading), the time to receive the
 * headers and the whole request (Node's `headersTimeout`/`requestTimeout`: 408 then close).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { CannotListenError } from "../../core/errors.js";
import type { Address } from "../../core/interfaces.js";
import type {
  CloseConnectionsOptions,
  ListeningPort,
  StopListeningOptions,
} from "../../core/reactor.js";
import { debugEnabled, type FrontEndOptions, type ServiceLogger, silentLogger } from "../log.js";
import type { Calculation, CalculatorService, Int } from "./service.js";
import {
  FAULT_INTERNAL_ERROR,
  FAULT_INVALID_PARAMS,
  FAULT_METHOD_NOT_FOUND,
  FAULT_PARSE_ERROR,
  faultResponse,
  methodResponse,
  parseXmlRpc,
  type XmlRpcDocument,
} from "./xmlrpc-codec.js";

/** Options of {@link CalculatorXmlRpcServer}. */
export interface CalculatorXmlRpcOptions extends FrontEndOptions {
  /** The id answered as the second array item. Default 0. */
  serverId?: number;
  /** Largest request body in bytes. Default 65536. */
  maxBodyBytes?: number;
  /** Seconds to receive the request headers. Default 10. */
  headersTimeout?: number;
  /** Seconds to receive the whole request. Default 30. */
  requestTimeout?: number;
}

/** An XML-RPC server for a {@link CalculatorService}, one server id. */
export class CalculatorXmlRpcServer {
  /**
   * The underlying `node:http` server (timeouts and header size limit set), not yet listening:
   * call {@link listen}.
   */
  readonly server: Server;
  /** The calculator that answers `calculate` calls. */
  readonly service: CalculatorService;
  /** The id this server answers with (the second item of each `[sum, id]`). */
  readonly serverId: number;
  /**
   * Largest request body accepted, in bytes; a larger one is answered 413 and the connection
   * closed.
   */
  readonly maxBodyBytes: number;
  readonly #logger: ServiceLogger;

  constructor(service: CalculatorService, options: CalculatorXmlRpcOptions = {}) {
    this.service = service;
    this.serverId = options.serverId ?? 0;
    this.maxBodyBytes = options.maxBodyBytes ?? 65536;
    this.#logger = options.logger ?? silentLogger;
    const requestTimeout = (options.requestTimeout ?? 30) * 1000;
    const headersTimeout = Math.min((options.headersTimeout ?? 10) * 1000, requestTimeout);
    this.server = createServer(
      {
        headersTimeout,
        requestTimeout,
        // Node checks these timeouts on an interval (30 s by default): check often enough.
        connectionsCheckingInterval: Math.max(50, Math.min(1000, headersTimeout / 2)),
        maxHeaderSize: 16384,
      },
      (req, res) => this.#handle(req, res),
    );
  }

  /** Listen on `port` (0 picks one) at `host`, or on the Unix socket `path`. */
  listen(where: { port: number; host?: string } | { path: string }): Promise<ListeningPort> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        reject(new CannotListenError(`Cannot listen for XML-RPC: ${err.message}`, { cause: err }));
      };
      this.server.once("error", onError);
      const done = (): void => {
        this.server.off("error", onError);
        resolve(new HttpListeningPort(this.server, "path" in where ? where.path : undefined));
      };
      if ("path" in where) this.server.listen(where.path, done);
      else this.server.listen(where.port, where.host ?? "127.0.0.1", done);
    });
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== "POST") {
      res.writeHead(405, { Allow: "POST", "Content-Type": "text/plain" }).end("POST only\n");
      return;
    }
    const declared = Number(req.headers["content-length"] ?? "0");
    if (declared > this.maxBodyBytes) {
      this.#tooLarge(req, res);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on("data", (c: Buffer) => {
      if (over) return;
      size += c.length;
      if (size > this.maxBodyBytes) {
        over = true;
        this.#tooLarge(req, res);
        return;
      }
      chunks.push(c);
    });
    req.on("error", () => {});
    req.on("end", () => {
      if (over) return;
      this.#answer(Buffer.concat(chunks).toString("utf8"), res);
    });
  }

  #tooLarge(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(413, { "Content-Type": "text/plain", Connection: "close" });
    res.end("Request body too large\n", () => req.socket.destroy());
  }

  #answer(body: string, res: ServerResponse): void {
    let doc: XmlRpcDocument;
    try {
      doc = parseXmlRpc(body);
      if (doc.kind !== "methodCall") throw new Error("Expected a methodCall");
    } catch (err) {
      this.#send(res, faultResponse(FAULT_PARSE_ERROR, `Parse error: ${(err as Error).message}`));
      return;
    }
    if (doc.methodName !== "calculate") {
      this.#send(res, faultResponse(FAULT_METHOD_NOT_FOUND, `No such method: ${doc.methodName}`));
      return;
    }
    const [a, b] = doc.params;
    if (doc.params.length !== 2 || !isInt(a) || !isInt(b)) {
      this.#send(res, faultResponse(FAULT_INVALID_PARAMS, "calculate takes two integers"));
      return;
    }
    if (debugEnabled(this.#logger)) {
      this.#logger.debug(
        {
          service: "calculator",
          protocol: "xmlrpc",
          server: this.serverId,
          a: String(a),
          b: String(b),
        },
        "request",
      );
    }
    const reply = (c: Calculation): void => this.#send(res, methodResponse([c.result, c.server]));
    try {
      const answer = this.service.calculate(a, b, this.serverId);
      if (answer instanceof Promise) {
        answer.then(reply, (err: unknown) =>
          this.#send(res, faultResponse(FAULT_INTERNAL_ERROR, String(err))),
        );
      } else reply(answer);
    } catch (err) {
      this.#send(res, faultResponse(FAULT_INTERNAL_ERROR, (err as Error).message));
    }
  }

  #send(res: ServerResponse, xml: string): void {
    if (res.writableEnded || res.destroyed) return;
    const body = Buffer.from(xml, "utf8");
    res.writeHead(200, { "Content-Type": "text/xml", "Content-Length": body.length });
    res.end(body);
  }
}

function isInt(v: unknown): v is Int {
  return typeof v === "bigint" || (typeof v === "number" && Number.isSafeInteger(v));
}

/** A {@link ListeningPort} over a listening `node:http` server. */
class HttpListeningPort implements ListeningPort {
  readonly #server: Server;
  readonly #host: Address;

  constructor(server: Server, path: string | undefined) {
    this.#server = server;
    const a = server.address();
    this.#host =
      path !== undefined
        ? { type: "UNIX", host: "", port: 0, path }
        : {
            type: (a as AddressInfo).family === "IPv6" ? "TCP6" : "TCP",
            host: (a as AddressInfo).address,
            port: (a as AddressInfo).port,
          };
  }

  getHost(): Address {
    return this.#host;
  }

  stopListening(options: StopListeningOptions = {}): Promise<void> {
    const closed = new Promise<void>((resolve) => {
      if (!this.#server.listening) resolve();
      else this.#server.close(() => resolve());
    });
    if (options.closeConnections === true) this.#server.closeIdleConnections();
    return options.closeConnections === true
      ? Promise.all([closed, this.closeConnections({ timeout: options.timeout ?? 5 })]).then(
          () => {},
        )
      : closed;
  }

  closeConnections(options: CloseConnectionsOptions = {}): Promise<void> {
    if (options.abort === true) this.#server.closeAllConnections();
    else this.#server.closeIdleConnections();
    const timeout = options.timeout;
    if (timeout !== undefined && timeout !== null) {
      setTimeout(() => this.#server.closeAllConnections(), timeout * 1000).unref();
    }
    return Promise.resolve();
  }
}
