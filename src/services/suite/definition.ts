/**
 * What a service and a front-end are to the suite, and the contract of a **weft module**: the file a
 * configuration names in `"modules"` to serve its own services, or to serve existing services over
 * its own protocols, without touching weft.
 *
 * ## The module contract
 *
 * A module is an ES module (`.mjs`, or `.js` in a `"type": "module"` package) whose **default export**
 * is a {@link WeftModule}: `{ services?: ServiceDefinition[], frontEnds?: FrontEndExtension[] }`.
 * `weft serve --config FILE` imports each path of the config's `"modules"` array, resolved relative
 * to FILE's folder, in order, before it checks the `"services"` section; a service or front-end a
 * module defines can then be named there like a built-in one.
 *
 * ```js
 * // my-protocols.mjs, next to suite.json
 * import { defineWeftModule } from "weft/services";
 * import { LineOnlyReceiver, ServerFactory } from "weft";
 *
 * class Greeter { greet(name) { return `hello, ${name}`; } }
 * class GreetLine extends LineOnlyReceiver {
 *   lineReceived(line) { this.sendLine(this.factory.greeter.greet(line.toString())); }
 * }
 *
 * export default defineWeftModule({
 *   services: [{
 *     name: "greeter",                               // the key under "services"
 *     create: () => new Greeter(),                   // once per suite, before any port opens
 *     frontEnds: {
 *       line: {
 *         description: "NAME → hello, NAME",
 *         defaultEndpoints: ["tcp:7001"],            // used by defaultSuiteConfig(registry)
 *         build: ({ service }) => Object.assign(ServerFactory.forProtocol(GreetLine), { greeter: service }),
 *       },
 *     },
 *   }],
 *   frontEnds: [{                                     // a new protocol for a service defined elsewhere
 *     service: "transform", protocol: "shout",
 *     description: "LINE → UPPERCASE LINE",
 *     build: ({ service }) => makeShoutFactory(service),
 *   }],
 * });
 * ```
 *
 * ```json
 * { "modules": ["./my-protocols.mjs"],
 *   "services": { "greeter": { "listen": [{ "protocol": "line", "endpoint": "tcp:7001" }] },
 *                 "transform": { "listen": [{ "protocol": "shout", "endpoint": "tcp:7002" }] } } }
 * ```
 *
 * Rules the suite enforces (a break is a ConfigError naming `config.modules[i]…`, exit 2):
 * - the default export is an object with only `services` and `frontEnds`; every definition has only
 *   the keys below (typos such as `defaultEndpoint` are caught), and names match `[A-Za-z][\w-]*`;
 * - a module may not redefine a service or a `service`+`protocol` front-end that exists already
 *   (built-in or from an earlier module); a front-end extension names a service defined by weft, by
 *   an earlier module or by the same module;
 * - `settings` (a service's keys besides `listen`) and `options` (a `listen` entry's keys besides
 *   `protocol` and `endpoint`) are Standard Schemas — valibot, zod (3.24+), ArkType… — that
 *   validate synchronously; without one, no such keys are accepted. Their issues are reported
 *   under the JSON path of the value (`config.services.greeter.listen[0].serverId: …`);
 * - `create` may be async and may throw (a ConfigError for the service, before anything listens);
 *   `build` is called once per `listen` entry and returns the weft `Factory` for that port, or
 *   throws (a ConfigError for that entry); `stop`, if given, runs on shutdown after every port of
 *   the suite closed its connections (save state there).
 *
 * A module runs with the full rights of the process: load only files you trust, as with any code.
 * Import weft's classes from the same `weft` package the command runs from.
 */
import type { EndpointReactor } from "../../core/endpoints.js";
import type { Factory } from "../../core/factory.js";
import type { ReactorTime } from "../../core/interfaces.js";
import type { ListeningPort } from "../../core/reactor.js";
import type { UDPReactor } from "../../core/udp-endpoint.js";
import type { ServiceLogger } from "../log.js";
import type { StateDirectory } from "../state/directory.js";
import type { FrontEndLimits, SUITE_IDLE_TIMEOUT } from "./limits.js";
import type { StandardSchemaV1 } from "./standard-schema.js";

/** The reactor a suite runs on: endpoints to listen on and time for the services. */
export type SuiteReactor = EndpointReactor & UDPReactor & ReactorTime;

/** What {@link ServiceDefinition.create} gets besides the settings. */
export interface ServiceContext {
  /** The folder relative paths in settings are resolved against (the config file's folder for `weft serve`). */
  readonly baseDir: string;
  /** The reactor's clock, or a manual Clock in tests. */
  readonly clock: ReactorTime;
  /** Where the service logs (the suite's logger). */
  readonly logger: ServiceLogger;
  /**
   * The suite's locked state directory (`StartSuiteOptions.stateDir`, `weft serve --state-dir`):
   * load the service's state in `create` (`state.file(name, spec).load()`), save it in `stop` (which
   * runs after every connection closed). `null` when the suite runs without one: state lives in
   * memory only.
   */
  readonly state: StateDirectory | null;
}

