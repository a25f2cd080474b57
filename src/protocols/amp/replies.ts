/**
 * What the AMP protocol answers with when a command fails (internal): the `_error_code`,
 * `_error_description` and fatality of an error (Twisted's `_safeEmit` / error-box rules).
 */
import { type AnyCommand, codeForError } from "./command.js";
import { BadLocalReturn, RemoteAmpError } from "./errors.js";

/** The fields of an `_error` box, or null for an undeclared error (answered `UNKNOWN`). */
export interface ErrorReply {
  code: Uint8Array;
  description: Uint8Array;
  /** The connection closes after this answer. */
  fatal: boolean;
}

const utf8Encoder = new TextEncoder();

function latin1Bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

/** `UNKNOWN` / `Unknown Error`, fatal: the answer to an error nobody declared. */
export const UNKNOWN_REPLY: Readonly<ErrorReply> = {
  code: latin1Bytes("UNKNOWN"),
  description: latin1Bytes("Unknown Error"),
  fatal: true,
};

/**
 * The answer to `err` raised by (or on the way to) `cmd`'s responder: a code the command declares
 * (fatal or not), a {@link RemoteAmpError}'s own code (e.g. `UNHANDLED`), or null (undeclared).
 */
export function errorReply(cmd: AnyCommand | null, err: unknown): ErrorReply | null {
  const declared = cmd === null ? null : codeForError(cmd, err);
  if (declared !== null) {
    const message = err instanceof Error ? err.message : String(err);
    return {
      code: latin1Bytes(declared.code),
      description: utf8Encoder.encode(message),
      fatal: declared.fatal,
    };
  }
  if (err instanceof RemoteAmpError) {
    return {
      code: latin1Bytes(err.errorCode),
      description: utf8Encoder.encode(err.description),
      fatal: err.fatal,
    };
  }
  return null;
}

/** The error for a responder result that cannot be sent (`err`: why it could not be encoded). */
export function badReturn(cmd: AnyCommand | null, value: unknown, err: unknown): BadLocalReturn {
  if (err instanceof BadLocalReturn) return err;
  const shown = value === undefined ? "undefined" : value === null ? "null" : typeof value;
  return new BadLocalReturn(
    `responder of ${cmd?.name ?? "?"} returned ${shown} and it could not be serialized: ${err instanceof Error ? err.message : String(err)}`,
    { cause: err },
  );
}

/** True for a Promise, a Deferred, or any other thenable. */
export function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    v !== null &&
    (typeof v === "object" || typeof v === "function") &&
    "then" in v &&
    typeof v.then === "function"
  );
}
