/**
 * Typed AMP commands: a schema-first definition whose TypeScript types are inferred from the
 * argument types, responders, and a {@link CommandLocator} that many connections can share.
 *
 * This module is pure (no I/O): it turns structured values into box entries and back, following
 * Twisted's `Command.makeArguments` / `parseArguments` / `makeResponse` / `parseResponse`.
 */
import { concatBytes } from "../framing/bytes.js";
import type { Argument, ArgValue } from "./arguments.js";
import { type AmpBox, MAX_VALUE_LENGTH } from "./box.js";
import {
  ArgumentError,
  InvalidSignature,
  RemoteAmpError,
  UnhandledCommand,
  UnknownRemoteError,
} from "./errors.js";
import { decodeFailure } from "./internal.js";
import { compileSchema, encodeEntry } from "./schema.js";

/**
 * Any argument type, for schemas (`encode` is a method, so `Argument<number>` is assignable to
 * `Argument<unknown>`).
 */
export type AnyArgument = Argument<unknown>;

/** A command's argument or response schema: wire name → argument type. */
export type Schema = { readonly [wireName: string]: AnyArgument };

/** An error class a command declares: constructed with the remote description. */
export type ErrorClass = new (description: string) => Error;

/** Wire error code → error class. Codes are byte strings (latin1, one char per byte). */
export type ErrorTable = { readonly [code: string]: ErrorClass };

type IsOptionalArg<A> = undefined extends ArgValue<A> ? true : false;
type RequiredKeys<S extends Schema> = {
  [K in keyof S]: IsOptionalArg<S[K]> extends true ? never : K;
}[keyof S];
type OptionalKeys<S extends Schema> = {
  [K in keyof S]: IsOptionalArg<S[K]> extends true ? K : never;
}[keyof S];
type Simplify<T> = { [K in keyof T]: T[K] } & {};

/**
 * The structured values for a schema: one property per wire name; arguments wrapped in
 * `optional(...)` become optional properties.
 */
export type ValuesOf<S extends Schema> = Simplify<
  { [K in RequiredKeys<S>]: ArgValue<S[K]> } & { [K in OptionalKeys<S>]?: ArgValue<S[K]> }
>;

/** How the answer box is sent: `"box"` (default) or `"quit"` (answer, then close: Twisted's QuitBox). */
export type ResponseType = "box" | "quit";

/** A command definition (what {@link defineCommand} returns). */
export interface Command<
  A extends Schema = Schema,
  R extends Schema = Schema,
  RA extends boolean = boolean,
> {
  /** Wire name (`_command` value), kept exactly as given (case and `-` included). */
  readonly name: string;
  /** The arguments' schema: key → argument type. */
  readonly arguments: A;
  /** The response's schema: key → argument type. */
  readonly response: R;
  /** Declared errors: wire code → class. The connection stays open. */
  readonly errors: ErrorTable;
  /** Declared fatal errors: wire code → class. The error box is sent, then the connection closes. */
  readonly fatalErrors: ErrorTable;
  /** False: callers send no `_ask` and get `undefined`; the responder must still answer if asked. */
  readonly requiresAnswer: RA;
  /** How the answer box is sent: `"box"` or `"quit"` (answer, then close). */
  readonly responseType: ResponseType;
}

/** Any command, whatever its schema. */
export type AnyCommand = Command<Schema, Schema, boolean>;

/** The structured arguments `callRemote(cmd, args)` takes. */
export type ArgumentsOf<C extends AnyCommand> =
  C extends Command<infer A, Schema, boolean> ? ValuesOf<A> : never;

/** The structured response a responder returns and a caller receives. */
export type ResponseOf<C extends AnyCommand> =
  C extends Command<Schema, infer R, boolean> ? ValuesOf<R> : never;

/** What `callRemote(cmd, …)` resolves to: the response, or `undefined` when no answer is required. */
export type CallResultOf<C extends AnyCommand> =
  C extends Command<Schema, Schema, false> ? undefined : ResponseOf<C>;

