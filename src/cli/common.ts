/** Helpers shared by the `weft` subcommands. */
import { InvalidArgumentError as CommanderInvalidArgument } from "commander";
import { clientFromString } from "../core/endpoints.js";
import { WeftError } from "../core/errors.js";
import type { Reactor } from "../core/reactor.js";
import type { ClientEndpointLike } from "../services/client.js";

/** Exit codes: 0 success, 1 the operation failed, 2 bad usage or configuration. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Where a command writes (injectable for tests). */
export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/**
 * A subcommand's reports: `weft NAME: …` lines on stderr, and the exit code (through `setExit`,
 * when the command sets it itself rather than returning it).
 */
export class CommandOutput {
  readonly #name: string;
  readonly #io: CliIO;
  readonly #setExit: (code: number) => void;

  constructor(name: string, io: CliIO, setExit: (code: number) => void = () => {}) {
    this.#name = name;
    this.#io = io;
    this.#setExit = setExit;
  }

  /** Writes `weft NAME: message` to stderr. */
  error(message: string): void {
    this.#io.stderr(`weft ${this.#name}: ${message}\n`);
  }

  /** Bad usage: writes `message` and sets exit code 2. */
  usage(message: string): void {
    this.error(message);
    this.#setExit(EXIT_USAGE);
  }

  /** Writes `err` (see {@link describeError}) and sets `code` (default 1, the operation failed). */
  failed(err: unknown, code: number = EXIT_FAILURE): void {
    this.error(describeError(err));
    this.#setExit(code);
  }
}

/** Whether `value` (an option as Commander parsed it) is one of `allowed`. */
export function isOneOf<T extends string>(value: string, allowed: readonly T[]): value is T {
  return (allowed as readonly string[]).includes(value);
}

/** The process's own stdout/stderr. */
export const processIO: CliIO = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};

/**
 * A client endpoint description from what a user typed: an endpoint string (`tcp:HOST:PORT`,
 * `unix:PATH`, `tls:HOST:PORT`…) as is, `HOST:PORT` → `tcp:HOST:PORT`, `PORT` → `tcp:127.0.0.1:PORT`.
 */
export function clientDescription(text: string): string {
  if (/^\d+$/.test(text)) return `tcp:127.0.0.1:${text}`;
  if (/^(tcp|tls|ssl|unix):/i.test(text)) return text;
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  if (m !== null) return `tcp:${(m[1] as string).replace(/:/g, "\\:")}:${m[2]}`;
  return text;
}

/** A client endpoint for `text` (see {@link clientDescription}); throws InvalidArgumentError. */
export function clientEndpoint(reactor: Reactor, text: string): ClientEndpointLike {
  return clientFromString(reactor, clientDescription(text));
}

/** A one-line description of an error for the terminal: `CODE: message`. */
export function describeError(err: unknown): string {
  if (err instanceof WeftError) {
    const sub = (err as { subFailure?: unknown }).subFailure;
    if (sub !== undefined) return describeError(sub);
    return `${err.code}: ${err.message}`;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Commander argument parser for a positive number of seconds. */
export function parseSeconds(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n <= 0)
    throw new CommanderInvalidArgument("must be a number of seconds > 0");
  return n;
}

/** Commander argument parser for an integer in [min, max]. */
export function intParser(min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^-?\d+$/.test(value.trim())) throw new CommanderInvalidArgument("must be an integer");
    const n = Number(value);
    if (n < min || n > max) throw new CommanderInvalidArgument(`must be between ${min} and ${max}`);
    return n;
  };
}
