/**
 * `weft serve`'s options: the {@link ServeOptions} type, the Commander definitions with their help
 * text, and the conversion from what Commander parsed (checked here: exit 2 on a bad value).
 */
import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import { defaultStateDir } from "../../services/state/index.js";
import { BUILTIN_REGISTRY } from "../../services/suite/index.js";
import { intParser, isOneOf, parseSeconds } from "../common.js";
import { LOG_LEVELS, type LogLevel } from "../logger.js";
import { checkLogFileOptions, type LogFileOptions } from "./log-file.js";
import { parseId, parseUmask } from "./privileges.js";

/** Options of `weft serve`. */
export interface ServeOptions {
  config?: string;
  host?: string;
  portOffset?: number;
  /** Seconds connections get to close on shutdown before they are aborted. Default 5. */
  grace?: number;
  logLevel: LogLevel;
  /** Validate the configuration (and its modules) and exit, opening no port. */
  check?: boolean;
  /** Write the pid here; refuse to start while another live process holds it. */
  pidfile?: string;
  /** Log to this rolling file instead of stderr. */
  logFile?: LogFileOptions;
  /** Drop to this user / group once every port is bound. */
  uid?: string | number;
  gid?: string | number;
  /** File-creation mask, set before anything is created. */
  umask?: number;
  /**
   * Where services keep state (locked: one server per folder). The command defaults it (see
   * `defaultStateDir`); without it, `serve()` runs the services with their state in memory.
   */
  stateDir?: string;
  /** Worker processes sharing the ports (node:cluster); 1 = no cluster. */
  workers?: number;
  /** Manhole endpoint (`unix:PATH` or `tcp:PORT[:interface=…]`). */
  manhole?: string;
  /** The manhole's token file (required for `tcp:`; created 0600 with a random token when absent). */
  manholeTokenFile?: string;
}

