/**
 * AMP command definitions shared by examples/amp-server.ts, examples/amp-client.ts, the interop tests
 * and the calls benchmark. The Python mirror is test/interop/amp_defs.py.
 */
import { WeftError } from "../src/core/errors.js";
import { Float, Integer, Unicode } from "../src/protocols/amp/arguments.js";
import { CommandLocator, defineCommand } from "../src/protocols/amp/command.js";
import type { AMP } from "../src/protocols/amp/protocol.js";

/** Division by zero, declared by {@link Divide} as `ZERO_DIVISION` (Python's ZeroDivisionError). */
export class ZeroDivisionError extends WeftError {
  constructor(description = "division by zero") {
    super("ERR_ZERO_DIVISION", description);
  }
}

/** A transform name that is not in the registry, declared by {@link Transform} as `UNKNOWN_TRANSFORM`. */
export class UnknownTransform extends WeftError {
  constructor(description: string) {
    super("ERR_UNKNOWN_TRANSFORM", description);
  }
}

/** Sum(a: Integer, b: Integer) → total: Integer. */
export const Sum = defineCommand({
  name: "Sum",
  arguments: { a: Integer, b: Integer },
  response: { total: Integer },
});

/** Divide(numerator: Integer, denominator: Integer) → result: Float; ZERO_DIVISION. */
export const Divide = defineCommand({
  name: "Divide",
  arguments: { numerator: Integer, denominator: Integer },
  response: { result: Float },
  errors: { ZERO_DIVISION: ZeroDivisionError },
});

/** Echo(text: Unicode) → text: Unicode. */
export const Echo = defineCommand({
  name: "Echo",
  arguments: { text: Unicode },
  response: { text: Unicode },
});

/** Transform(name: Unicode, text: Unicode) → text: Unicode; UNKNOWN_TRANSFORM. */
export const Transform = defineCommand({
  name: "Transform",
  arguments: { name: Unicode, text: Unicode },
  response: { text: Unicode },
  errors: { UNKNOWN_TRANSFORM: UnknownTransform },
});

/** The named transforms, looked up in this explicit table (never as object properties). */
export const TRANSFORMS: ReadonlyMap<string, (text: string) => string> = new Map([
  ["cummingsify", (text: string) => text.toLowerCase()],
  ["reverse", (text: string) => Array.from(text).reverse().join("")],
]);

/** Adds two integers exactly (numbers stay numbers while the sum is a safe integer). */
export function addIntegers(a: number | bigint, b: number | bigint): number | bigint {
  if (typeof a === "number" && typeof b === "number") {
    const sum = a + b;
    if (Number.isSafeInteger(sum)) return sum;
  }
  return BigInt(a) + BigInt(b);
}

/** Divides like Python's `/` on ints: a float, ZeroDivisionError for a zero denominator. */
export function divide(numerator: number | bigint, denominator: number | bigint): number {
  if (denominator === 0 || denominator === 0n) throw new ZeroDivisionError("division by zero");
  return Number(numerator) / Number(denominator);
}

/** One locator with the responders of every example command, shared by all server connections. */
export function calculatorLocator(): CommandLocator<AMP> {
  return new CommandLocator<AMP>()
    .responder(Sum, ({ a, b }) => ({ total: addIntegers(a, b) }))
    .responder(Divide, ({ numerator, denominator }) => ({ result: divide(numerator, denominator) }))
    .responder(Echo, ({ text }) => ({ text }))
    .responder(Transform, ({ name, text }) => {
      const fn = TRANSFORMS.get(name);
      if (fn === undefined) throw new UnknownTransform(`no such transform: ${name}`);
      return { text: fn(text) };
    });
}
