/**
 * Runs a suite: builds the services a configuration names, opens every front-end, and stops it all
 * gracefully. Everything that can be checked is checked before the first port opens (ConfigError);
 * a port that then fails to open (CannotListenError) closes the ones already open.
 */
import { serverFromString } from "../../core/endpoints.js";
import { WeftError } from "../../core/errors.js";
import type { Address, DelayedCall, ReactorTime } from "../../core/interfaces.js";
import type { ListeningPort } from "../../core/reactor.js";
import { ConfigError } from "../errors.js";
import { type ServiceLogger, silentLogger } from "../log.js";
import { StateDirectory } from "../state/directory.js";
import { StateError } from "../state/errors.js";
import { BUILTIN_REGISTRY } from "./builtins.js";
import { checkSuiteConfig, type PlannedService, type SuiteConfig } from "./config.js";
import type { FrontEndEndpoint, SuiteReactor } from "./definition.js";
import { formatAddress, resolveServerEndpoint } from "./endpoints.js";
import { registryWithModules } from "./modules.js";
import type { ServiceRegistry } from "./registry.js";

/** One started front-end. */
export interface RunningFrontEnd {
  /** The name of the service it serves. */
  readonly service: string;
  /** Its protocol name. */
  readonly protocol: string;
  /** The endpoint string listened on (after host/offset). */
  readonly endpoint: string;
  /** The bound address (actual port for port 0). */
  readonly address: Address;
  /** The listening port (stopped by `RunningSuite.stop`). */
  readonly port: ListeningPort;
  /** What the front-end's `build` returned (a Factory for stream endpoints). */
  readonly factory: unknown;
}

/** Options of {@link startSuite}. */
export interface StartSuiteOptions {
  /**
   * The services and front-ends the config may name. Default: the built-in ones plus the config's
   * `modules`, loaded relative to `baseDir`.
   */
  registry?: ServiceRegistry;
  /** Default interface (overrides the config's `host`). Default: config `host`, else `127.0.0.1`. */
  host?: string;
  /** Port offset (overrides the config's). Default: config `portOffset`, else 0. */
  portOffset?: number;
  /** Logs. Default silent. */
  logger?: ServiceLogger;
  /** Resolves relative paths (`modules`, the poetry `poems`). Default `process.cwd()`. */
  baseDir?: string;
  /** Clock for the services (slow poetry, calculator delay) and the stop grace. Default: the reactor. */
  clock?: ReactorTime;
  /**
   * The state directory, created (0700) and locked for the suite's lifetime (a StateLockedError
   * when another live process holds it); services load from it in `create` and save in `stop`, and
   * it is unlocked after them. Default: none (services keep state in memory only).
   * `defaultStateDir()` gives the standard place.
   */
  stateDir?: string;
}

/** A running suite. */
export interface RunningSuite {
  /** Every front-end started, in configuration order. */
  readonly frontEnds: readonly RunningFrontEnd[];
  /** The service objects, by name. */
  readonly services: ReadonlyMap<string, unknown>;
  /**
   * Graceful stop: stop listening everywhere (factories' `stopFactory` run), close every open
   * connection (pending writes flushed), run the services' `stop`, then resolve. Connections still
   * open after `graceSeconds` (default 5; a peer that never closes its side) are aborted.
   */
  stop(options?: { graceSeconds?: number }): Promise<void>;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** `fn()`, with any error turned into a ConfigError at `path` (a ConfigError passes as is). */
async function atPath<T>(path: string, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ConfigError || err instanceof StateError) throw err;
    throw new ConfigError(`${path}: ${message(err)}`, {
      cause: err,
      issues: [{ path, message: message(err) }],
    });
  }
}

async function stopServices(
  planned: readonly PlannedService[],
  services: ReadonlyMap<string, unknown>,
  logger: ServiceLogger,
): Promise<void> {
  for (const p of planned) {
    if (p.definition.stop === undefined || !services.has(p.name)) continue;
    try {
      await p.definition.stop(services.get(p.name));
    } catch (err) {
      logger.error({ service: p.name, err }, "error while stopping the service");
    }
  }
}

/** Duck-typed: a user module's Factory may come from another copy of weft's classes. */
function isFactory(value: unknown): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { buildProtocol?: unknown }).buildProtocol === "function"
  );
}

interface Opening {
  service: string;
  protocol: string;
  endpoint: string;
  server: FrontEndEndpoint<unknown>;
  factory: unknown;
}

