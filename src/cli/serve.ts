/**
 * `weft serve`: start the suite from a configuration (default: every service on its default ports,
 * bound to 127.0.0.1), print where each front-end listens, and shut down gracefully on SIGINT/SIGTERM.
 * Run like twistd: a pidfile, a rolling log file, privileges dropped after binding, a state folder,
 * worker processes, a manhole. The pieces live in `serve/`; this file puts them in order, and holds
 * the signal handler of a serving process.
 */
import type { Command } from "commander";
import { createReactor, type Reactor } from "../core/reactor.js";
import { ConfigError } from "../services/errors.js";
import { MemoryFibonacciStore } from "../services/fibonacci/memory-store.js";
import { type Manhole, startManhole } from "../services/manhole/server.js";
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
  describeError,
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
} from "./common.js";
import { alignTable, checkServeConfig } from "./serve/check.js";
import { runPrimary } from "./serve/cluster-primary.js";
import { openPrimaryState, type PrimaryState, workerRegistry } from "./serve/cluster-state.js";
import {
  isWorkerProcess,
  reportListening,
  reportStartFailed,
  stopWhenOrphaned,
} from "./serve/cluster-worker.js";
import { rollingFileLog, type ServeLog, stderrLog, workerLog } from "./serve/log-file.js";
import { suiteNamespace } from "./serve/namespace.js";
import {
  declareServeOptions,
  type RawServeOptions,
  type ServeOptions,
  toServeOptions,
} from "./serve/options.js";
import { acquirePidfile, type HeldPidfile } from "./serve/pidfile.js";
import { dropPrivileges } from "./serve/privileges.js";

export type { ServeOptions } from "./serve/options.js";

/** The table printed on start: service, protocol, address. */
export function formatTable(suite: RunningSuite): string {
  return alignTable(
    ["SERVICE", "PROTOCOL", "ADDRESS"],
    suite.frontEnds.map((f) => [f.service, f.protocol, formatAddress(f.address)]),
  );
}

interface LoadedConfig {
  config: SuiteConfig;
  registry: ServiceRegistry;
  baseDir: string;
}

async function loadConfig(
  options: ServeOptions,
  out: CommandOutput,
  base: ServiceRegistry = BUILTIN_REGISTRY,
): Promise<LoadedConfig | null> {
  if (options.config === undefined)
    return { config: defaultSuiteConfig(), registry: base, baseDir: process.cwd() };
  try {
    return await loadSuiteConfig(options.config, base);
  } catch (err) {
    out.error(`invalid configuration: ${(err as Error).message}`);
    return null;
  }
}

/** What a serving process holds besides the suite, released in reverse order on exit. */
class Held {
  pidfile: HeldPidfile | null = null;
  manhole: Manhole | null = null;
  log: ServeLog | null = null;
  /** The primary's state (under --workers; a single process's suite holds its own). */
  state: PrimaryState | null = null;

  async release(): Promise<void> {
    await this.manhole?.close();
    try {
      await this.state?.close();
    } catch (err) {
      this.log?.logger.error({ err }, "error while saving the state");
    }
    const problem = this.pidfile?.release() ?? null;
    if (problem !== null) this.log?.logger.warn({ pidfile: this.pidfile?.path }, problem);
    await this.log?.close();
  }
}

