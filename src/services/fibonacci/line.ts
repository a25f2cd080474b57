/**
 * Fibonacci over lines (default port 8890), the seed's protocol made line-framed: every request line
 * (its content is ignored; CRLF-terminated, at most 1,024 bytes) is answered with the next number in
 * decimal and CRLF, in request order; a store failure is answered `ERROR CODE MESSAGE`.
 *
 * Size: a number has about 0.209 digits per position, so past position ~78,000 a reply line is longer
 * than 16 KiB, the default line limit of Twisted's `LineReceiver` (and weft's). The server sends the
 * whole number whatever its length — a documented extension, never a truncation: a client reading
 * past that point raises its own line limit (weft: `MAX_LENGTH`).
 */
import { ServiceServerFactory } from "../front-end.js";
import { LineFrontEnd } from "../line-front-end.js";
import { type FrontEndOptions, logConnection } from "../log.js";
import type { FibonacciNumber, FibonacciService } from "./service.js";

const decimal = (n: FibonacciNumber): string => n.value.toString();

/** Server protocol: any line → the next number. */
export class FibonacciLineProtocol extends LineFrontEnd<FibonacciLineFactory> {
  override connectionMade(): void {
    super.connectionMade();
    this.MAX_LENGTH = 1024;
    logConnection(this.factory.logger, "connection made", "fibonacci", "line", this);
  }

  override lineReceived(_line: Uint8Array): void {
    this.replyLater(this.factory.service.next().then(decimal));
  }

  override connectionLost(reason: Error): void {
    super.connectionLost(reason);
    logConnection(this.factory.logger, "connection lost", "fibonacci", "line", this, reason);
  }
}

/** Serves a {@link FibonacciService} over lines. */
export class FibonacciLineFactory extends ServiceServerFactory<
  FibonacciService,
  FibonacciLineProtocol
> {
  constructor(service: FibonacciService, options: FrontEndOptions = {}) {
    super(FibonacciLineProtocol, service, options);
  }
}
