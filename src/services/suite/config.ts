/**
 * A suite configuration — what `weft serve --config FILE` reads — its types, and its check against a
 * {@link ServiceRegistry}:
 *
 * ```json
 * {
 *   "host": "127.0.0.1",
 *   "portOffset": 0,
 *   "modules": ["./my-protocols.mjs"],
 *   "services": {
 *     "poetry": {
 *       "poems": "./poems", "poem": "keats-bright-star",
 *       "slow": { "bytesPerTick": 10, "interval": 0.1 },
 *       "listen": [{ "protocol": "fast", "endpoint": "tcp:10000" }, { "protocol": "slow", "endpoint": "tcp:10010" }]
 *     },
 *     "transform": { "listen": [{ "protocol": "line", "endpoint": "tcp:10002" }] },
 *     "calculator": { "delay": 0, "listen": [{ "protocol": "amp", "endpoint": "tcp:8992", "serverId": 1 }] }
 *   }
 * }
 * ```
 *
 * Every key is optional except `services` and each service's `listen`; a service left out is not
 * served. Unknown keys are errors (typos are caught). `modules` are paths of weft modules (see
 * `definition.ts`), resolved relative to the config file, that add services and front-ends. A
 * service's other keys are its settings, checked by its definition's schema; a `listen` entry's
 * keys besides `protocol`, `endpoint` and `limits` are options of that front-end (the calculator's
 * `serverId`). `limits` (suite-wide, and per `listen` entry) are the connection limits described in
 * `limits.ts`. Endpoints are server endpoint strings (`tcp:PORT[:interface=ADDR]`, `unix:PATH`,
 * `tls:…`); a TCP/TLS endpoint without `interface=` binds `host`, and `portOffset` is added to
 * every non-zero TCP/TLS port.
 *
 * Every problem is reported with its JSON path: `config.services.poetry.listen[1].endpoint: missing`.
 */
import * as v from "valibot";
import type { ConfigIssue } from "../errors.js";
import { BUILTIN_REGISTRY, type CalculatorSettings, type PoetrySettings } from "./builtins.js";
import type { FrontEndDefinition, ServiceDefinition } from "./definition.js";
import { integer, looseObject, nonEmptyString, strictObject } from "./fields.js";
import {
  type FrontEndLimits,
  frontEndLimitsShape,
  type SuiteLimits,
  suiteLimitsShape,
} from "./limits.js";
import type { ServiceRegistry } from "./registry.js";
import { checkWith, pathJoin, type StandardSchemaV1, throwIssues } from "./standard-schema.js";

/** One front-end to start: a protocol of the service on an endpoint, plus that front-end's options. */
export interface ListenConfig {
  /** Front-end protocol, e.g. `"netstring"`, `"line"`, `"amp"`, `"fast"`, `"slow"`. */
  protocol: string;
  /** Server endpoint string, e.g. `"tcp:10001"`. */
  endpoint: string;
  /** Calculator only: the id this port answers with. Default: its position in `listen`, from 1. */
  serverId?: number;
  /** This front-end's connection limits (see `limits.ts`). */
  limits?: FrontEndLimits;
  /** Options of other front-ends (checked by the front-end's `options` schema). */
  readonly [option: string]: unknown;
}

/** One service's section: where it listens, and its settings. */
export type ServiceConfig = {
  /** The front-ends to start, at least one. */
  listen: ListenConfig[];
  readonly [setting: string]: unknown;
};

/** The poetry service's section. */
export type PoetryConfig = PoetrySettings & {
  /** The front-ends to start, at least one. */
  listen: ListenConfig[];
};
/** The transform service's section (it has no settings). */
export type TransformConfig = {
  /** The front-ends to start, at least one. */
  listen: ListenConfig[];
};
/** The calculator's section. */
export type CalculatorConfig = CalculatorSettings & {
  /** The front-ends to start, at least one. */
  listen: ListenConfig[];
};

