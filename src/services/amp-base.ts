/**
 * The shared shape of every service's AMP front-end: one {@link CommandLocator} for all connections,
 * plus connection logging.
 */
import type { Address } from "../core/interfaces.js";
import type { CommandLocator } from "../protocols/amp/command.js";
import { AMP, AMPFactory } from "../protocols/amp/protocol.js";
import {
  codeIn,
  type FrontEndOptions,
  logConnection,
  logPeerFault,
  type ServiceLogger,
  silentLogger,
} from "./log.js";

/** An AMP connection of a service front-end (logs its connection events). */
export class ServiceAMP extends AMP<ServiceAMPFactory> {
  override connectionMade(): void {
    super.connectionMade();
    const f = this.factory;
    logConnection(f.logger, "connection made", f.serviceName, "amp", this);
  }

  override connectionLost(reason: Error): void {
    super.connectionLost(reason);
    const f = this.factory;
    logConnection(f.logger, "connection lost", f.serviceName, "amp", this, reason);
  }
}

/** A server factory answering a service's AMP commands through one shared locator. */
export class ServiceAMPFactory extends AMPFactory {
  /** The service's name, for log lines. */
  readonly serviceName: string;
  /** Where the front-end logs (the `logger` option; default silent). */
  readonly logger: ServiceLogger;

  constructor(serviceName: string, locator: CommandLocator<AMP>, options: FrontEndOptions = {}) {
    const logger = options.logger ?? silentLogger;
    super(locator, {
      logger: {
        // Our faults (a responder throwing an undeclared error): at error, with the stack.
        error: (obj, msg) => logger.error({ service: serviceName, protocol: "amp", ...obj }, msg),
        // The peer's (a protocol violation, arguments that do not decode): warn, rate-limited.
        warn: (obj, msg) =>
          logPeerFault(logger, { service: serviceName, protocol: "amp", error: codeIn(obj) }, msg),
      },
    });
    this.serviceName = serviceName;
    this.logger = logger;
  }

  override buildProtocol(_addr: Address): AMP {
    const p = new ServiceAMP({ ...this.options, locator: this.locator });
    p.factory = this;
    return p;
  }
}
