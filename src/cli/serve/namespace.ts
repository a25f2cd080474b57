/**
 * What a manhole session of a serving process has in scope: the running suite, its services by
 * name, its front-ends and their factories, the open connections, the reactor and the logger.
 */
import type { Reactor } from "../../core/reactor.js";
import type { RunningSuite } from "../../services/suite/index.js";

/** A port that can list its open connections (the reactor's socket ports can). */
function connectionsOf(port: unknown): readonly unknown[] {
  const c = (port as { connections?: unknown }).connections;
  return c instanceof Set ? [...c] : [];
}

/** The manhole namespace of `suite`. */
export function suiteNamespace(
  suite: RunningSuite,
  reactor: Reactor,
  logger: unknown,
): Record<string, unknown> {
  return {
    suite,
    services: Object.fromEntries(suite.services),
    frontEnds: suite.frontEnds,
    factories: suite.frontEnds.map((f) => f.factory),
    /** Every open connection's transport, with the front-end it belongs to. */
    connections: () =>
      suite.frontEnds.flatMap((f) =>
        connectionsOf(f.port).map((transport) => ({
          service: f.service,
          protocol: f.protocol,
          transport,
        })),
      ),
    reactor,
    logger,
  };
}