/** What {@link FrontEndDefinition.build} gets: the built service and where it is served. */
export interface FrontEndContext<S = unknown, C = unknown, O = unknown> {
  /** The service object {@link ServiceDefinition.create} built (one per suite, shared by its front-ends). */
  readonly service: S;
  /** Its validated settings. */
  readonly settings: C;
  /** The validated options of this `listen` entry (its keys besides `protocol` and `endpoint`). */
  readonly options: O;
  /** The service's name. */
  readonly serviceName: string;
  /** This front-end's protocol name (the `listen` entry's `protocol`). */
  readonly protocol: string;
  /** Position of this entry in the service's `listen` array, from 0. */
  readonly index: number;
  /** Position of this entry among the service's `listen` entries of the same protocol, from 0. */
  readonly protocolIndex: number;
  /** The endpoint string listened on (host and port offset applied). */
  readonly endpoint: string;
  /** Where the front-end logs (the suite's logger). */
  readonly logger: ServiceLogger;
  /** The reactor's clock, or a manual Clock in tests. */
  readonly clock: ReactorTime;
}

/** The part of a server endpoint the suite uses: listen with what `build` returned. */
export interface FrontEndEndpoint<P = Factory> {
  /** Starts listening with what `build` returned; rejects with CannotListenError. */
  listen(built: P): Promise<ListeningPort>;
}

/** One wire protocol of a service: how to build the factory for one port, and its default ports. */
export interface FrontEndDefinition<S = unknown, C = unknown, O = unknown, P = unknown> {
  /** One line for `weft serve --help` and the docs. */
  readonly description: string;
  /**
   * Where the default configuration serves it, in order (`["tcp:8992", "tcp:8993"]` is two ports);
   * absent or empty: not part of the default configuration. The one place default ports are written.
   */
  readonly defaultEndpoints?: readonly string[];
  /** Validates a `listen` entry's keys besides `protocol`/`endpoint`/`limits`. None accepted without it. */
  readonly options?: StandardSchemaV1<unknown, O>;
  /**
   * This front-end's own defaults for its connection limits (see `limits.ts`), under the config's
   * `limits.frontEnds` and `listen[i].limits`. A suite front-end gets an idle timeout of
   * {@link SUITE_IDLE_TIMEOUT} seconds unless it sets one: push front-ends (subscribers that only
   * listen) and front-ends whose peers hold references between calls (PB) set
   * `{ idleTimeout: null }`.
   */
  readonly limits?: FrontEndLimits;
  /** The factory (or, with a custom `endpoint`, whatever that endpoint listens with) for one port. */
  build(context: FrontEndContext<S, C, O>): P;
  /**
   * Parse (and check) the endpoint string; throw to reject it. Default: the stream server
   * endpoints of `serverFromString` (`tcp:`, `unix:`, `tls:`), listening with a Factory. A
   * front-end on another kind of endpoint (a datagram port, say) supplies its own.
   */
  endpoint?(reactor: SuiteReactor, description: string): FrontEndEndpoint<P>;
}

/** A service: its settings schema, how to build it, and its front-ends by protocol name. */
export interface ServiceDefinition<S = unknown, C = unknown> {
  /** The key under `"services"` in a configuration. */
  readonly name: string;
  /** One line for `weft serve --help` and the docs. */
  readonly description?: string;
  /** Validates the service's keys besides `listen`. None accepted without it. */
  readonly settings?: StandardSchemaV1<unknown, C>;
  /** Build the service object (once per suite, before any port opens). */
  create(settings: C, context: ServiceContext): S | Promise<S>;
  /**
   * Its front-ends: protocol name → definition. A definition without an `endpoint` hook must
   * build a `Factory` (checked when the suite starts); one with a hook builds whatever its
   * endpoint listens with (a datagram protocol, say).
   */
  readonly frontEnds: { readonly [protocol: string]: FrontEndDefinition<S, C> };
  /** Called on shutdown once every port of the suite has closed its connections. */
  stop?(service: S): void | Promise<void>;
}

/** A front-end for a service defined elsewhere (built into weft, or by another module). */
export interface FrontEndExtension<S = unknown> extends FrontEndDefinition<S> {
  /** The service it serves. */
  readonly service: string;
  /** Its protocol name (new for that service). */
  readonly protocol: string;
}

/** What a weft module exports by default (see the module contract above). */
export interface WeftModule {
  /** Services the module adds to the registry. */
  readonly services?: readonly ServiceDefinition[];
  /** Front-ends the module adds to existing services. */
  readonly frontEnds?: readonly FrontEndExtension[];
}

/** Type a module's default export (the identity at run time). */
export function defineWeftModule(module: WeftModule): WeftModule {
  return module;
}

/** Type a service definition: `S` and `C` are inferred from `create` and `settings`. */
export function defineService<S, C = Record<string, never>>(
  definition: ServiceDefinition<S, C>,
): ServiceDefinition<S, C> {
  return definition;
}

/** Type a front-end for an existing service; name the service's type: `defineFrontEnd<TransformService>({…})`. */
export function defineFrontEnd<S = unknown>(extension: FrontEndExtension<S>): FrontEndExtension<S> {
  return extension;
}