/** A suite configuration. */
export interface SuiteConfig {
  /** Interface for endpoints without `interface=`. Default `"127.0.0.1"` (see the CLI's `--host`). */
  host?: string;
  /** Added to every non-zero TCP/TLS port. Default 0. */
  portOffset?: number;
  /** Weft modules to load first (paths relative to the config file). */
  modules?: string[];
  /** Connection limits: process-wide, and defaults for every front-end (see `limits.ts`). */
  limits?: SuiteLimits;
  /** Service name → its section. */
  services: {
    /** The poetry service (`netstring`, `amp`, `fast`, `slow` front-ends). */
    poetry?: PoetryConfig;
    /** The transform service (`netstring`, `line`, `amp`, `udp` front-ends). */
    transform?: TransformConfig;
    /** The calculator service (`line`, `amp` front-ends). */
    calculator?: CalculatorConfig;
    readonly [service: string]: ServiceConfig;
  };
}

/** One `listen` entry, checked: its front-end, endpoint as written, and validated options. */
export interface PlannedListen {
  /** The front-end's protocol name, as written. */
  readonly protocol: string;
  /** The server endpoint string, as written (host and port offset not yet applied). */
  readonly endpoint: string;
  /** The output of the front-end's `options` schema (`undefined` without one). */
  readonly options: unknown;
  /** The entry's `limits`, checked. */
  readonly limits: FrontEndLimits | undefined;
  /** Position in the service's `listen`. */
  readonly index: number;
  /** The registered front-end that serves it. */
  readonly frontEnd: FrontEndDefinition;
}

/** One service of a checked configuration. */
export interface PlannedService {
  /** The service's name (its key under `services`). */
  readonly name: string;
  /** The registered service definition. */
  readonly definition: ServiceDefinition;
  /** The output of the service's settings schema. */
  readonly settings: unknown;
  /** Its checked `listen` entries, in order. */
  readonly listen: readonly PlannedListen[];
}

/** A configuration checked against a registry: its services in registry order. */
export interface SuitePlan {
  /** The configuration's `host`, if given. */
  readonly host: string | undefined;
  /** The configuration's `portOffset`, if given. */
  readonly portOffset: number | undefined;
  /** The configuration's `limits`, checked. */
  readonly limits: SuiteLimits | undefined;
  /** The configured services, in registry order. */
  readonly services: readonly PlannedService[];
}

const LISTEN = "must be a non-empty array of { protocol, endpoint }";
const SERVICES = "must be an object naming at least one service";

const sectionShape = looseObject({}, { what: "must be an object { listen, … }" });
const listenShape = v.pipe(
  v.array(
    looseObject(
      { protocol: nonEmptyString, endpoint: nonEmptyString },
      { what: "must be an object { protocol, endpoint }" },
    ),
    LISTEN,
  ),
  v.minLength(1, LISTEN),
);
const suiteShape = strictObject(
  {
    host: v.optional(nonEmptyString),
    portOffset: v.optional(integer(0, 65535)),
    modules: v.optional(
      v.array(nonEmptyString, "must be an array of module paths (relative to the config file)"),
    ),
    limits: v.optional(suiteLimitsShape),
    services: v.pipe(
      v.record(v.string(), v.unknown(), SERVICES),
      v.check((s) => Object.keys(s).length > 0, "names no service"),
    ),
  },
  { what: "must be a JSON object", missing: { services: SERVICES } },
);

/** One issue for each key of `value` (nothing is accepted there but `allowed`). */
function unknownKeys(value: object, where: string, allowed: string): ConfigIssue[] {
  return Object.keys(value).map((k) => ({
    path: pathJoin(where, k),
    message: `unknown key ${JSON.stringify(k)} (allowed: ${allowed})`,
  }));
}

/** `value` checked by `schema` (or, without one, allowed no keys at all), issues into `issues`. */
function checkPart(
  schema: StandardSchemaV1 | undefined,
  value: { readonly [key: string]: unknown },
  where: string,
  allowed: string,
  issues: ConfigIssue[],
): unknown {
  if (schema === undefined) {
    issues.push(...unknownKeys(value, where, allowed));
    return value;
  }
  const checked = checkWith(schema, value, where);
  if (checked.ok) return checked.value;
  issues.push(...checked.issues);
  return undefined;
}

