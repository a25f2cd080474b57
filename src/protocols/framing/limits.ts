/** The one validation of a decoder's `maxLength` option. */
import { InvalidArgumentError } from "../../core/errors.js";

/** Largest `maxLength` any weft decoder accepts: lengths stay exact JavaScript integers. */
export const MAX_SAFE_LENGTH = Number.MAX_SAFE_INTEGER;

/**
 * @internal Validates a `maxLength` option (a non-negative safe integer, at most `limit`) and
 * returns it; throws {@link InvalidArgumentError} otherwise, naming the option as `what`.
 */
export function checkMaxLength(
  maxLength: number,
  limit = MAX_SAFE_LENGTH,
  what = "maxLength",
): number {
  if (!Number.isSafeInteger(maxLength) || maxLength < 0 || maxLength > limit) {
    throw new InvalidArgumentError(
      `${what} must be an integer between 0 and ${limit}, got ${String(maxLength)}`,
    );
  }
  return maxLength;
}