/** What Commander hands the action. */
export interface RawServeOptions {
  config?: string;
  host?: string;
  portOffset?: number;
  grace: number;
  logLevel: string;
  check?: boolean;
  pidfile?: string;
  logFile?: string;
  logMaxSize: string;
  logRotate: string;
  logKeep: number;
  uid?: string | number;
  gid?: string | number;
  umask?: number;
  stateDir?: string;
  workers: number;
  manhole?: string;
  manholeTokenFile?: string;
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

function parseManhole(value: string): string {
  if (!/^(unix:.+|tcp:.+)$/.test(value))
    throw new InvalidArgumentError("must be unix:PATH or tcp:PORT[:interface=ADDRESS]");
  return value;
}

/** Declare `weft serve`'s options and help on `command`. */
export function declareServeOptions(command: Command): Command {
  const kinds = BUILTIN_REGISTRY.frontEnds()
    .map(
      (k) =>
        `  ${k.service.padEnd(10)} ${k.protocol.padEnd(9)} ${defaultPorts(k.definition.defaultEndpoints).padEnd(9)}  ${k.definition.description}`,
    )
    .join("\n");
  return command
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
    .option("--check", "validate the configuration and the modules it loads, then exit (0 or 2)")
    .option("--pidfile <file>", "write the pid here; refuse to start while a live server holds it")
    .option("--log-file <file>", "log JSON lines to this file, rolled (FILE.1.log, FILE.2.log, …)")
    .option("--log-max-size <size>", "roll the log file at this size (500k, 10m, 1g)", "10m")
    .option("--log-rotate <period>", "also roll it daily, hourly, never, or every N ms", "daily")
    .option(
      "--log-keep <n>",
      "rolled log files kept besides the current one",
      intParser(0, 10000),
      10,
    )
    .option(
      "--umask <mask>",
      "file-creation mask (octal), set before any file is created",
      parseUmask,
    )
    .option("--uid <user>", "run as this user once every port is bound (needs root)", parseId)
    .option("--gid <group>", "run as this group once every port is bound (needs root)", parseId)
    .option(
      "--state-dir <dir>",
      "where services keep state, locked to one server (default $XDG_STATE_HOME/weft, else ~/.local/state/weft)",
    )
    .option(
      "--workers <n>",
      "run N worker processes sharing the ports (node:cluster); the primary keeps pidfile, log, state, manhole",
      intParser(1, 256),
      1,
    )
    .option(
      "--manhole <endpoint>",
      "a REPL into the running server: unix:PATH (socket 0600, owner only) or tcp:PORT (token required)",
      parseManhole,
    )
    .option(
      "--manhole-token-file <file>",
      "the manhole's token (created 0600 with a random token when absent)",
    )
    .option(
      "--log-level <level>",
      `log level (${LOG_LEVELS.join(", ")}); logs are JSON lines on stderr or --log-file`,
      "info",
    )
    .addHelpText(
      "after",
      `\nFront-end kinds (service, protocol, default ports):\n${kinds}\n\n` +
        `Config example:\n  { "services": { "transform": { "listen": [ { "protocol": "line", "endpoint": "tcp:10002" } ] } } }\n` +
        `A config's "modules": ["./my-module.mjs"] (relative to the config file) add services and front-ends.\n\n` +
        "Running it like twistd:\n" +
        "  weft serve --pidfile /run/weft.pid --log-file /var/log/weft/weft.log --uid nobody \\\n" +
        "             --state-dir /var/lib/weft --workers 2 --manhole unix:/run/weft.manhole\n" +
        "  weft manhole unix:/run/weft.manhole   (a REPL with suite, services, factories, connections())\n\n" +
        "SIGINT/SIGTERM stop listening, let factories finish, close connections (aborting those still open\nafter --grace seconds) and exit 0; a repeated signal while stopping is ignored. With --workers,\nthe primary passes SIGTERM to every worker, waits for each one's stop, then exits 0.\n" +
        "Exit codes: 0 stopped cleanly (or --check passed), 1 a port, the pidfile, the state or the log\nfile could not be opened, 2 invalid configuration or options.",
    );
}

/** Converts and checks what Commander parsed; a string is a usage error (exit 2). */
export function toServeOptions(raw: RawServeOptions): ServeOptions | string {
  const { logLevel } = raw;
  if (!isOneOf<LogLevel>(logLevel, LOG_LEVELS))
    return `--log-level must be one of ${LOG_LEVELS.join(", ")}`;
  const rolling: LogFileOptions = {
    file: raw.logFile ?? "",
    maxSize: raw.logMaxSize,
    rotate: raw.logRotate,
    keep: raw.logKeep,
  };
  const bad = checkLogFileOptions(rolling);
  if (bad !== null) return bad;
  const logFile = raw.logFile !== undefined ? rolling : undefined;
  if (raw.manhole?.startsWith("tcp:") === true && raw.manholeTokenFile === undefined)
    return "--manhole tcp:… requires --manhole-token-file FILE";
  return {
    logLevel,
    grace: raw.grace,
    workers: raw.workers,
    ...(raw.config !== undefined ? { config: raw.config } : {}),
    ...(raw.host !== undefined ? { host: raw.host } : {}),
    ...(raw.portOffset !== undefined ? { portOffset: raw.portOffset } : {}),
    ...(raw.check === true ? { check: true } : {}),
    ...(raw.pidfile !== undefined ? { pidfile: raw.pidfile } : {}),
    ...(logFile !== undefined ? { logFile } : {}),
    ...(raw.uid !== undefined ? { uid: raw.uid } : {}),
    ...(raw.gid !== undefined ? { gid: raw.gid } : {}),
    ...(raw.umask !== undefined ? { umask: raw.umask } : {}),
    stateDir: raw.stateDir ?? defaultStateDir(),
    ...(raw.manhole !== undefined ? { manhole: raw.manhole } : {}),
    ...(raw.manholeTokenFile !== undefined ? { manholeTokenFile: raw.manholeTokenFile } : {}),
  };
}
