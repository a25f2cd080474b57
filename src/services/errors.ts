/**
 * Typed errors of the services layer (transform, poetry, calculator) and of suite configuration.
 * Every one is a {@link WeftError} with a stable `code`; the line front-end sends that code on the
 * wire (`ERROR CODE MESSAGE`) and its client rebuilds the same class from it.
 */
import { WeftError } from "../core/errors.js";

/** No transform is registered under that name (`__proto__`, `toString`, … are unknown too). */
export class UnknownTransformError extends WeftError {
  /** The name that was asked for, when known (a remote error carries only its description). */
  readonly transformName: string | undefined;
  /** `message` is the description (a remote side constructs it from the wire description alone). */
  constructor(message: string, options?: { transformName?: string; cause?: unknown }) {
    super("ERR_UNKNOWN_TRANSFORM", message, options);
    this.transformName = options?.transformName;
  }

  /** The error for an unknown `name`. */
  static forName(name: string): UnknownTransformError {
    return new UnknownTransformError(`Unknown transform: ${JSON.stringify(name)}`, {
      transformName: name,
    });
  }
}

/** A registered transform threw, rejected, or returned something that is not a string. */
export class TransformFailedError extends WeftError {
  /** The transform that failed, when known. */
  readonly transformName: string | undefined;
  /** `message` is the description (a remote side constructs it from the wire description alone). */
  constructor(message: string, options?: { transformName?: string; cause?: unknown }) {
    super("ERR_TRANSFORM_FAILED", message, options);
    this.transformName = options?.transformName;
  }

  /** The error for transform `name` failing with `cause`. */
  static forName(name: string, cause: unknown): TransformFailedError {
    return new TransformFailedError(
      `Transform ${JSON.stringify(name)} failed: ${describe(cause)}`,
      {
        transformName: name,
        cause,
      },
    );
  }
}

/** A request could not be understood (line front-end: not `NAME SP TEXT`, or not UTF-8). */
export class BadRequestError extends WeftError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_BAD_REQUEST", message, options);
  }
}

/** The server closed the connection without sending a reply (netstring front-ends do that on errors). */
export class NoReplyError extends WeftError {
  constructor(
    message = "The server closed the connection without a reply.",
    options?: { cause?: unknown },
  ) {
    super("ERR_NO_REPLY", message, options);
  }
}

/** A reply did not follow the protocol (unexpected line, undecodable bytes, …). */
export class BadReplyError extends WeftError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_BAD_REPLY", message, options);
  }
}

/** The server answered with an error code this client does not know. */
export class RemoteServiceError extends WeftError {
  /** The code the server sent. */
  readonly remoteCode: string;
  constructor(remoteCode: string, message: string) {
    super("ERR_REMOTE", `${remoteCode}: ${message}`);
    this.remoteCode = remoteCode;
  }
}

/** No poem has that name. */
export class PoemNotFoundError extends WeftError {
  /** The name asked for, when known. */
  readonly poemName: string | undefined;
  /** `message` is the description (a remote side constructs it from the wire description alone). */
  constructor(message: string, options?: { poemName?: string }) {
    super("ERR_POEM_NOT_FOUND", message);
    this.poemName = options?.poemName;
  }

  /** The error for an unknown poem `name`. */
  static forName(name: string): PoemNotFoundError {
    return new PoemNotFoundError(`No poem named ${JSON.stringify(name)}`, { poemName: name });
  }
}

/** The poem was cut short: the connection ended before the whole poem (or its netstring) arrived. */
export class PoemIncompleteError extends WeftError {
  /** Bytes of the poem received before the connection ended. */
  readonly received: number;
  /** Bytes announced (netstring length), when known. */
  readonly expected: number | undefined;
  constructor(received: number, expected?: number, options?: { cause?: unknown }) {
    super(
      "ERR_POEM_INCOMPLETE",
      expected === undefined
        ? `Poem cut short after ${received} bytes.`
        : `Poem cut short: received ${received} of ${expected} bytes.`,
      options,
    );
    this.received = received;
    this.expected = expected;
  }
}

/** One problem of a suite configuration: where (a JSON path such as `config.services.poetry.listen[1].endpoint`) and what. */
export interface ConfigIssue {
  /** The JSON path of the offending value, from `config`. */
  readonly path: string;
  /** What is wrong with it (for example `"missing"`). */
  readonly message: string;
}

/**
 * A suite configuration (JSON config of `weft serve`) or a module it loads is invalid; the message
 * says where (`config.services.poetry.listen[1].endpoint: …`), one problem a line.
 */
export class ConfigError extends WeftError {
  /** The problems found, each with its JSON path (empty when the error is not about one place). */
  readonly issues: readonly ConfigIssue[];
  constructor(message: string, options?: { cause?: unknown; issues?: readonly ConfigIssue[] }) {
    super(
      "ERR_INVALID_CONFIG",
      message,
      options?.cause !== undefined ? { cause: options.cause } : {},
    );
    this.issues = options?.issues ?? [];
  }
}

function describe(cause: unknown): string {
  if (cause instanceof Error) return cause.message;
  return String(cause);
}