/** The options of {@link defineCommand}. */
export interface CommandSpec<A extends Schema, R extends Schema, RA extends boolean> {
  /** Wire name, e.g. `"Sum"`; any bytes as latin1 text, case and `-` preserved. */
  name: string;
  /** Argument schema (default `{}`). */
  arguments?: A;
  /** Response schema (default `{}`). */
  response?: R;
  /** Declared errors: wire code → class (default none). */
  errors?: ErrorTable;
  /** Declared fatal errors: wire code → class (default none). */
  fatalErrors?: ErrorTable;
  /** Default `true`. */
  requiresAnswer?: RA;
  /** Default `"box"`; `"quit"` closes the connection after sending the answer. */
  responseType?: ResponseType;
}

/**
 * Define a command. The argument and response types are inferred from the schemas:
 *
 * ```ts
 * const Sum = defineCommand({
 *   name: "Sum",
 *   arguments: { a: Integer, b: Integer },
 *   response: { total: Integer },
 *   errors: { ZERO_DIVISION: ZeroDivisionError },
 * });
 * const { total } = await amp.callRemote(Sum, { a: 1, b: 2 }); // total: number | bigint
 * ```
 */
export function defineCommand<
  const A extends Schema = Record<never, never>,
  const R extends Schema = Record<never, never>,
  const RA extends boolean = true,
>(spec: CommandSpec<A, R, RA>): Command<A, R, RA> {
  if (typeof spec.name !== "string" || spec.name.length === 0) {
    throw new InvalidSignature("a command needs a non-empty name");
  }
  for (let i = 0; i < spec.name.length; i++) {
    if (spec.name.charCodeAt(i) > 0xff) {
      throw new InvalidSignature(
        `command name ${JSON.stringify(spec.name)} must be bytes (latin1 text)`,
      );
    }
  }
  const what = `command ${JSON.stringify(spec.name)}`;
  for (const [table, label] of [
    [spec.arguments, "argument"],
    [spec.response, "response key"],
    [spec.errors, "error code"],
    [spec.fatalErrors, "fatal error code"],
  ] as const) {
    for (const key of Object.keys(table ?? {})) {
      if (key.length === 0 || key.length > 255 || /[^\x00-\xff]/.test(key)) {
        throw new InvalidSignature(
          `${what}: ${label} ${JSON.stringify(key)} must be 1..255 bytes of latin1 text`,
        );
      }
    }
  }
  const cmd: Command<A, R, RA> = {
    name: spec.name,
    arguments: spec.arguments ?? ({} as A),
    response: spec.response ?? ({} as R),
    errors: spec.errors ?? {},
    fatalErrors: spec.fatalErrors ?? {},
    requiresAnswer: spec.requiresAnswer ?? (true as RA),
    responseType: spec.responseType ?? "box",
  };
  return Object.freeze(cmd);
}

// ---------------------------------------------------------------------------------------------
// Big values (a weft extension, off by default)

/** An argument marked for values over 64 KiB (see {@link bigValue}). */
export type BigArgument<T> = Argument<T> & {
  /** Marks the argument for big values. */
  readonly big: true;
};

/**
 * weft extension, not Twisted: lets this argument carry a value longer than 65,535 bytes by
 * splitting it the way the community "BigString" convention does: the first ≤ 65,535-byte chunk
 * under the argument's name, continuations under `name.2`, `name.3`, … (a Twisted peer still parses
 * them as ordinary keys). On receive, continuations are concatenated until a key is missing.
 * Both peers must agree on it.
 */
export function bigValue<T>(arg: Argument<T>): BigArgument<T> {
  return Object.freeze({
    name: arg.name,
    optional: arg.optional,
    big: true as const,
    encode: (value: T) => arg.encode(value),
    decode: (bytes: Uint8Array) => arg.decode(bytes),
  });
}

