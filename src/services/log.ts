/**
 * Logging for the front-ends: the {@link ServiceLogger} contract, connection records, and the two
 * kinds of faults kept apart — a peer's fault ({@link logPeerFault}: warn, no stack, a short escaped
 * excerpt of its bytes, rate-limited so that no peer can make the log grow faster than a few lines
 * per interval) and our own ({@link logServiceFault}: error, with the stack).
 */
import { NodeClock } from "../core/clock.js";
import { WeftError } from "../core/errors.js";
import type { ReactorTime } from "../core/interfaces.js";
import { RateLimitedReporter, type SuppressedSummary } from "../core/rate-limit.js";

/**
 * The logger the front-ends report to. Structurally a subset of pino's `Logger`, so a pino logger
 * can be passed as is; the default discards everything.
 */
export interface ServiceLogger {
  /** Logs a debug record: the fields in `obj`, and a message. */
  debug(obj: object, msg?: string): void;
  /** Logs an info record. */
  info(obj: object, msg?: string): void;
  /** Logs a warning record. */
  warn(obj: object, msg?: string): void;
  /** Logs an error record. */
  error(obj: object, msg?: string): void;
  /** Whether `debug` output is wanted (lets hot paths skip building log records). */
  isLevelEnabled?(level: string): boolean;
}

const noop = (): void => {};

/** A logger that discards everything. */
export const silentLogger: ServiceLogger = {
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  isLevelEnabled: () => false,
};

/** Whether `logger` wants debug records. */
export function debugEnabled(logger: ServiceLogger): boolean {
  return logger.isLevelEnabled?.("debug") ?? false;
}

/** What every front-end factory accepts besides its service. */
export interface FrontEndOptions {
  /** Where connection and request records go. Default: {@link silentLogger}. */
  logger?: ServiceLogger;
}

/** Something with a transport that knows its peer (any connected Protocol). */
export interface HasPeer {
  readonly transport: { getPeer(): { host: string; port: number; path?: string } };
}

/** `host:port` (or the socket path) of a protocol's peer, for logs; `"?"` when unknown. */
export function peerOf(p: HasPeer): string {
  try {
    const a = p.transport.getPeer();
    return a.path !== undefined && a.path !== "" ? a.path : `${a.host}:${a.port}`;
  } catch {
    return "?";
  }
}

/** Per logger, the reporters that rate-limit its records (shared by every front-end using it). */
interface LimitedLog {
  readonly faults: RateLimitedReporter;
  readonly connections: RateLimitedReporter;
}

const limited = new WeakMap<ServiceLogger, LimitedLog>();
let defaultClock: ReactorTime | null = null;

/** Peer-fault records per kind (service, protocol, code) and interval; then one summary. */
export const PEER_FAULTS_PER_INTERVAL = 5;
/** Connection records per kind (event, service, protocol) and interval; then one summary. */
export const CONNECTIONS_PER_INTERVAL = 20;
/** The rate limits' interval, in seconds. */
export const LOG_INTERVAL = 10;
/** The longest excerpt of a peer's bytes a record carries (before escaping). */
export const EXCERPT_BYTES = 32;

function summaryFor(logger: ServiceLogger, what: string, level: "info" | "warn") {
  return (s: SuppressedSummary): void => {
    logger[level](
      { suppressed: s.suppressed, kind: s.key, interval: s.interval },
      `suppressed ${s.suppressed} similar ${what} in ${s.interval}s`,
    );
  };
}

/**
 * The rate limits of `logger`'s records, made on first use with `clock` (default: a real clock whose
 * timers never keep the process alive). Every front-end sharing a logger shares its limits.
 */
export function limitsOf(logger: ServiceLogger, clock?: ReactorTime): LimitedLog {
  let l = limited.get(logger);
  if (l === undefined) {
    const time = clock ?? (defaultClock ??= new NodeClock({ unref: true }));
    l = {
      faults: new RateLimitedReporter(time, summaryFor(logger, "peer faults", "warn"), {
        limit: PEER_FAULTS_PER_INTERVAL,
        interval: LOG_INTERVAL,
      }),
      connections: new RateLimitedReporter(time, summaryFor(logger, "connection records", "info"), {
        limit: CONNECTIONS_PER_INTERVAL,
        interval: LOG_INTERVAL,
      }),
    };
    limited.set(logger, l);
  }
  return l;
}

/** Hands out the summaries `logger`'s limits are holding (call on shutdown). */
export function flushLogLimits(logger: ServiceLogger): void {
  const l = limited.get(logger);
  l?.faults.flush();
  l?.connections.flush();
}

