/**
 * `weft serve`: start the suite from a configuration (default: every service on its default ports,
 * bound to 127.0.0.1), print where each front-end listens, and shut down gracefully on SIGINT/SIGTERM.
 */
import type { Command } from "commander";
import { createReactor } from "../core/reactor.js";
import { ConfigError } from "../services/errors.js";
import {
  BUILTIN_REGISTRY,
  defaultSuiteConfig,
  formatAddress,
  loadSuiteConfig,
  type RunningSuite,
  type ServiceRegistry,
  type SuiteConfig,
  startSuite,
} from "../services/suite/index.js";
import {
  type CliIO,
  CommandOutput,
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  intParser,
  isOneOf,
  parseSeconds,
} from "./common.js";
import { createLogger, LOG_LEVELS, type LogLevel } from "./logger.js";

/** Options of `weft serve`. */
export interface ServeOptions {
  config?: string;
  host?: string;
  portOffset?: number;
  /** Seconds connections get to close on shutdown before they are aborted. Default 5. */
  grace?: number;
  logLevel: LogLevel;
}

/** The table printed on start: service, protocol, address. */
export function formatTable(suite: RunningSuite): string {
  const rows = [["SERVICE", "PROTOCOL", "ADDRESS"]];
  for (const f of suite.frontEnds) rows.push([f.service, f.protocol, formatAddress(f.address)]);
  const w0 = Math.max(...rows.map((r) => (r[0] as string).length));
  const w1 = Math.max(...rows.map((r) => (r[1] as string).length));
  return `${rows.map((r) => `${(r[0] as string).padEnd(w0)}  ${(r[1] as string).padEnd(w1)}  ${r[2]}`).join("\n")}\n`;
}

/**
 * Run `weft serve` until a signal stops it. Resolves with the exit code: 0 after a graceful stop,
 * 2 for an invalid configuration, 1 when a port cannot be opened.
 */
export async function serve(
  options: ServeOptions,
  io: CliIO,
  signals: NodeJS.Process = process,
): Promise<number> {
  const out = new CommandOutput("serve", io);
  const logger = createLogger(options.logLevel);
  let config: SuiteConfig = defaultSuiteConfig();
  let registry: ServiceRegistry = BUILTIN_REGISTRY;
  let baseDir = process.cwd();
  if (options.config !== undefined) {
    try {
      ({ config, registry, baseDir } = await loadSuiteConfig(options.config));
    } catch (err) {
      out.error(`invalid configuration: ${(err as Error).message}`);
      return EXIT_USAGE;
    }
  }
  const reactor = createReactor();
  let suite: RunningSuite;
  try {
    suite = await startSuite(reactor, config, {
      registry,
      logger,
      baseDir,
      ...(options.host !== undefined ? { host: options.host } : {}),
      ...(options.portOffset !== undefined ? { portOffset: options.portOffset } : {}),
    });
  } catch (err) {
    if (err instanceof ConfigError) {
      const where = options.config !== undefined ? `${options.config}: ` : "";
      out.error(`invalid configuration: ${where}${err.message}`);
      return EXIT_USAGE;
    }
    out.failed(err);
    return EXIT_FAILURE;
  }
  io.stdout(formatTable(suite));
  logger.info({ frontEnds: suite.frontEnds.length }, "serving");

  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        // As in Twisted, a repeated signal does not change the shutdown under way. It also arrives
        // twice on Ctrl-C under `npm start` (the terminal's and npm's forwarded copy); the grace
        // period still bounds how long open connections can delay the exit.
        logger.info({ signal }, "already shutting down");
        return;
      }
      stopping = true;
      logger.info({ signal }, "shutting down: stop listening, close connections");
      // Through the reactor's shutdown: the suite stops in a "before" trigger, then thread pools
      // and other "during shutdown" triggers run.
      let stopError: { err: unknown } | null = null;
      reactor.addSystemEventTrigger("before", "shutdown", () =>
        suite.stop({ graceSeconds: options.grace ?? 5 }).catch((err: unknown) => {
          stopError = { err };
        }),
      );
      void reactor.stop().then(() => {
        signals.off("SIGINT", onSignal);
        signals.off("SIGTERM", onSignal);
        if (stopError !== null) {
          logger.error(stopError, "error while stopping");
          resolveExit(EXIT_FAILURE);
          return;
        }
        logger.info({}, "stopped");
        resolveExit(EXIT_OK);
      });
    };
    signals.on("SIGINT", onSignal);
    signals.on("SIGTERM", onSignal);
  });
}

