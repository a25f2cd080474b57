/**
 * The calculator over AMP (default ports 8992–8994, one server id per port):
 * `Calculate(a: Integer, b: Integer) → result: Integer, server: Integer`.
 */
import { Integer } from "../../protocols/amp/arguments.js";
import { CommandLocator, defineCommand } from "../../protocols/amp/command.js";
import type { AMP } from "../../protocols/amp/protocol.js";
import { ServiceAMPFactory } from "../amp-base.js";
import { debugEnabled, type FrontEndOptions } from "../log.js";
import type { CalculatorService } from "./service.js";

/** `Calculate(a, b) → result, server`. */
export const Calculate = defineCommand({
  name: "Calculate",
  arguments: {
    /** The first addend. */
    a: Integer,
    /** The second addend. */
    b: Integer,
  },
  response: {
    /** `a + b`. */
    result: Integer,
    /** The id of the port that answered. */
    server: Integer,
  },
});

/** Options of {@link CalculatorAMPFactory}. */
export interface CalculatorAMPOptions extends FrontEndOptions {
  /** The id this port answers with in `server`. Default 0. */
  serverId?: number;
}

/** A locator answering `Calculate` from `service` as server `serverId`. */
export function calculatorLocator(
  service: CalculatorService,
  options: CalculatorAMPOptions = {},
): CommandLocator<AMP> {
  const logger = options.logger;
  const debug = logger !== undefined && debugEnabled(logger);
  const serverId = options.serverId ?? 0;
  return new CommandLocator<AMP>().responder(Calculate, ({ a, b }) => {
    if (debug && logger !== undefined) {
      logger.debug(
        { service: "calculator", protocol: "amp", server: serverId, a: String(a), b: String(b) },
        "request",
      );
    }
    return service.calculate(a, b, serverId);
  });
}

/** Serves a {@link CalculatorService} over AMP as one server id. */
export class CalculatorAMPFactory extends ServiceAMPFactory {
  /** The id this port answers with (the `serverId` option; default 0). */
  readonly serverId: number;

  constructor(service: CalculatorService, options: CalculatorAMPOptions = {}) {
    super("calculator", calculatorLocator(service, options), options);
    this.serverId = options.serverId ?? 0;
  }
}
