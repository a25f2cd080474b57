/**
 * The shared shape of the line and netstring front-end factories: a service, a logger and the
 * protocol class they build.
 */

import type { ProtocolClass } from "../core/factory.js";
import { ServerFactory } from "../core/factory.js";
import type { Protocol } from "../core/protocol.js";
import { type FrontEndOptions, type ServiceLogger, silentLogger } from "./log.js";

/** A server factory building `protocol` for every connection to one service. */
export class ServiceServerFactory<S, P extends Protocol> extends ServerFactory<P> {
  /** The service every connection's protocol calls. */
  readonly service: S;
  /** Where the front-end logs (the `logger` option; default silent). */
  readonly logger: ServiceLogger;

  constructor(protocol: ProtocolClass<P>, service: S, options: FrontEndOptions) {
    super();
    this.protocol = protocol;
    this.service = service;
    this.logger = options.logger ?? silentLogger;
  }
}