/**
 * A short, escaped excerpt of a peer's bytes for a log record: at most `max` bytes (of a string:
 * UTF-16 units), printable ASCII kept, everything else as `\xHH` (or `\uHHHH`), and the number of
 * bytes left out. Never the whole input.
 */
export function excerpt(input: Uint8Array | string, max = EXCERPT_BYTES): string {
  let out = "";
  const n = Math.min(input.length, max);
  for (let i = 0; i < n; i++) {
    const c = typeof input === "string" ? input.charCodeAt(i) : (input[i] as number);
    if (c >= 0x20 && c < 0x7f && c !== 0x5c) out += String.fromCharCode(c);
    else if (c === 0x5c) out += "\\\\";
    else if (c < 0x100) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else out += `\\u${c.toString(16).padStart(4, "0")}`;
  }
  return input.length > max ? `${out}…(+${input.length - max})` : out;
}

/** What a peer did wrong, for {@link logPeerFault}. */
export interface PeerFault {
  /** The service's name. */
  readonly service: string;
  /** The front-end's protocol name. */
  readonly protocol: string;
  /** The connection (for its peer address). */
  readonly conn?: HasPeer;
  /** The typed error, or a stable code; only its `code` is logged (never its message or stack). */
  readonly error: unknown;
  /** The peer's bytes the fault is about: only an {@link excerpt} is logged. */
  readonly input?: Uint8Array | string;
}

/** The stable code of a peer's fault: a WeftError's `code`, else the error's `code` or name. */
function codeOf(error: unknown): string {
  if (typeof error === "string") return error;
  if (error instanceof WeftError) return error.code;
  if (typeof error === "object" && error !== null) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string") return code;
    if (error instanceof Error) return error.name;
  }
  return "ERR_PEER";
}

/** The code of the error in a protocol layer's log record (`{ err }`), for {@link logPeerFault}. */
export function codeIn(record: object): string {
  return codeOf((record as { err?: unknown }).err);
}

/**
 * Logs a fault of the peer's (a request that does not decode, an unknown name) at warn: the
 * service, protocol, peer address, the error's code and a short escaped excerpt of the input — no
 * stack, no message (it may repeat the peer's bytes). Rate-limited per (service, protocol, code):
 * beyond {@link PEER_FAULTS_PER_INTERVAL} per {@link LOG_INTERVAL} seconds, one "suppressed N
 * similar peer faults" record per interval instead.
 */
export function logPeerFault(logger: ServiceLogger, fault: PeerFault, msg: string): void {
  if (logger.isLevelEnabled !== undefined && !logger.isLevelEnabled("warn")) return;
  const code = codeOf(fault.error);
  if (!limitsOf(logger).faults.allow(`${fault.service}/${fault.protocol}/${code}`)) return;
  const record: Record<string, unknown> = {
    service: fault.service,
    protocol: fault.protocol,
    code,
  };
  if (fault.conn !== undefined) record["peer"] = peerOf(fault.conn);
  if (fault.input !== undefined) record["input"] = excerpt(fault.input);
  logger.warn(record, msg);
}

/** Logs one of our own faults (a service that threw): at error, with the error and its stack. */
export function logServiceFault(
  logger: ServiceLogger,
  fields: { service: string; protocol: string; conn?: HasPeer },
  err: unknown,
  msg: string,
): void {
  const record: Record<string, unknown> = {
    service: fields.service,
    protocol: fields.protocol,
    err,
  };
  if (fields.conn !== undefined) record["peer"] = peerOf(fields.conn);
  logger.error(record, msg);
}

/**
 * Log a connection event at info (`connection made` / `connection lost`) with the peer address;
 * rate-limited per (event, service, protocol) like peer faults (a flood of connections must not
 * flood the log), at {@link CONNECTIONS_PER_INTERVAL} per interval.
 */
export function logConnection(
  logger: ServiceLogger,
  event: "connection made" | "connection lost",
  service: string,
  protocol: string,
  conn: HasPeer,
  reason?: Error,
): void {
  if (logger.isLevelEnabled !== undefined && !logger.isLevelEnabled("info")) return;
  if (!limitsOf(logger).connections.allow(`${event}/${service}/${protocol}`)) return;
  const record: Record<string, unknown> = { service, protocol, peer: peerOf(conn) };
  if (reason !== undefined) record["reason"] = (reason as { code?: string }).code ?? reason.message;
  logger.info(record, event);
}
