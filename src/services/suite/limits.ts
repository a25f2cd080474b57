/**
 * Connection limits in a suite: the `limits` sections of a configuration, their schema, and how a
 * front-end's limits are put together and handed to its port.
 *
 * ```json
 * {
 *   "limits": {
 *     "process": { "memoryBudget": 268435456, "maxConnections": 4000 },
 *     "frontEnds": { "frameTimeout": 20, "idleTimeout": 120 }
 *   },
 *   "services": {
 *     "transform": { "listen": [{ "protocol": "line", "endpoint": "tcp:10002",
 *                                 "limits": { "idleTimeout": 30, "maxConnectionsPerPeer": 50 } }] }
 *   }
 * }
 * ```
 *
 * A front-end's limits, each field from the first that sets it: its `listen` entry's `limits`, the
 * suite's `limits.frontEnds`, its definition's `limits` (e.g. `{ idleTimeout: null }` for push and
 * reference-holding front-ends), the suite default idle timeout ({@link SUITE_IDLE_TIMEOUT}), the
 * library's defaults (`core/connection-limits.ts`). `limits.process` makes the process-wide limits
 * all the suite's ports share. Sizes in bytes, times in seconds, `null` switches a limit off.
 */
import * as v from "valibot";
import type { ConnectionLimits } from "../../core/connection-limits.js";
import type { EndpointReactor } from "../../core/endpoints.js";
import type { ClientFactory, Factory } from "../../core/factory.js";
import type { Connector } from "../../core/interfaces.js";
import { ProcessLimits } from "../../core/process-limits.js";
import type {
  ConnectOptions,
  ConnectTCPOptions,
  ConnectTLSOptions,
  ListeningPort,
  ListenOptions,
  ListenTCPOptions,
  ListenTLSOptions,
} from "../../core/reactor.js";
import type { ServiceLogger } from "../log.js";
import type { PlannedListen } from "./config.js";
import { integer, seconds, strictObject } from "./fields.js";

/** The limits a front-end may set (a `listen` entry's `limits`, `limits.frontEnds`, a definition's `limits`). */
export interface FrontEndLimits {
  /** Bytes this front-end's connections may hold together. Default 64 MiB. */
  memoryBudget?: number | null | undefined;
  /** Seconds a started frame may take, plus 1 s per `frameMinRate` bytes. Default 20. */
  frameTimeout?: number | null | undefined;
  /** Bytes per second that extend `frameTimeout` by one second. Default 500. */
  frameMinRate?: number | undefined;
  /** Seconds without traffic before a connection is closed. Default 120 in a suite. */
  idleTimeout?: number | null | undefined;
  /** Seconds for a TLS handshake. Default 10. */
  handshakeTimeout?: number | null | undefined;
  /** Connections at once. Default half the process's limit. */
  maxConnections?: number | null | undefined;
  /** Connections at once from one peer address. Default `null` (off). */
  maxConnectionsPerPeer?: number | null | undefined;
}

/** The suite-wide `limits` section. */
export interface SuiteLimits {
  /** Limits shared by every port of the suite. */
  process?:
    | {
        /** Bytes all connections may hold together. Default 256 MiB. */
        memoryBudget?: number | null | undefined;
        /** Connections at once. Default derived from the fd limit. */
        maxConnections?: number | null | undefined;
      }
    | undefined;
  /** Defaults for every front-end (a `listen` entry's `limits` override them). */
  frontEnds?: FrontEndLimits | undefined;
}

/**
 * Idle timeout of a suite's front-ends unless their definition says otherwise: 2 minutes, long
 * enough for a person typing into `nc` or a client pausing between calls, short enough that
 * connections parked by the hundred do not stay. Push front-ends and those whose peers hold
 * references (PB) set `limits: { idleTimeout: null }` in their definition.
 */
export const SUITE_IDLE_TIMEOUT = 120;

const off = <T extends v.GenericSchema>(s: T) => v.optional(v.nullable(s));
const positive = (() => {
  const m = "must be a number > 0";
  return v.pipe(v.number(m), v.finite(m), v.gtValue(0, m));
})();

const frontEndEntries = {
  memoryBudget: off(integer(1)),
  frameTimeout: off(seconds),
  frameMinRate: v.optional(positive),
  idleTimeout: off(seconds),
  handshakeTimeout: off(seconds),
  maxConnections: off(integer(1)),
  maxConnectionsPerPeer: off(integer(1)),
};

