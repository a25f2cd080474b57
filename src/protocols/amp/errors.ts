/**
 * AMP errors (Twisted's `twisted.protocols.amp` exception names). Every one is a {@link WeftError}
 * with a stable `code` starting with `ERR_AMP_`.
 */
import { WeftError } from "../../core/errors.js";

/** Base of every AMP error. */
export class AmpError extends WeftError {
  constructor(code = "ERR_AMP", message = "AMP error.", options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** Python `repr()` of a byte string, e.g. `b'k'` or `b'\xff'` (used in messages, as Twisted does). */
export function bytesRepr(bytes: Uint8Array | string): string {
  let body = "";
  let hasSingle = false;
  let hasDouble = false;
  const codes: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const c = typeof bytes === "string" ? bytes.charCodeAt(i) & 0xff : (bytes[i] as number);
    codes.push(c);
    if (c === 0x27) hasSingle = true;
    else if (c === 0x22) hasDouble = true;
  }
  const quote = hasSingle && !hasDouble ? '"' : "'";
  for (const c of codes) {
    if (c === 0x5c) body += "\\\\";
    else if (c === 0x27 && quote === "'") body += "\\'";
    else if (c === 0x09) body += "\\t";
    else if (c === 0x0a) body += "\\n";
    else if (c === 0x0d) body += "\\r";
    else if (c < 0x20 || c >= 0x7f) body += `\\x${c.toString(16).padStart(2, "0")}`;
    else body += String.fromCharCode(c);
  }
  return `b${quote}${body}${quote}`;
}

/**
 * One of AMP's length limits was violated (Twisted's `TooLong`): a key longer than 255 bytes or a value
 * longer than 65535 bytes while encoding (`isLocal`), or a key length prefix above 255 received from
 * the peer (`isKey && !isLocal`, `value` and `keyName` null). Code `ERR_AMP_TOO_LONG`.
 *
 * The message mirrors Twisted's repr: `local value b'hello' too long: 65536`, `remote key too long: 256`.
 */
export class TooLong extends AmpError {
  /** True when the over-long string is a key, false when it is a value. */
  readonly isKey: boolean;
  /** True when it was being encoded here; false when it was received from the peer. */
  readonly isLocal: boolean;
  /** The over-long string (key bytes or value), or null when received (never buffered). */
  readonly value: Uint8Array | null;
  /** For a value: the key it was to be encoded under (latin1 string); null for keys. */
  readonly keyName: string | null;
  /** Length in bytes of the over-long string (the received length prefix for a remote key). */
  readonly length: number;

  constructor(
    isKey: boolean,
    isLocal: boolean,
    value: Uint8Array | null,
    keyName: string | null = null,
    length: number = value?.length ?? 0,
  ) {
    const hdr = isKey ? "key" : `value ${keyName === null ? "None" : bytesRepr(keyName)}`;
    super("ERR_AMP_TOO_LONG", `${isLocal ? "local" : "remote"} ${hdr} too long: ${length}`);
    this.isKey = isKey;
    this.isLocal = isLocal;
    this.value = value;
    this.keyName = keyName;
    this.length = length;
  }
}

/**
 * A box exceeded one of the decoder's own limits (`maxBoxBytes`, `maxKeys`: weft's protection against
 * memory exhaustion; Twisted has none). Code `ERR_AMP_BOX_TOO_LARGE`.
 */
export class BoxTooLarge extends AmpError {
  /** Which limit: `"maxBoxBytes"` or `"maxKeys"`. */
  readonly limit: "maxBoxBytes" | "maxKeys";
  /** The configured value of that limit. */
  readonly max: number;

  constructor(limit: "maxBoxBytes" | "maxKeys", max: number) {
    super(
      "ERR_AMP_BOX_TOO_LARGE",
      limit === "maxKeys"
        ? `AMP box has more than ${max} keys.`
        : `AMP box is larger than ${max} bytes.`,
    );
    this.limit = limit;
    this.max = max;
  }
}

/** Escapes an error code's bytes the way Twisted does in `Code<…>`: bytes ≥ 0x80 as `\xNN`. */
function codeForMessage(code: string): string {
  let out = "";
  for (let i = 0; i < code.length; i++) {
    const c = code.charCodeAt(i);
    out += c >= 0x80 ? `\\x${c.toString(16).padStart(2, "0")}` : code[i];
  }
  return out;
}

/**
 * An error reported by the peer in an `_error` box (Twisted's `RemoteAmpError`). Message:
 * `Code<CODE>: description` (or `Code<CODE> (local): …` when `local` is given). Code `ERR_AMP_REMOTE`.
 */
export class RemoteAmpError extends AmpError {
  /** The AMP error code from `_error_code` (latin1 string: one char per byte). */
  readonly errorCode: string;
  /** The text from `_error_description`. */
  readonly description: string;
  /** True when this error ends the connection (a declared fatal error). */
  readonly fatal: boolean;
  /** The local error this remote error stands for, if any. */
  readonly local: Error | null;