// ---------------------------------------------------------------------------------------------
// Structured values <-> box entries

/**
 * Checks `values` against `cmd`'s argument schema the way Twisted does: an unknown argument name throws
 * {@link InvalidSignature} synchronously; missing required arguments are *returned* as an
 * InvalidSignature (Twisted hands that one back as a failed Deferred). Null when the signature fits.
 */
export function checkArguments(
  cmd: AnyCommand,
  values: Readonly<Record<string, unknown>>,
): InvalidSignature | null {
  const schema = cmd.arguments as Schema;
  for (const key in values) {
    if (!Object.hasOwn(schema, key)) {
      throw new InvalidSignature(`${key} is not a valid argument of ${cmd.name}`);
    }
  }
  let forgotten: string[] | null = null;
  for (const name in schema) {
    const arg = schema[name] as AnyArgument;
    if (!arg.optional && values[name] === undefined) (forgotten ??= []).push(name);
  }
  return forgotten === null
    ? null
    : new InvalidSignature(`forgot ${forgotten.join(", ")} for ${cmd.name}`);
}

/**
 * Encodes `values` through `schema` into `box` (the out parameter, returned). Optional values that are
 * `undefined` are omitted. `allBig` applies the big-value split to every argument.
 * Throws {@link InvalidSignature} for a missing required value, {@link ArgumentError} for a value its
 * type cannot encode.
 */
export function objectsToBox(
  schema: Schema,
  values: Readonly<Record<string, unknown>>,
  box: AmpBox,
  allBig = false,
): AmpBox {
  const entries = compileSchema(schema).entries;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as (typeof entries)[number];
    const value = values[e.name];
    if (value === undefined) {
      if (e.arg.optional) continue;
      throw new InvalidSignature(`missing required value for ${e.name}`);
    }
    const bytes = encodeEntry(e, value);
    if (bytes.length > MAX_VALUE_LENGTH && (allBig || e.big)) splitBig(e.name, bytes, box);
    else box.set(e.name, bytes);
  }
  return box;
}

function splitBig(name: string, bytes: Uint8Array, box: AmpBox): void {
  box.set(name, bytes.subarray(0, MAX_VALUE_LENGTH));
  let n = 2;
  for (let at = MAX_VALUE_LENGTH; at < bytes.length; at += MAX_VALUE_LENGTH, n++) {
    box.set(`${name}.${n}`, bytes.subarray(at, Math.min(at + MAX_VALUE_LENGTH, bytes.length)));
  }
}

function joinBig(name: string, first: Uint8Array, box: AmpBox): Uint8Array {
  let next = box.get(`${name}.2`);
  if (next === undefined) return first;
  const parts = [first];
  let total = first.length;
  for (let n = 3; next !== undefined; n++) {
    parts.push(next);
    total += next.length;
    next = box.get(`${name}.${n}`);
  }
  return concatBytes(parts, total);
}

/**
 * Decodes the entries of `box` named in `schema` into structured values (extra keys ignored; absent
 * optional values left out). Throws {@link InvalidSignature} for a missing required key,
 * {@link ArgumentError} for a value its type cannot decode.
 */