/**
 * Start every front-end of `config` on `reactor`. The config is checked against the registry and
 * every service built before the first port opens (ConfigError); if a port then fails to open
 * (CannotListenError), the ones already open are closed again and the error is rethrown.
 */
export async function startSuite(
  reactor: SuiteReactor,
  config: SuiteConfig,
  options: StartSuiteOptions = {},
): Promise<RunningSuite> {
  const logger = options.logger ?? silentLogger;
  const clock = options.clock ?? reactor;
  const baseDir = options.baseDir ?? process.cwd();
  const registry =
    options.registry ??
    (await registryWithModules(BUILTIN_REGISTRY, config.modules ?? [], baseDir));
  const plan = checkSuiteConfig(config, registry);
  const host = options.host ?? plan.host ?? "127.0.0.1";
  const offset = options.portOffset ?? plan.portOffset ?? 0;

  const state = options.stateDir === undefined ? null : await StateDirectory.open(options.stateDir);
  const services = new Map<string, unknown>();
  const openings: Opening[] = [];
  try {
    for (const s of plan.services) {
      const where = `config.services.${s.name}`;
      const service = await atPath(where, () =>
        s.definition.create(s.settings, { baseDir, clock, logger, state }),
      );
      services.set(s.name, service);
      const perProtocol = new Map<string, number>();
      for (const entry of s.listen) {
        const at = `${where}.listen[${entry.index}]`;
        const protocolIndex = perProtocol.get(entry.protocol) ?? 0;
        perProtocol.set(entry.protocol, protocolIndex + 1);
        const endpoint = await atPath(`${at}.endpoint`, () =>
          resolveServerEndpoint(entry.endpoint, host, offset),
        );
        const { frontEnd } = entry;
        const server = await atPath(`${at}.endpoint`, () =>
          frontEnd.endpoint !== undefined
            ? frontEnd.endpoint(reactor, endpoint)
            : serverFromString(reactor, endpoint),
        );
        const factory = await atPath(at, () => {
          const built = frontEnd.build({
            service,
            settings: s.settings,
            options: entry.options,
            serviceName: s.name,
            protocol: entry.protocol,
            index: entry.index,
            protocolIndex,
            endpoint,
            logger,
            clock,
          });
          if (frontEnd.endpoint === undefined && !isFactory(built))
            throw new ConfigError(
              `${at}: the ${entry.protocol} front-end's build did not return a Factory`,
            );
          return built;
        });
        openings.push({ service: s.name, protocol: entry.protocol, endpoint, server, factory });
      }
    }
  } catch (err) {
    await stopServices(plan.services, services, logger);
    await state?.close();
    throw err;
  }

  const started: RunningFrontEnd[] = [];
  try {
    for (const { server, ...o } of openings) {
      const port = await server.listen(o.factory);
      started.push({ ...o, address: port.getHost(), port });
      logger.info(
        { service: o.service, protocol: o.protocol, address: formatAddress(port.getHost()) },
        "listening",
      );
    }
  } catch (err) {
    await Promise.all(started.map((s) => s.port.stopListening({ closeConnections: true })));
    await stopServices(plan.services, services, logger);
    await state?.close();
    throw err instanceof WeftError
      ? err
      : new WeftError("ERR_CANNOT_LISTEN", String(err), { cause: err });
  }

  let stopping: Promise<void> | null = null;
  return {
    frontEnds: started,
    services,
    stop(stopOptions = {}) {
      stopping ??= (async () => {
        await Promise.all(started.map((s) => s.port.stopListening()));
        const closed = Promise.all(started.map((s) => s.port.closeConnections()));
        let timer: DelayedCall | null = null;
        const graceOver = new Promise<"late">((resolveLate) => {
          timer = clock.callLater(stopOptions.graceSeconds ?? 5, () => resolveLate("late"));
        });
        const outcome = await Promise.race([closed.then(() => "closed" as const), graceOver]);
        const pending = timer as DelayedCall | null;
        if (pending?.active()) pending.cancel();
        if (outcome === "late") {
          logger.warn({}, "connections still open after the grace period: aborting them");
          await Promise.all(started.map((s) => s.port.closeConnections({ abort: true })));
        }
        await stopServices(plan.services, services, logger);
        await state?.close();
      })();
      return stopping;
    },
  };
}
