/**
 * A whole suite of services served at once from a configuration (what `weft serve` runs): which
 * services, and for each, which front-end protocols on which endpoints. Serving a service over
 * another protocol or port is configuration, not code.
 *
 * The configuration (JSON for `weft serve --config FILE`):
 *
 * ```json
 * {
 *   "host": "127.0.0.1",
 *   "portOffset": 0,
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
 * Every key is optional except `listen`; a service left out is not served. Unknown keys are errors
 * (typos are caught). Endpoints are server endpoint strings (`tcp:PORT[:interface=ADDR]`, `unix:PATH`,
 * `tls:…`); a TCP/TLS endpoint without `interface=` binds `host`, and `portOffset` is added to every
 * non-zero TCP/TLS port.
 */
import { resolve } from "node:path";
import {
  type EndpointReactor,
  parseDescription,
  type ServerEndpoint,
  serverFromString,
} from "../core/endpoints.js";
import { WeftError } from "../core/errors.js";
import type { Factory } from "../core/factory.js";
import type { Address, DelayedCall, ReactorTime } from "../core/interfaces.js";
import type { ListeningPort } from "../core/reactor.js";
import { CalculatorAMPFactory } from "./calculator/amp.js";
import { CalculatorLineFactory } from "./calculator/line.js";
import { CalculatorService } from "./calculator/service.js";
import { ConfigError } from "./errors.js";
import { type ServiceLogger, silentLogger } from "./log.js";
import { PoetryAMPFactory } from "./poetry/amp.js";
import { FastPoetryFactory } from "./poetry/fast.js";
import { PoetryNetstringFactory } from "./poetry/netstring.js";
import { PoetryService } from "./poetry/service.js";
import { SlowPoetryFactory } from "./poetry/slow.js";
import { TransformAMPFactory } from "./transform/amp.js";
import { TransformLineFactory } from "./transform/line.js";
import { TransformNetstringFactory } from "./transform/netstring.js";
import { TransformService } from "./transform/service.js";

/** The services a suite knows. */
export type ServiceName = "poetry" | "transform" | "calculator";

/** One front-end to start: a protocol of the service on an endpoint. */
export interface ListenConfig {
  /** Front-end protocol, e.g. `"netstring"`, `"line"`, `"amp"`, `"fast"`, `"slow"`. */
  protocol: string;
  /** Server endpoint string, e.g. `"tcp:10001"`. */
  endpoint: string;
  /** Calculator only: the id this port answers with. Default: its position in `listen`, from 1. */
  serverId?: number;
}

/** Poetry service settings. */
export interface PoetryConfig {
  /** Folder of `NAME.txt` poems (relative to the config file). Default: the bundled poems. */
  poems?: string;
  /** The poem the fast and slow front-ends serve. Default: the first name in sorted order. */
  poem?: string;
  /** Slow front-end pacing. */
  slow?: { bytesPerTick?: number; interval?: number };
  listen: ListenConfig[];
}

/** Transform service settings. */
export interface TransformConfig {
  listen: ListenConfig[];
}

/** Calculator settings. */
export interface CalculatorConfig {
  /** Simulated work per calculation, seconds. Default 0. */
  delay?: number;
  listen: ListenConfig[];
}

/** A suite configuration. */
export interface SuiteConfig {
  /** Interface for endpoints without `interface=`. Default `"127.0.0.1"` (see the CLI's `--host`). */
  host?: string;
  /** Added to every non-zero TCP/TLS port. Default 0. */
  portOffset?: number;
  services: {
    poetry?: PoetryConfig;
    transform?: TransformConfig;
    calculator?: CalculatorConfig;
  };
}

/** The built service objects a front-end is made from. */
export interface SuiteServices {
  poetry?: PoetryService;
  transform?: TransformService;
  calculator?: CalculatorService;
}

/** What a front-end builder gets. */
export interface FrontEndContext {
  readonly services: SuiteServices;
  readonly config: SuiteConfig;
  readonly logger: ServiceLogger;
  readonly clock: ReactorTime;
  /** The `listen` entry and its position in its service's list. */
  readonly entry: ListenConfig;
  readonly index: number;
}

/** A kind of front-end: how to build its factory. */
export interface FrontEndKind {
  readonly service: ServiceName;
  readonly protocol: string;
  /** Port used by the default configuration. */
  readonly defaultPort: number;
  /** One line for `weft serve --help` and the docs. */
  readonly description: string;
  build(ctx: FrontEndContext): Factory;
}

