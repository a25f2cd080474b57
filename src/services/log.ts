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

/** Log a connection event at info (`connection made` / `connection lost`) with the peer address. */
export function logConnection(
  logger: ServiceLogger,
  event: "connection made" | "connection lost",
  service: string,
  protocol: string,
  conn: HasPeer,
  reason?: Error,
): void {
  if (logger.isLevelEnabled !== undefined && !logger.isLevelEnabled("info")) return;
  const record: Record<string, unknown> = { service, protocol, peer: peerOf(conn) };
  if (reason !== undefined) record["reason"] = (reason as { code?: string }).code ?? reason.message;
  logger.info(record, event);
}