/** `8992-8994` for consecutive `tcp:PORT` defaults, else the endpoints joined by commas. */
function defaultPorts(endpoints: readonly string[] = []): string {
  const ports = endpoints.map((e) => /^tcp:(\d+)$/.exec(e)?.[1]);
  if (
    ports.length > 1 &&
    ports.every((p, i) => p !== undefined && Number(p) === Number(ports[0]) + i)
  )
    return `${ports[0]}-${ports[ports.length - 1]}`;
  return endpoints.map((e, i) => ports[i] ?? e).join(",");
}

/** Register `weft serve` on `program`. */
export function addServeCommand(
  program: Command,
  io: CliIO,
  setExit: (code: number) => void,
): void {
  const kinds = BUILTIN_REGISTRY.frontEnds()
    .map(
      (k) =>
        `  ${k.service.padEnd(10)} ${k.protocol.padEnd(9)} ${defaultPorts(k.definition.defaultEndpoints).padEnd(9)}  ${k.definition.description}`,
    )
    .join("\n");
  program
    .command("serve")
    .description(
      "serve the poetry, transform and calculator services (default: all, on their default ports)",
    )
    .option("-c, --config <file>", "JSON configuration naming services, protocols and endpoints")
    .option(
      "--host <address>",
      "interface for endpoints that name none (default 127.0.0.1: loopback only; use 0.0.0.0 or :: for all interfaces, as Twisted does)",
    )
    .option("--port-offset <n>", "add N to every non-zero TCP port", intParser(0, 65535))
    .option(
      "--grace <seconds>",
      "on SIGINT/SIGTERM, abort connections still open after this long",
      parseSeconds,
      5,
    )
    .option(
      "--log-level <level>",
      `log level (${LOG_LEVELS.join(", ")}); logs are JSON lines on stderr`,
      "info",
    )
    .addHelpText(
      "after",
      `\nFront-end kinds (service, protocol, default ports):\n${kinds}\n\n` +
        `Config example:\n  { "services": { "transform": { "listen": [ { "protocol": "line", "endpoint": "tcp:10002" } ] } } }\n` +
        `A config's "modules": ["./my-module.mjs"] (relative to the config file) add services and front-ends.\n\n` +
        "SIGINT/SIGTERM stop listening, let factories finish, close connections (aborting those still open\nafter --grace seconds) and exit 0; a repeated signal while stopping is ignored.\n" +
        "Exit codes: 0 stopped cleanly, 1 a port could not be opened, 2 invalid configuration.",
    )
    .action(
      async (opts: {
        config?: string;
        host?: string;
        portOffset?: number;
        grace: number;
        logLevel: string;
      }) => {
        const { logLevel } = opts;
        if (!isOneOf<LogLevel>(logLevel, LOG_LEVELS)) {
          new CommandOutput("serve", io, setExit).usage(
            `--log-level must be one of ${LOG_LEVELS.join(", ")}`,
          );
          return;
        }
        setExit(
          await serve(
            {
              logLevel,
              grace: opts.grace,
              ...(opts.config !== undefined ? { config: opts.config } : {}),
              ...(opts.host !== undefined ? { host: opts.host } : {}),
              ...(opts.portOffset !== undefined ? { portOffset: opts.portOffset } : {}),
            },
            io,
          ),
        );
      },
    );
}
