/** `formatDescription` and `quoteStringArgument` write what `parseDescription` reads back. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  formatDescription,
  parseDescription,
  quoteStringArgument,
} from "../../src/core/endpoints.js";

/** Strings rich in the characters the grammar gives meaning to. */
const text = fc.string({ unit: fc.constantFrom("a", "1", ":", "=", "\\", " ", "é"), maxLength: 8 });

describe("endpoint description quoting", () => {
  it("parseDescription(formatDescription(p)) equals p", () => {
    fc.assert(
      fc.property(
        fc.array(text, { minLength: 1, maxLength: 4 }),
        fc.uniqueArray(fc.tuple(text, text), { maxLength: 4, selector: ([k]) => k }),
        (args, kwargs) => {
          const parsed = { args, kwargs: new Map(kwargs) };
          expect(parseDescription(formatDescription(parsed))).toEqual(parsed);
        },
      ),
    );
  });

  it("a quoted value is one literal keyword value, as Twisted's quoteStringArgument", () => {
    fc.assert(
      fc.property(text, (value) => {
        const parsed = parseDescription(`tcp:80:interface=${quoteStringArgument(value)}`);
        expect(parsed.args).toEqual(["tcp", "80"]);
        expect(parsed.kwargs.get("interface")).toBe(value);
      }),
    );
    expect(quoteStringArgument("::1")).toBe("\\:\\:1");
    expect(quoteStringArgument("a\\b=c")).toBe("a\\\\b=c");
  });
});