/** Starts the suite; a number is the exit code of a failure already reported. */
async function startConfigured(
  reactor: Reactor,
  loaded: LoadedConfig,
  options: ServeOptions,
  log: ServeLog,
  out: CommandOutput,
  stateDir: string | undefined,
): Promise<RunningSuite | number> {
  try {
    return await startSuite(reactor, loaded.config, {
      registry: loaded.registry,
      logger: log.logger,
      baseDir: loaded.baseDir,
      ...(stateDir !== undefined ? { stateDir } : {}),
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
}

/**
 * Run `weft serve` until a signal stops it. Resolves with the exit code: 0 after a graceful stop
 * (or a passed `--check`), 2 for an invalid configuration or options, 1 when a port, the pidfile,
 * the log file, the state or the manhole cannot be opened.
 */
export async function serve(
  options: ServeOptions,
  io: CliIO,
  signals: NodeJS.Process = process,
): Promise<number> {
  if (isWorkerProcess()) return serveWorker(options, io, signals);
  const out = new CommandOutput("serve", io);
  if (options.umask !== undefined) process.umask(options.umask);
  const loaded = await loadConfig(options, out);
  if (loaded === null) return EXIT_USAGE;
  if (options.check === true) {
    try {
      const rows = checkServeConfig(loaded.config, loaded.registry, options);
      io.stdout(alignTable(["SERVICE", "PROTOCOL", "ENDPOINT"], rows));
      io.stdout(`configuration OK: ${rows.length} front-ends\n`);
      return EXIT_OK;
    } catch (err) {
      out.error(`invalid configuration: ${(err as Error).message}`);
      return EXIT_USAGE;
    }
  }
  const held = new Held();
  try {
    return await serveHolding(options, io, signals, loaded, held, out);
  } finally {
    await held.release();
  }
}

async function serveHolding(
  options: ServeOptions,
  io: CliIO,
  signals: NodeJS.Process,
  loaded: LoadedConfig,
  held: Held,
  out: CommandOutput,
): Promise<number> {
  try {
    if (options.pidfile !== undefined)
      held.pidfile = acquirePidfile(options.pidfile, (pid) =>
        out.error(`replacing the stale pidfile ${options.pidfile} (process ${pid ?? "?"} is gone)`),
      );
    held.log =
      options.logFile !== undefined
        ? await rollingFileLog(
            options.logLevel,
            options.logFile,
            (options.workers ?? 1) > 1 ? "primary" : undefined,
          )
        : stderrLog(options.logLevel, (options.workers ?? 1) > 1 ? "primary" : undefined);
  } catch (err) {
    out.failed(err);
    return EXIT_FAILURE;
  }
  const log = held.log;
  const { logger } = log;
  if ((options.workers ?? 1) > 1) {
    if (options.stateDir !== undefined) {
      try {
        held.state = await openPrimaryState(
          options.stateDir,
          loaded.config,
          loaded.registry,
          logger,
        );
      } catch (err) {
        out.failed(err);
        return EXIT_FAILURE;
      }
    }
    // Without a state folder the workers still share one sequence, in the primary's memory.
    const fibonacciStore = held.state?.fibonacci ?? new MemoryFibonacciStore();
    return runPrimary({ options, io, log, signals, held, out, fibonacciStore });
  }

  const reactor = createReactor();
  const started = await startConfigured(reactor, loaded, options, log, out, options.stateDir);
  if (typeof started === "number") return started;
  const suite = started;
  try {
    if (options.manhole !== undefined)
      held.manhole = await startManhole({
        endpoint: options.manhole,
        ...(options.manholeTokenFile !== undefined ? { tokenFile: options.manholeTokenFile } : {}),
        namespace: () => suiteNamespace(suite, reactor, logger),
        logger,
      });
    if (options.uid !== undefined || options.gid !== undefined) {
      const who = dropPrivileges({
        ...(options.uid !== undefined ? { uid: options.uid } : {}),
        ...(options.gid !== undefined ? { gid: options.gid } : {}),
      });
      logger.info(who, "dropped privileges");
    }
  } catch (err) {
    out.failed(err);
    await suite.stop({ graceSeconds: 0 });
    return EXIT_FAILURE;
  }
  io.stdout(formatTable(suite));
  logger.info({ frontEnds: suite.frontEnds.length }, "serving");
  return untilSignal(reactor, suite, options, logger, signals);
}

/** A worker of `weft serve --workers N`: the suite only; the primary holds everything else. */
async function serveWorker(
  options: ServeOptions,
  io: CliIO,
  signals: NodeJS.Process,
): Promise<number> {
  const log = workerLog(options.logLevel);
  const { logger } = log;
  const out = new CommandOutput("serve", {
    stdout: io.stdout,
    stderr: (t) => {
      io.stderr(t);
    },
  });
  // The state belongs to the primary: the worker's Fibonacci service claims from it.
  const loaded = await loadConfig(options, out, workerRegistry());
  if (loaded === null) {
    reportStartFailed(EXIT_USAGE, "invalid configuration");
    return EXIT_USAGE;
  }
  const reactor = createReactor();
  const started = await startConfigured(reactor, loaded, options, log, out, undefined);
  if (typeof started === "number") {
    reportStartFailed(started, "the suite did not start");
    return started;
  }
  const suite = started;
  if ((options.uid !== undefined || options.gid !== undefined) && process.getuid?.() === 0) {
    try {
      dropPrivileges({
        ...(options.uid !== undefined ? { uid: options.uid } : {}),
        ...(options.gid !== undefined ? { gid: options.gid } : {}),
      });
    } catch (err) {
      reportStartFailed(EXIT_FAILURE, describeError(err));
      await suite.stop({ graceSeconds: 0 });
      return EXIT_FAILURE;
    }
  }
  reportListening(suite);
  logger.info({ frontEnds: suite.frontEnds.length }, "serving");
  stopWhenOrphaned(signals);
  return untilSignal(reactor, suite, options, logger, signals);
}

/** Serve until SIGINT/SIGTERM; resolves with the exit code once the suite has stopped. */
function untilSignal(
  reactor: Reactor,
  suite: RunningSuite,
  options: ServeOptions,
  logger: ServeLog["logger"],
  signals: NodeJS.Process,
): Promise<number> {
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

/** Register `weft serve` on `program`. */
export function addServeCommand(
  program: Command,
  io: CliIO,
  setExit: (code: number) => void,
): void {
  declareServeOptions(
    program
      .command("serve")
      .description(
        "serve the suite's services (default: every built-in service, on its default ports)",
      ),
  ).action(async (raw: RawServeOptions) => {
    const options = toServeOptions(raw);
    if (typeof options === "string") {
      new CommandOutput("serve", io, setExit).usage(options);
      return;
    }
    setExit(await serve(options, io));
  });
}