function need<K extends keyof SuiteServices>(
  ctx: FrontEndContext,
  name: K,
): NonNullable<SuiteServices[K]> {
  const s = ctx.services[name];
  if (s === undefined) throw new ConfigError(`Service ${name} is not configured.`);
  return s as NonNullable<SuiteServices[K]>;
}

/** The registry of front-end kinds, keyed `service:protocol`. Add your own with {@link registerFrontEnd}. */
export const FRONT_ENDS = new Map<string, FrontEndKind>();

/** Register (or replace) a front-end kind. */
export function registerFrontEnd(kind: FrontEndKind): void {
  FRONT_ENDS.set(`${kind.service}:${kind.protocol}`, kind);
}

for (const kind of [
  {
    service: "poetry",
    protocol: "fast",
    defaultPort: 10000,
    description: "writes the default poem and closes",
    build: (ctx) => {
      const poem = ctx.config.services.poetry?.poem;
      return new FastPoetryFactory(need(ctx, "poetry"), {
        logger: ctx.logger,
        ...(poem !== undefined ? { poem } : {}),
      });
    },
  },
  {
    service: "poetry",
    protocol: "slow",
    defaultPort: 10010,
    description: "writes the default poem a few bytes at a time, then closes",
    build: (ctx) => {
      const c = ctx.config.services.poetry;
      return new SlowPoetryFactory(need(ctx, "poetry"), {
        logger: ctx.logger,
        clock: ctx.clock,
        ...(c?.poem !== undefined ? { poem: c.poem } : {}),
        ...(c?.slow?.bytesPerTick !== undefined ? { bytesPerTick: c.slow.bytesPerTick } : {}),
        ...(c?.slow?.interval !== undefined ? { interval: c.slow.interval } : {}),
      });
    },
  },
  {
    service: "poetry",
    protocol: "netstring",
    defaultPort: 10011,
    description: "poem by name: one netstring in, one netstring out",
    build: (ctx) => new PoetryNetstringFactory(need(ctx, "poetry"), { logger: ctx.logger }),
  },
  {
    service: "poetry",
    protocol: "amp",
    defaultPort: 10012,
    description: "AMP GetPoem(name) → poem",
    build: (ctx) => new PoetryAMPFactory(need(ctx, "poetry"), { logger: ctx.logger }),
  },
  {
    service: "transform",
    protocol: "netstring",
    defaultPort: 10001,
    description: "the tutorial's protocol: netstring NAME.TEXT → netstring result, close",
    build: (ctx) => new TransformNetstringFactory(need(ctx, "transform"), { logger: ctx.logger }),
  },
  {
    service: "transform",
    protocol: "line",
    defaultPort: 10002,
    description: "persistent lines: NAME SP TEXT → OK SP RESULT | ERROR SP CODE SP MESSAGE",
    build: (ctx) => new TransformLineFactory(need(ctx, "transform"), { logger: ctx.logger }),
  },
  {
    service: "transform",
    protocol: "amp",
    defaultPort: 10003,
    description: "AMP Transform(name, text) → text",
    build: (ctx) => new TransformAMPFactory(need(ctx, "transform"), { logger: ctx.logger }),
  },
  {
    service: "calculator",
    protocol: "amp",
    defaultPort: 8992,
    description:
      "AMP Calculate(a, b) → result, server (default config: 8992-8994, one server id each)",
    build: (ctx) =>
      new CalculatorAMPFactory(need(ctx, "calculator"), {
        logger: ctx.logger,
        serverId: ctx.entry.serverId ?? ctx.index + 1,
      }),
  },
  {
    service: "calculator",
    protocol: "line",
    defaultPort: 8995,
    description: "lines: A SP B → OK SP SUM SP SERVER (server id 4 in the default config)",
    build: (ctx) =>
      new CalculatorLineFactory(need(ctx, "calculator"), {
        logger: ctx.logger,
        serverId: ctx.entry.serverId ?? ctx.index + 1,
      }),
  },
] satisfies FrontEndKind[]) {
  registerFrontEnd(kind);
}

