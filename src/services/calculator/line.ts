/**
 * The calculator over CRLF lines (default port 8995, server id 4 — the same service object the AMP
 * ports use, served over another protocol by configuration): request `A SP B` (decimal integers),
 * reply `OK SP RESULT SP SERVER`, or `ERROR SP ERR_BAD_REQUEST SP MESSAGE` for anything else.
 * Persistent and pipelined; replies keep request order even when the calculator is delayed.
 */
import { BadRequestError } from "../errors.js";
import { ServiceServerFactory } from "../front-end.js";
import { errorLine, LineFrontEnd } from "../line-front-end.js";
import { type FrontEndOptions, logConnection } from "../log.js";
import { decodeUtf8 } from "../text.js";
import { type Calculation, type CalculatorService, parseDecimalInt } from "./service.js";

const INTEGER = /^-?\d{1,4300}$/;

/** Server protocol: `A B` → `OK SUM SERVER`, in request order. */
export class CalculatorLineProtocol extends LineFrontEnd<CalculatorLineFactory> {
  override connectionMade(): void {
    super.connectionMade();
    this.MAX_LENGTH = 8700; // two 4300-digit integers (AMP's Integer limit), a sign each and a space
    logConnection(this.factory.logger, "connection made", "calculator", "line", this);
  }

  override lineReceived(line: Uint8Array): void {
    const f = this.factory;
    const text = decodeUtf8(line);
    const parts = text?.split(" ");
    if (
      parts === undefined ||
      parts.length !== 2 ||
      !INTEGER.test(parts[0] as string) ||
      !INTEGER.test(parts[1] as string)
    ) {
      this.reply(errorLine(new BadRequestError("Expected A SP B (two decimal integers).")));
      return;
    }
    const answer = f.service.calculate(
      parseDecimalInt(parts[0] as string),
      parseDecimalInt(parts[1] as string),
      f.serverId,
    );
    if (answer instanceof Promise) this.replyLater(answer.then(okLine));
    else this.reply(okLine(answer));
  }

  /** Drops the replies still waiting and logs the loss. */
  override connectionLost(reason: Error): void {
    super.connectionLost(reason);
    logConnection(this.factory.logger, "connection lost", "calculator", "line", this, reason);
  }
}

function okLine(a: Calculation): string {
  return `OK ${a.result} ${a.server}`;
}

/** Options of {@link CalculatorLineFactory}. */
export interface CalculatorLineOptions extends FrontEndOptions {
  /** The id this port answers with. Default 0. */
  serverId?: number;
}

/** Serves a {@link CalculatorService} over CRLF lines as one server id. */
export class CalculatorLineFactory extends ServiceServerFactory<
  CalculatorService,
  CalculatorLineProtocol
> {
  /** The id this port answers with (the `serverId` option; default 0). */
  readonly serverId: number;

  constructor(service: CalculatorService, options: CalculatorLineOptions = {}) {
    super(CalculatorLineProtocol, service, options);
    this.serverId = options.serverId ?? 0;
  }
}
