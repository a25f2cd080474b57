/**
 * weft: network protocols for Node.js in the spirit of Twisted.
 * The core (Protocol, Factory, Transport, reactor, Deferred, Clock), the reusable receivers and AMP,
 * and the protocol-independent services.
 */
export * from "./core/index.js";
export * from "./protocols/index.js";
export * from "./services/index.js";
