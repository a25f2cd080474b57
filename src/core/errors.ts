/**
 * Typed errors. Every error weft raises or hands to an errback is a {@link WeftError}: an `Error`
 * subclass with a stable, machine-readable `code` (never reworded) and a human message.
 */
export class WeftError extends Error {
  /** Stable machine-readable identifier, e.g. `"ERR_CONNECTION_DONE"`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The connection was closed cleanly (Twisted's `ConnectionDone`). */
export class ConnectionDone extends WeftError {
  constructor(message = "Connection was closed cleanly.", options?: { cause?: unknown }) {
    super("ERR_CONNECTION_DONE", message, options);
  }
}

/** The connection was lost in a non-clean fashion: reset, aborted (Twisted's `ConnectionLost`). */
export class ConnectionLost extends WeftError {
  constructor(
    message = "Connection to the other side was lost in a non-clean fashion.",
    options?: { cause?: unknown },
  ) {
    super("ERR_CONNECTION_LOST", message, options);
  }
}

/** Base of the errors that happen while establishing an outgoing connection. */
export class ConnectError extends WeftError {
  constructor(
    code = "ERR_CONNECT",
    message = "An error occurred while connecting.",
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** The peer refused the connection (ECONNREFUSED). */
export class ConnectionRefusedError extends ConnectError {
  constructor(message = "Connection was refused by other side.", options?: { cause?: unknown }) {
    super("ERR_CONNECTION_REFUSED", message, options);
  }
}

/** A connection attempt did not complete within its timeout. */
export class ConnectTimeoutError extends ConnectError {
  constructor(message = "User timeout caused connection failure.", options?: { cause?: unknown }) {
    super("ERR_CONNECT_TIMEOUT", message, options);
  }
}

/** Binding a listening port failed (address in use, permission, bad address). */
export class CannotListenError extends WeftError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_CANNOT_LISTEN", message, options);
  }
}

/** An operation (usually a Deferred) did not finish in time (Twisted's `defer.TimeoutError`). */
export class TimeoutError extends WeftError {
  constructor(message = "Deferred timed out.", options?: { cause?: unknown }) {
    super("ERR_TIMEOUT", message, options);
  }
}

/** A Deferred was cancelled (Twisted's `CancelledError`). */
export class CancelledError extends WeftError {
  constructor(message = "Deferred was cancelled.", options?: { cause?: unknown }) {
    super("ERR_CANCELLED", message, options);
  }
}

/** A Deferred or DelayedCall was fired/called a second time (Twisted's `AlreadyCalledError`). */
export class AlreadyCalledError extends WeftError {
  constructor(message = "Already called.", options?: { cause?: unknown }) {
    super("ERR_ALREADY_CALLED", message, options);
  }
}

/** A DelayedCall was cancelled a second time, or reset after cancel (Twisted's `AlreadyCancelled`). */
export class AlreadyCancelledError extends WeftError {
  constructor(message = "Already cancelled.", options?: { cause?: unknown }) {
    super("ERR_ALREADY_CANCELLED", message, options);
  }
}

/** A method that a subclass must override was called on the base class. */
export class NotImplementedError extends WeftError {
  constructor(what: string) {
    super("ERR_NOT_IMPLEMENTED", `${what} must be implemented by a subclass.`);
  }
}

/** An argument or configuration value is invalid (bad endpoint string, negative interval, …). */
export class InvalidArgumentError extends WeftError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_INVALID_ARGUMENT", message, options);
  }
}

/** The host name could not be resolved (ENOTFOUND, EAI_AGAIN). */
export class DNSLookupError extends ConnectError {
  constructor(message = "DNS lookup failed.", options?: { cause?: unknown }) {
    super("ERR_DNS_LOOKUP", message, options);
  }
}

/** A connection attempt was abandoned by the user (`stopConnecting`, or cancelling a Deferred). */
export class ConnectingCancelledError extends ConnectError {
  constructor(message = "The connection attempt was cancelled.", options?: { cause?: unknown }) {
    super("ERR_CONNECTING_CANCELLED", message, options);
  }
}

/** Maps a Node socket error raised while connecting to weft's typed connect errors. */
export function connectErrorFrom(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const detail = err instanceof Error ? err.message : String(err);
  switch (code) {
    case "ECONNREFUSED":
      return new ConnectionRefusedError(`Connection was refused by other side: ${detail}`, {
        cause: err,
      });
    case "ETIMEDOUT":
      return new ConnectTimeoutError(`Connection timed out: ${detail}`, { cause: err });
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EAI_FAIL":
    case "EAI_NONAME":
      return new DNSLookupError(`DNS lookup failed: ${detail}`, { cause: err });
    default:
      return new ConnectError("ERR_CONNECT", `An error occurred while connecting: ${detail}`, {
        cause: err,
      });
  }
}