  constructor(
    errorCode: string,
    description: string,
    fatal = false,
    local: Error | null = null,
    code = "ERR_AMP_REMOTE",
  ) {
    const localWhat = local === null ? "" : " (local)";
    const tail = local === null ? "" : `\n${local.stack ?? String(local)}`;
    super(code, `Code<${codeForMessage(errorCode)}>${localWhat}: ${description}${tail}`, {
      cause: local ?? undefined,
    });
    this.errorCode = errorCode;
    this.description = description;
    this.fatal = fatal;
    this.local = local;
  }
}

/** The peer answered with an error code this side does not know (`UNKNOWN` or undeclared). */
export class UnknownRemoteError extends RemoteAmpError {
  constructor(description: string, errorCode = "UNKNOWN") {
    super(errorCode, description, false, null, "ERR_AMP_UNKNOWN_REMOTE");
  }
}

/** The peer has no responder for the command (`_error_code` `UNHANDLED`). Code `ERR_AMP_UNHANDLED_COMMAND`. */
export class UnhandledCommand extends AmpError {
  /** The wire error code (`"UNHANDLED"`). */
  readonly errorCode: string;
  /** The peer's description (usually names the command). */
  readonly description: string;

  constructor(errorCode: string, description: string) {
    super("ERR_AMP_UNHANDLED_COMMAND", `Code<${codeForMessage(errorCode)}>: ${description}`);
    this.errorCode = errorCode;
    this.description = description;
  }
}

/** A box with no `_answer`, `_error` or `_command` was received (incl. the empty box). */
export class NoEmptyBoxes extends AmpError {
  constructor(message = "Received a box with no _answer, _error or _command key.") {
    super("ERR_AMP_NO_EMPTY_BOXES", message);
  }
}

/** The arguments given to a command do not match its signature (missing or unknown ones). */
export class InvalidSignature extends AmpError {
  constructor(message: string) {
    super("ERR_AMP_INVALID_SIGNATURE", message);
  }
}

/** A responder returned something that cannot be turned into a response box. */
export class BadLocalReturn extends AmpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_AMP_BAD_LOCAL_RETURN", message, options);
  }
}

/**
 * The bytes are not a well-formed AMP box: input ended inside a box, a box given to the encoder has an
 * empty key, a key that is not a latin1 byte string, or a value that is not a Uint8Array.
 * Code `ERR_AMP_MALFORMED_BOX`.
 */
export class MalformedAmpBox extends AmpError {
  constructor(message = "Malformed AMP box.", options?: { cause?: unknown }) {
    super("ERR_AMP_MALFORMED_BOX", message, options);
  }
}

/** A box was sent after the connection switched to another protocol. */
export class ProtocolSwitched extends AmpError {
  constructor(message = "This connection has switched: no AMP traffic allowed.") {
    super("ERR_AMP_PROTOCOL_SWITCHED", message);
  }
}

/**
 * A value cannot be encoded or decoded for its argument type (bad Integer text, invalid UTF-8, a
 * lone surrogate, `true` instead of `True`, a truncated list element, …). Code `ERR_AMP_ARGUMENT`.
 */
export class ArgumentError extends AmpError {
  /** The argument type's name, e.g. `"Integer"` or `"ListOf(Unicode)"`. */
  readonly typeName: string;
  /** Why: a short sentence. */
  readonly reason: string;

  constructor(typeName: string, reason: string, options?: { cause?: unknown }) {
    super("ERR_AMP_ARGUMENT", `${typeName}: ${reason}`, options);
    this.typeName = typeName;
    this.reason = reason;
  }
}

/** `callRemote` was used before the connection was made. Code `ERR_AMP_NOT_CONNECTED`. */
export class NotConnected extends AmpError {
  constructor() {
    super("ERR_AMP_NOT_CONNECTED", "AMP: callRemote before the connection was made.");
  }
}
