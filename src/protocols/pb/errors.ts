/**
 * Perspective Broker errors (Twisted's `twisted.spread` exception names). Every one is a
 * {@link WeftError} with a stable `code` starting with `ERR_PB_`.
 *
 * Errors raised by a remote method travel as Twisted's `CopyableFailure`: a type name, the message,
 * and the type's Python MRO (`parents`). `pbType`/`pbParents` say what a weft error is called on the
 * wire, so a Twisted peer's `failure.check(UnauthorizedLogin)` or `trap(pb.Error)` works.
 */
import { WeftError } from "../../core/errors.js";

/** Names of Python's exception root, appended to every `parents` list. */
export const PYTHON_EXCEPTION_ROOTS: readonly string[] = [
  "builtins.Exception",
  "builtins.BaseException",
  "builtins.object",
];

/** Base of every PB error. */
export class PbProtocolError extends WeftError {
  constructor(
    code = "ERR_PB_PROTOCOL",
    message = "PB protocol error.",
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/**
 * Malformed or over-limit banana bytes (Twisted's `BananaError`). `reason` is a stable sub-code:
 * `prefix-too-long`, `string-too-long`, `list-too-long`, `bad-type-byte`, `bad-vocabulary`,
 * `too-deep`, `expression-too-large`, `truncated`. `offset` counts bytes from the start of the stream.
 */
export class BananaError extends PbProtocolError {
  /** Which limit or rule the bytes broke: one of the stable sub-codes listed above. */
  readonly reason: string;
  /** Where in the stream (bytes from its start) the bad item begins; -1 when unknown. */
  readonly offset: number;

  constructor(reason: string, message: string, offset = -1) {
    super("ERR_PB_BANANA", message);
    this.reason = reason;
    this.offset = offset;
  }
}

/** A value cannot be encoded (unsupported type, integer out of range, too long to send). */
export class BananaEncodeError extends PbProtocolError {
  constructor(message: string) {
    super("ERR_PB_BANANA_ENCODE", message);
  }
}

/**
 * Something in a jelly expression was not allowed by the {@link SecurityOptions} (Twisted's
 * `twisted.spread.jelly.InsecureJelly`): an unregistered class, a disallowed type. The call that
 * carried it fails; the connection stays up.
 */
export class InsecureJelly extends PbProtocolError {
  /** The name this error travels under to a Twisted peer. */
  readonly pbType = "twisted.spread.jelly.InsecureJelly";
  /** The Python class hierarchy sent with it (the `parents` of Twisted's `CopyableFailure`). */
  readonly pbParents: readonly string[] = [this.pbType, ...PYTHON_EXCEPTION_ROOTS];

  constructor(message: string) {
    super("ERR_PB_INSECURE_JELLY", message);
  }
}

/** A jelly expression is malformed (wrong arity, bad reference id, a value that cannot be jellied). */
export class JellyError extends PbProtocolError {
  /**
   * The name this error travels under: `builtins.ValueError` (Twisted's jelly has no error class
   * of its own for a malformed expression).
   */
  readonly pbType = "builtins.ValueError";
  /** The Python class hierarchy sent with it (the `parents` of Twisted's `CopyableFailure`). */
  readonly pbParents: readonly string[] = [this.pbType, ...PYTHON_EXCEPTION_ROOTS];

  constructor(message: string) {
    super("ERR_PB_JELLY", message);
  }
}

/**
 * Raise (a subclass of) me from a `remote_*`/`perspective_*` method for an expected error: the
 * caller gets a failure with this message and no traceback is logged here (Twisted's `pb.Error`).
 * Subclasses may set `pbType` to their Twisted-side name.
 */
export class PbError extends WeftError {
  /**
   * The qualified Python name this error travels under. Default `twisted.spread.pb.Error`; a
   * subclass may set the name its Twisted peer checks for (e.g. `"myapp.errors.QuotaExceeded"`).
   */
  pbType = "twisted.spread.pb.Error";

  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_PB_ERROR", message, options);
  }

  /**
   * The Python class hierarchy sent with it: {@link pbType}, then `twisted.spread.pb.Error` (when
   * `pbType` names a subclass), then Python's exception roots. A Twisted peer's
   * `failure.trap(pb.Error)` matches it.
   */
  get pbParents(): readonly string[] {
    const base = "twisted.spread.pb.Error";
    return this.pbType === base
      ? [base, ...PYTHON_EXCEPTION_ROOTS]
      : [this.pbType, base, ...PYTHON_EXCEPTION_ROOTS];
  }
}

/** A method was called on a reference whose broker is disconnected (Twisted's `DeadReferenceError`). */
export class DeadReferenceError extends PbProtocolError {
  constructor(message = "Calling Stale Broker") {
    super("ERR_PB_DEAD_REFERENCE", message);
  }
}

/** The connection was lost while a call waited for its answer (Twisted's `PBConnectionLost`). */
export class PBConnectionLost extends PbProtocolError {
  constructor(reason: Error) {
    super("ERR_PB_CONNECTION_LOST", `Connection lost: ${reason.message}`, { cause: reason });
  }
}

/** There is no `remote_<name>` method on the target (Twisted's `flavors.NoSuchMethod`). */
export class NoSuchMethod extends PbProtocolError {
  /** The name this error travels under to a Twisted peer. */
  readonly pbType = "twisted.spread.flavors.NoSuchMethod";
  /** The Python class hierarchy sent with it (Twisted's `NoSuchMethod` is an `AttributeError`). */
  readonly pbParents: readonly string[] = [
    this.pbType,
    "builtins.AttributeError",
    ...PYTHON_EXCEPTION_ROOTS,
  ];