/** One service's section: its settings and each `listen` entry against its front-end. */
function checkService(
  definition: ServiceDefinition,
  value: unknown,
  registry: ServiceRegistry,
  issues: ConfigIssue[],
): PlannedService | undefined {
  const where = pathJoin("config.services", definition.name);
  const section = checkWith(sectionShape, value, where);
  if (!section.ok) {
    issues.push(...section.issues);
    return undefined;
  }
  const { listen: listenValue, ...rest } = section.value;
  const settings = checkPart(definition.settings, rest, where, "listen", issues);
  const listen = checkWith(listenShape, listenValue, `${where}.listen`);
  if (!listen.ok) {
    issues.push(
      ...(listenValue === undefined
        ? [{ path: `${where}.listen`, message: LISTEN }]
        : listen.issues),
    );
    return undefined;
  }
  const planned: PlannedListen[] = [];
  for (const [index, entry] of listen.value.entries()) {
    const at = `${where}.listen[${index}]`;
    const frontEnd = registry.frontEnd(definition.name, entry.protocol);
    if (frontEnd === undefined) {
      const known = registry.frontEnds(definition.name).map((f) => f.protocol);
      issues.push({
        path: `${at}.protocol`,
        message: `${definition.name} has no ${JSON.stringify(entry.protocol)} front-end (known: ${known.join(", ")})`,
      });
      continue;
    }
    const { protocol, endpoint, limits: limitsValue, ...optionValues } = entry;
    const options = checkPart(
      frontEnd.options,
      optionValues,
      at,
      "protocol, endpoint, limits",
      issues,
    );
    let limits: FrontEndLimits | undefined;
    if (limitsValue !== undefined) {
      const checked = checkWith(frontEndLimitsShape, limitsValue, `${at}.limits`);
      if (checked.ok) limits = checked.value;
      else issues.push(...checked.issues);
    }
    planned.push({ protocol, endpoint, options, limits, index, frontEnd });
  }
  return { name: definition.name, definition, settings, listen: planned };
}

/**
 * Check `value` against the top-level shape and then each service against `registry`. Returns the
 * plan the runner starts; throws ConfigError listing every problem with its JSON path.
 */
export function checkSuiteConfig(
  value: unknown,
  registry: ServiceRegistry = BUILTIN_REGISTRY,
): SuitePlan {
  const shape = checkWith(suiteShape, value, "config");
  if (!shape.ok) throwIssues(shape.issues);
  const config = shape.value;
  const known = registry.services.map((s) => s.name).join(", ");
  const issues: ConfigIssue[] = [];
  for (const name of Object.keys(config.services)) {
    if (registry.service(name) === undefined)
      issues.push(
        ...unknownKeys({ [name]: true }, "config.services", `${known}; "modules" can add services`),
      );
  }
  const services: PlannedService[] = [];
  for (const definition of registry.services) {
    if (!Object.hasOwn(config.services, definition.name)) continue;
    const planned = checkService(definition, config.services[definition.name], registry, issues);
    if (planned !== undefined) services.push(planned);
  }
  if (issues.length > 0) throwIssues(issues);
  return { host: config.host, portOffset: config.portOffset, limits: config.limits, services };
}

/**
 * Check a parsed JSON value against the configuration schema and `registry` (default: the built-in
 * services; a config with `"modules"` needs the registry they make, see `loadSuiteConfig`). Throws
 * ConfigError saying where and what is wrong; returns the value, typed.
 */
export function validateSuiteConfig(
  value: unknown,
  registry: ServiceRegistry = BUILTIN_REGISTRY,
): SuiteConfig {
  checkSuiteConfig(value, registry);
  return value as SuiteConfig;
}

/**
 * Every service of `registry` on every front-end's default endpoints, in registry order — what
 * `weft serve` serves without `--config` (with the built-in registry).
 */
export function defaultSuiteConfig(registry: ServiceRegistry = BUILTIN_REGISTRY): SuiteConfig {
  const services: { [name: string]: ServiceConfig } = {};
  for (const { service, protocol, definition } of registry.frontEnds()) {
    for (const endpoint of definition.defaultEndpoints ?? []) {
      const section = (services[service] ??= { listen: [] });
      section.listen.push({ protocol, endpoint });
    }
  }
  return { services };
}
