/**
 * Fibonacci over AMP (default port 8891): `Next(acceptBig?: Boolean) → position: Integer,
 * number: Digits`.
 *
 * `number` is the decimal digits of the number (AMP's `Integer` stops at 4,300 digits, Python's
 * limit, reached near position 20,500). One AMP value holds at most 65,535 bytes, reached near
 * position 313,000. Past that, the server answers with weft's big-value extension (`number`,
 * `number.2`, `number.3`, … — the "BigString" convention) **only when the caller sent
 * `acceptBig: true`**; otherwise it fails the call with the declared error `NUMBER_TOO_LARGE`
 * (`FibonacciNumberTooLargeError`), so a peer that does not join continuations (a plain Twisted
 * `String()` reader) never sees a truncated number. The position of a refused number is skipped.
 */
import { WeftError } from "../../core/errors.js";
import { type Argument, Bool, Integer, optional } from "../../protocols/amp/arguments.js";
import { bigValue, CommandLocator, defineCommand } from "../../protocols/amp/command.js";
import { ArgumentError } from "../../protocols/amp/errors.js";
import type { AMP } from "../../protocols/amp/protocol.js";
import { ServiceAMPFactory } from "../amp-base.js";
import type { FrontEndOptions } from "../log.js";
import type { FibonacciService } from "./service.js";

/** Bytes one AMP value holds. */
export const AMP_VALUE_LIMIT = 65_535;

/** A non-negative integer of any size as its decimal digits (no 4,300-digit limit). */
export const Digits: Argument<bigint> = {
  optional: false,
  name: "Digits",
  encode(value: bigint): Uint8Array {
    if (typeof value !== "bigint" || value < 0n)
      throw new ArgumentError("Digits", "expected a non-negative bigint.");
    return Buffer.from(value.toString(), "latin1");
  },
  decode(bytes: Uint8Array): bigint {
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
    if (!/^[0-9]+$/.test(text)) throw new ArgumentError("Digits", "expected decimal digits.");
    return BigInt(text);
  },
};

/** The number has more than 65,535 digits and the caller did not send `acceptBig: true`. */
export class FibonacciNumberTooLargeError extends WeftError {
  constructor(message = "The number does not fit one AMP value; call Next with acceptBig: true.") {
    super("ERR_FIBONACCI_TOO_LARGE", message);
  }
}

/** `Next(acceptBig?) → position, number`. */
export const Next = defineCommand({
  name: "Next",
  arguments: {
    /** Accept a number over 65,535 digits split with the big-value extension. Default false. */
    acceptBig: optional(Bool),
  },
  response: {
    /** The number's position in the sequence (0 is the first number, 2). */
    position: Integer,
    /** The number (decimal digits; split past 65,535 of them, see the module comment). */
    number: bigValue(Digits),
  },
  errors: { NUMBER_TOO_LARGE: FibonacciNumberTooLargeError },
});

/** A locator answering `Next` from `service`. */
export function fibonacciLocator(service: FibonacciService): CommandLocator<AMP> {
  return new CommandLocator<AMP>().responder(Next, async ({ acceptBig }) => {
    const n = await service.next();
    // ~0.209 digits per position: only numbers near the limit need their length measured.
    if (acceptBig !== true && n.position > 300_000n && n.value.toString().length > AMP_VALUE_LIMIT)
      throw new FibonacciNumberTooLargeError(
        `The number at position ${n.position} has more than ${AMP_VALUE_LIMIT} digits; call Next with acceptBig: true.`,
      );
    return { position: n.position, number: n.value };
  });
}

/** Serves a {@link FibonacciService} over AMP. */
export class FibonacciAMPFactory extends ServiceAMPFactory {
  constructor(service: FibonacciService, options: FrontEndOptions = {}) {
    super("fibonacci", fibonacciLocator(service), options);
  }
}