  constructor(message: string) {
    super("ERR_PB_NO_SUCH_METHOD", message);
  }
}

/** Login failed: unknown user or wrong password (Twisted's `twisted.cred.error.UnauthorizedLogin`). */
export class UnauthorizedLogin extends WeftError {
  /** The name this error travels under to a Twisted peer. */
  readonly pbType = "twisted.cred.error.UnauthorizedLogin";
  /** The Python class hierarchy sent with it (Twisted's is a `twisted.cred.error.LoginFailed`). */
  readonly pbParents: readonly string[] = [
    this.pbType,
    "twisted.cred.error.LoginFailed",
    ...PYTHON_EXCEPTION_ROOTS,
  ];

  constructor(message = "") {
    super("ERR_PB_UNAUTHORIZED_LOGIN", message);
  }
}

/**
 * A failure raised by the remote side (Twisted's `CopiedFailure`): `remoteType` is the remote
 * exception's qualified name (`builtins.ValueError`, `twisted.spread.pb.Error`, …), `message` its
 * text, `parents` its class hierarchy. When the remote raised a `pb.Error` (an expected error),
 * `expected` is true and `code` is `ERR_PB_ERROR`; any other remote exception has code
 * `ERR_PB_REMOTE_FAILURE`.
 */
export class CopiedFailure extends WeftError {
  /** The remote exception's qualified Python name, as `builtins.ValueError` (Twisted's `type`). */
  readonly remoteType: string;
  /** The remote exception's class hierarchy, most derived first (Twisted's `parents`). */
  readonly parents: readonly string[];
  /**
   * The remote traceback as text (Twisted's `traceback`): `"Traceback unavailable\n"` unless the
   * remote factory sends tracebacks (`unsafeTracebacks`); empty when the failure carried none.
   */
  readonly remoteTraceback: string;

  constructor(remoteType: string, value: string, parents: readonly string[], traceback: string) {
    const expected = parents.includes("twisted.spread.pb.Error");
    super(expected ? "ERR_PB_ERROR" : "ERR_PB_REMOTE_FAILURE", value);
    this.remoteType = remoteType;
    this.parents = parents;
    this.remoteTraceback = traceback;
  }

  /** True when the remote raised a `pb.Error` (or a subclass). */
  get expected(): boolean {
    return this.code === "ERR_PB_ERROR";
  }

  /** The first of `typeNames` (qualified Python names) that the remote exception is an instance of. */
  check(...typeNames: string[]): string | null {
    for (const t of typeNames) if (this.remoteType === t || this.parents.includes(t)) return t;
    return null;
  }
}

/** The wire name and hierarchy under which `err` travels to the peer. */
export function pbTypeOf(err: Error): { type: string; parents: readonly string[] } {
  const named = err as Error & { pbType?: unknown; pbParents?: unknown };
  if (typeof named.pbType === "string") {
    const parents = Array.isArray(named.pbParents)
      ? named.pbParents.filter((p): p is string => typeof p === "string")
      : [named.pbType, ...PYTHON_EXCEPTION_ROOTS];
    return { type: named.pbType, parents };
  }
  if (err instanceof CopiedFailure) return { type: err.remoteType, parents: err.parents };
  const type = err instanceof TypeError ? "builtins.TypeError" : `weft.${err.name}`;
  return { type, parents: [type, ...PYTHON_EXCEPTION_ROOTS] };
}