/** The configuration `weft serve` uses without `--config`: every service on its default ports. */
export function defaultSuiteConfig(): SuiteConfig {
  return {
    services: {
      poetry: {
        listen: [
          { protocol: "fast", endpoint: "tcp:10000" },
          { protocol: "slow", endpoint: "tcp:10010" },
          { protocol: "netstring", endpoint: "tcp:10011" },
          { protocol: "amp", endpoint: "tcp:10012" },
        ],
      },
      transform: {
        listen: [
          { protocol: "netstring", endpoint: "tcp:10001" },
          { protocol: "line", endpoint: "tcp:10002" },
          { protocol: "amp", endpoint: "tcp:10003" },
        ],
      },
      calculator: {
        listen: [
          { protocol: "amp", endpoint: "tcp:8992" },
          { protocol: "amp", endpoint: "tcp:8993" },
          { protocol: "amp", endpoint: "tcp:8994" },
          { protocol: "line", endpoint: "tcp:8995" },
        ],
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Validation

type Json = unknown;

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function onlyKeys(v: Record<string, Json>, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(v)) {
    if (!allowed.includes(k)) {
      throw new ConfigError(
        `${where}: unknown key ${JSON.stringify(k)} (allowed: ${allowed.join(", ")})`,
      );
    }
  }
}

function optNumber(
  v: Json,
  where: string,
  check: (n: number) => boolean,
  what: string,
): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v) || !check(v))
    throw new ConfigError(`${where}: must be ${what}`);
  return v;
}

function optString(v: Json, where: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string" || v.length === 0)
    throw new ConfigError(`${where}: must be a non-empty string`);
  return v;
}

const SERVICE_KEYS: Record<ServiceName, readonly string[]> = {
  poetry: ["poems", "poem", "slow", "listen"],
  transform: ["listen"],
  calculator: ["delay", "listen"],
};

function validateListen(service: ServiceName, v: Json, where: string): ListenConfig[] {
  if (!Array.isArray(v) || v.length === 0)
    throw new ConfigError(`${where}: must be a non-empty array of { protocol, endpoint }`);
  return v.map((e: Json, i) => {
    const at = `${where}[${i}]`;
    if (!isObject(e)) throw new ConfigError(`${at}: must be an object { protocol, endpoint }`);
    onlyKeys(e, ["protocol", "endpoint", "serverId"], at);
    const protocol = optString(e["protocol"], `${at}.protocol`);
    const endpoint = optString(e["endpoint"], `${at}.endpoint`);
    if (protocol === undefined) throw new ConfigError(`${at}.protocol: missing`);
    if (endpoint === undefined) throw new ConfigError(`${at}.endpoint: missing`);
    if (!FRONT_ENDS.has(`${service}:${protocol}`)) {
      const known = [...FRONT_ENDS.values()]
        .filter((k) => k.service === service)
        .map((k) => k.protocol);
      throw new ConfigError(
        `${at}.protocol: ${service} has no ${JSON.stringify(protocol)} front-end (known: ${known.join(", ")})`,
      );
    }
    const serverId = optNumber(e["serverId"], `${at}.serverId`, Number.isSafeInteger, "an integer");
    if (serverId !== undefined && service !== "calculator")
      throw new ConfigError(`${at}.serverId: only for the calculator`);
    return { protocol, endpoint, ...(serverId !== undefined ? { serverId } : {}) };
  });
}

/**
 * Check a parsed JSON value against the configuration schema. Throws ConfigError saying where and
 * what is wrong; returns the typed configuration.
 */