/** The schema of a front-end's `limits` (a `listen` entry's, or `limits.frontEnds`). */
export const frontEndLimitsShape = strictObject(frontEndEntries, {
  what: "must be an object of limits (memoryBudget, frameTimeout, idleTimeout, …)",
});

/** The schema of the suite's `limits` section. */
export const suiteLimitsShape = strictObject(
  {
    process: v.optional(
      strictObject(
        { memoryBudget: off(integer(1)), maxConnections: off(integer(1)) },
        { what: "must be an object { memoryBudget, maxConnections }" },
      ),
    ),
    frontEnds: v.optional(frontEndLimitsShape),
  },
  { what: "must be an object { process, frontEnds }" },
);

/** The process-wide limits of a suite (from `limits.process`; each field defaults as in the library). */
export function suiteProcessLimits(limits: SuiteLimits | undefined): ProcessLimits {
  const p = limits?.process;
  return new ProcessLimits({
    ...(p?.memoryBudget !== undefined ? { memoryBudget: p.memoryBudget } : {}),
    ...(p?.maxConnections !== undefined ? { maxConnections: p.maxConnections } : {}),
  });
}

/** Keeps the fields that are set (so a later layer's `undefined` does not hide an earlier one). */
function defined(l: FrontEndLimits | undefined): Omit<ConnectionLimits, "report" | "process"> {
  const out: Omit<ConnectionLimits, "report" | "process"> = {};
  if (l === undefined) return out;
  for (const [k, value] of Object.entries(l)) {
    if (value !== undefined) Object.assign(out, { [k]: value });
  }
  return out;
}

/** What a front-end's port is limited by (see the module comment for the order). */
export function frontEndConnectionLimits(
  layers: {
    definition?: FrontEndLimits | undefined;
    suite?: FrontEndLimits | undefined;
    entry?: FrontEndLimits | undefined;
  },
  process: ProcessLimits,
  report: (line: string) => void,
): ConnectionLimits {
  return {
    idleTimeout: SUITE_IDLE_TIMEOUT,
    ...defined(layers.definition),
    ...defined(layers.suite),
    ...defined(layers.entry),
    process,
    report,
  };
}

/** Where a front-end's limit lines go: the suite's logger at warn, with the front-end named. */
export function limitReport(
  logger: ServiceLogger,
  service: string,
  protocol: string,
): (line: string) => void {
  return (line) => logger.warn({ service, protocol, limit: true }, line);
}

/**
 * `reactor` for the endpoints of one front-end: its `listen*` calls carry `limits` (endpoint
 * strings have no place for them); everything else goes to `reactor` as is.
 */
export function withLimits(reactor: EndpointReactor, limits: ConnectionLimits): EndpointReactor {
  return {
    listenTCP: (port: number, factory: Factory, options: ListenTCPOptions = {}) =>
      reactor.listenTCP(port, factory, { ...options, limits }),
    listenTLS: (port: number, factory: Factory, options: ListenTLSOptions) =>
      reactor.listenTLS(port, factory, { ...options, limits }),
    listenUNIX: (path: string, factory: Factory, options: { backlog?: number } = {}) => {
      const withLimit: ListenOptions = { ...options, limits };
      return reactor.listenUNIX(path, factory, withLimit) as Promise<ListeningPort>;
    },
    connectTCP: (host: string, port: number, f: ClientFactory, o?: ConnectTCPOptions): Connector =>
      reactor.connectTCP(host, port, f, o),
    connectTLS: (host: string, port: number, f: ClientFactory, o?: ConnectTLSOptions): Connector =>
      reactor.connectTLS(host, port, f, o),
    connectUNIX: (path: string, f: ClientFactory, o?: ConnectOptions): Connector =>
      reactor.connectUNIX(path, f, o),
  };
}

/**
 * The limits of each front-end of a checked configuration, all sharing one {@link ProcessLimits}
 * made from `limits.process`; limit lines go to `logger` at warn.
 */
export function suiteFrontEndLimits(
  plan: { readonly limits: SuiteLimits | undefined },
  logger: ServiceLogger,
): (service: string, entry: PlannedListen) => ConnectionLimits {
  const process = suiteProcessLimits(plan.limits);
  return (service, entry) =>
    frontEndConnectionLimits(
      { definition: entry.frontEnd.limits, suite: plan.limits?.frontEnds, entry: entry.limits },
      process,
      limitReport(logger, service, entry.protocol),
    );
}