export function boxToObjects(
  schema: Schema,
  box: AmpBox,
  allBig = false,
  what = "argument",
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const entries = compileSchema(schema).entries;
  for (let i = 0; i < entries.length; i++) {
    const { name, arg, big } = entries[i] as (typeof entries)[number];
    let bytes = box.get(name);
    if (bytes === undefined) {
      if (arg.optional) continue;
      throw new InvalidSignature(`missing required ${what} ${name}`);
    }
    if (allBig || big) bytes = joinBig(name, bytes, box);
    try {
      out[name] = arg.decode(bytes);
    } catch (err) {
      throw decodeFailure(arg, name, err, what);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Errors: code <-> class

/**
 * Finds the wire code under which `cmd` declares `error` (an `instanceof` match, errors first then
 * fatal errors). Returns null for an undeclared error.
 */
export function codeForError(
  cmd: AnyCommand,
  error: unknown,
): { code: string; fatal: boolean } | null {
  for (const code in cmd.errors) {
    if (error instanceof (cmd.errors[code] as ErrorClass)) return { code, fatal: false };
  }
  for (const code in cmd.fatalErrors) {
    if (error instanceof (cmd.fatalErrors[code] as ErrorClass)) return { code, fatal: true };
  }
  return null;
}

/**
 * Rebuilds the error a caller sees for an `_error` box: `UNHANDLED` → {@link UnhandledCommand}; a
 * code the command declares → that class, constructed with the description; anything else →
 * {@link UnknownRemoteError}.
 */
export function errorForCode(cmd: AnyCommand | null, code: string, description: string): Error {
  if (code === "UNHANDLED") return new UnhandledCommand(code, description);
  if (cmd === null) return new RemoteAmpError(code, description);
  const cls = Object.hasOwn(cmd.errors, code)
    ? cmd.errors[code]
    : Object.hasOwn(cmd.fatalErrors, code)
      ? cmd.fatalErrors[code]
      : undefined;
  if (cls === undefined) return new UnknownRemoteError(description);
  try {
    return new cls(description);
  } catch (err) {
    // A declared class whose constructor throws: report the remote error as it came.
    return new RemoteAmpError(code, description, false, err instanceof Error ? err : null);
  }
}

// ---------------------------------------------------------------------------------------------
// Responders and the locator

/** What a responder may return: the response, or a Promise/Deferred (any thenable) of it. */
export type ResponderResult<C extends AnyCommand> = ResponseOf<C> | PromiseLike<ResponseOf<C>>;

/**
 * A function answering a command. `context` is the protocol instance the call arrived on (typed
 * loosely here to keep this module free of the protocol).
 */
export type ResponderFn<C extends AnyCommand, Ctx = unknown> = (
  args: ArgumentsOf<C>,
  context: Ctx,
) => ResponderResult<C>;

/** A low-level responder: gets the raw box (values valid during the call only), returns a box. */
export type RawResponderFn<Ctx = unknown> = (
  box: AmpBox,
  context: Ctx,
) => AmpBox | PromiseLike<AmpBox>;

/** A located responder: typed (`command` set) or raw (`command` null). */
export interface LocatedResponder {
  /** The command a typed responder answers, or null for a raw one. */
  readonly command: AnyCommand | null;
  /** The responder: called with the decoded arguments (or the raw box) and the context. */
  readonly fn: (args: never, context: never) => unknown;
}

/**
 * A table of responders by command name (Twisted's `CommandLocator`), to share between many
 * protocols: a server factory passes one locator to every connection. Names match exactly
 * (case-sensitive). Subclass and override {@link CommandLocator.locateResponder} for a fallback.
 */
export class CommandLocator<Ctx = unknown> {
  readonly #responders = new Map<string, LocatedResponder>();

  /** Registers `fn` as the responder of `cmd` (replacing any previous one). Returns `this`. */
  responder<C extends AnyCommand>(cmd: C, fn: ResponderFn<C, Ctx>): this {
    this.#responders.set(cmd.name, { command: cmd, fn: fn as LocatedResponder["fn"] });
    return this;
  }

  /** Registers a low-level responder for the command `name`, which sees and returns raw boxes. */
  rawResponder(name: string, fn: RawResponderFn<Ctx>): this {
    this.#responders.set(name, { command: null, fn: fn as LocatedResponder["fn"] });
    return this;
  }

  /** The responder for a command name, or undefined (→ `UNHANDLED`). */
  locateResponder(name: string): LocatedResponder | undefined {
    return this.#responders.get(name);
  }

  /** The names with a registered responder. */
  commandNames(): string[] {
    return [...this.#responders.keys()];
  }
}