export function validateSuiteConfig(value: unknown): SuiteConfig {
  if (!isObject(value)) throw new ConfigError("config: must be a JSON object");
  onlyKeys(value, ["host", "portOffset", "services"], "config");
  const host = optString(value["host"], "config.host");
  const portOffset = optNumber(
    value["portOffset"],
    "config.portOffset",
    (n) => Number.isInteger(n) && n >= 0 && n < 65536,
    "an integer 0..65535",
  );
  const services = value["services"];
  if (!isObject(services))
    throw new ConfigError("config.services: must be an object naming at least one service");
  onlyKeys(services, Object.keys(SERVICE_KEYS), "config.services");
  if (Object.keys(services).length === 0)
    throw new ConfigError("config.services: names no service");
  const out: SuiteConfig = { services: {} };
  if (host !== undefined) out.host = host;
  if (portOffset !== undefined) out.portOffset = portOffset;
  for (const name of Object.keys(services) as ServiceName[]) {
    const where = `config.services.${name}`;
    const s = services[name];
    if (!isObject(s)) throw new ConfigError(`${where}: must be an object`);
    onlyKeys(s, SERVICE_KEYS[name], where);
    const listen = validateListen(name, s["listen"], `${where}.listen`);
    if (name === "poetry") {
      const poems = optString(s["poems"], `${where}.poems`);
      const poem = optString(s["poem"], `${where}.poem`);
      const slowV = s["slow"];
      let slow: PoetryConfig["slow"];
      if (slowV !== undefined) {
        if (!isObject(slowV)) throw new ConfigError(`${where}.slow: must be an object`);
        onlyKeys(slowV, ["bytesPerTick", "interval"], `${where}.slow`);
        const bytesPerTick = optNumber(
          slowV["bytesPerTick"],
          `${where}.slow.bytesPerTick`,
          (n) => Number.isInteger(n) && n >= 1,
          "an integer >= 1",
        );
        const interval = optNumber(
          slowV["interval"],
          `${where}.slow.interval`,
          (n) => n >= 0,
          "a number of seconds >= 0",
        );
        slow = {
          ...(bytesPerTick !== undefined ? { bytesPerTick } : {}),
          ...(interval !== undefined ? { interval } : {}),
        };
      }
      out.services.poetry = {
        listen,
        ...(poems !== undefined ? { poems } : {}),
        ...(poem !== undefined ? { poem } : {}),
        ...(slow !== undefined ? { slow } : {}),
      };
    } else if (name === "transform") {
      out.services.transform = { listen };
    } else {
      const delay = optNumber(
        s["delay"],
        `${where}.delay`,
        (n) => n >= 0,
        "a number of seconds >= 0",
      );
      out.services.calculator = { listen, ...(delay !== undefined ? { delay } : {}) };
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Endpoints: host and port offset

function escapeValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/:/g, "\\:");
}

/**
 * The endpoint string actually listened on: for `tcp:`/`tls:`/`ssl:` descriptions, `portOffset` added
 * to a non-zero port and `interface=host` added when none is given. Other types are returned as is.
 * Throws ConfigError for a TCP/TLS description without a valid port.
 */
export function resolveServerEndpoint(
  description: string,
  host: string,
  portOffset: number,
): string {
  const parsed = parseDescription(description);
  const type = (parsed.args[0] ?? "").toLowerCase();
  if (type !== "tcp" && type !== "tls" && type !== "ssl") return description;
  const positional = parsed.args.slice(1);
  const portText = parsed.kwargs.get("port") ?? positional[0];
  const port = portText === undefined ? Number.NaN : Number(portText);
  if (!/^\d+$/.test(portText ?? "") || port > 65535) {
    throw new ConfigError(
      `Endpoint ${JSON.stringify(description)}: the port must be an integer 0..65535`,
    );
  }
  const finalPort = port === 0 ? 0 : port + portOffset;
  if (finalPort > 65535)
    throw new ConfigError(
      `Endpoint ${JSON.stringify(description)}: port ${port} + offset ${portOffset} > 65535`,
    );
  const kw = new Map(parsed.kwargs);
  kw.delete("port");
  if (positional[1] !== undefined && !kw.has("interface")) kw.set("interface", positional[1]);
  if (positional[2] !== undefined && !kw.has("backlog")) kw.set("backlog", positional[2]);
  if (!kw.has("interface")) kw.set("interface", host);
  let out = `${type}:${finalPort}`;
  for (const [k, v] of kw) out += `:${k}=${escapeValue(v)}`;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Running

/** One started front-end. */
export interface RunningFrontEnd {
  readonly service: ServiceName;
  readonly protocol: string;
  /** The endpoint string listened on (after host/offset). */
  readonly endpoint: string;
  /** The bound address (actual port for port 0). */
  readonly address: Address;
  readonly port: ListeningPort;
  readonly factory: Factory;
}

/** Options of {@link startSuite}. */
export interface StartSuiteOptions {
  /** Default interface (overrides the config's `host`). Default: config `host`, else `127.0.0.1`. */
  host?: string;
  /** Port offset (overrides the config's). Default: config `portOffset`, else 0. */
  portOffset?: number;
  /** Logs. Default silent. */
  logger?: ServiceLogger;
  /** Resolves relative `poems` folders. Default `process.cwd()`. */
  baseDir?: string;
  /** Clock for the slow poetry server and the calculator delay. Default: the reactor. */
  clock?: ReactorTime;
}

/** A running suite. */
export interface RunningSuite {
  readonly frontEnds: readonly RunningFrontEnd[];
  readonly services: SuiteServices;
  /**
   * Graceful stop: stop listening everywhere (factories' `stopFactory` run), close every open
   * connection (pending writes flushed), then resolve. Connections still open after `graceSeconds`
   * (default 5; a peer that never closes its side) are aborted.
   */
  stop(options?: { graceSeconds?: number }): Promise<void>;
}

/** Build the service objects a configuration needs (reads the poem folder). Throws ConfigError. */
export async function buildServices(
  config: SuiteConfig,
  options: { baseDir?: string; clock: ReactorTime },
): Promise<SuiteServices> {
  const out: SuiteServices = {};
  const p = config.services.poetry;
  if (p !== undefined) {
    const opts = p.poem !== undefined ? { defaultPoem: p.poem } : {};
    try {
      out.poetry =
        p.poems !== undefined
          ? await PoetryService.fromDirectory(
              resolve(options.baseDir ?? process.cwd(), p.poems),
              opts,
            )
          : await PoetryService.bundled(opts);
    } catch (err) {
      throw new ConfigError(`config.services.poetry: ${(err as Error).message}`, { cause: err });
    }
  }
  if (config.services.transform !== undefined) out.transform = new TransformService();
  const c = config.services.calculator;
  if (c !== undefined) {
    try {
      out.calculator = new CalculatorService({ delay: c.delay ?? 0, clock: options.clock });
    } catch (err) {
      throw new ConfigError(`config.services.calculator: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
  return out;
}

/**
 * Start every front-end of `config` on `reactor`. Everything is validated and built before the
 * first port opens (ConfigError); if a port then fails to open (CannotListenError), the ones already
 * open are closed again and the error is rethrown.
 */
export async function startSuite(
  reactor: EndpointReactor & ReactorTime,
  config: SuiteConfig,
  options: StartSuiteOptions = {},
): Promise<RunningSuite> {
  const logger = options.logger ?? silentLogger;
  const host = options.host ?? config.host ?? "127.0.0.1";
  const offset = options.portOffset ?? config.portOffset ?? 0;
  const clock = options.clock ?? reactor;
  const services = await buildServices(config, {
    clock,
    ...(options.baseDir !== undefined ? { baseDir: options.baseDir } : {}),
  });

  const planned: Array<{
    service: ServiceName;
    protocol: string;
    endpoint: string;
    server: ServerEndpoint;
    factory: Factory;
  }> = [];
  for (const service of ["poetry", "transform", "calculator"] as const) {
    const sc = config.services[service];
    if (sc === undefined) continue;
    sc.listen.forEach((entry, index) => {
      const kind = FRONT_ENDS.get(`${service}:${entry.protocol}`);
      if (kind === undefined)
        throw new ConfigError(
          `config.services.${service}.listen[${index}]: unknown protocol ${entry.protocol}`,
        );
      const endpoint = resolveServerEndpoint(entry.endpoint, host, offset);
      let server: ServerEndpoint;
      try {
        server = serverFromString(reactor, endpoint); // validated before anything listens
      } catch (err) {
        throw new ConfigError(
          `config.services.${service}.listen[${index}].endpoint: ${(err as Error).message}`,
          { cause: err },
        );
      }
      let factory: Factory;
      try {
        factory = kind.build({ services, config, logger, clock, entry, index });
      } catch (err) {
        if (err instanceof ConfigError) throw err;
        throw new ConfigError(
          `config.services.${service}.listen[${index}]: ${(err as Error).message}`,
          { cause: err },
        );
      }
      planned.push({ service, protocol: entry.protocol, endpoint, server, factory });
    });
  }

  const started: RunningFrontEnd[] = [];
  try {
    for (const { server, ...p } of planned) {
      const port = await server.listen(p.factory);
      started.push({ ...p, address: port.getHost(), port });
      logger.info(
        { service: p.service, protocol: p.protocol, address: formatAddress(port.getHost()) },
        "listening",
      );
    }
  } catch (err) {
    await Promise.all(started.map((s) => s.port.stopListening({ closeConnections: true })));
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
      })();
      return stopping;
    },
  };
}

/** `host:port` (IPv6 in brackets) or the socket path. */
export function formatAddress(a: Address): string {
  if (a.type === "UNIX") return a.path ?? "";
  return a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
