import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/core/errors.js";
import { TransformFailedError, UnknownTransformError } from "../../src/services/errors.js";
import { escapeLine, unescapeLine } from "../../src/services/transform/line-codec.js";
import { TransformService } from "../../src/services/transform/service.js";

describe("TransformService", () => {
  const service = new TransformService();

  it("has the built-in transforms", () => {
    expect(service.names()).toEqual(["cummingsify", "reverse", "rot13", "title", "upper"]);
    expect(service.apply("cummingsify", "Hello World")).toBe("hello world");
    expect(service.apply("upper", "straße")).toBe("STRASSE");
    expect(service.apply("title", "the tyger BURNING bright")).toBe("The Tyger Burning Bright");
    expect(service.apply("rot13", "Hello, World!")).toBe("Uryyb, Jbeyq!");
  });

  it("reverses by code point, keeping surrogate pairs whole", () => {
    expect(service.apply("reverse", "ab😀c")).toBe("c😀ba");
    expect(service.apply("reverse", "")).toBe("");
  });

  it("rot13 twice is the identity", () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(service.apply("rot13", service.apply("rot13", s) as string)).toBe(s);
      }),
      { numRuns: 100 },
    );
  });

  it.each(["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf", "nope", ""])(
    "%j is an unknown transform and invokes nothing",
    (name) => {
      let err: unknown;
      try {
        service.apply(name, "x");
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UnknownTransformError);
      expect((err as UnknownTransformError).code).toBe("ERR_UNKNOWN_TRANSFORM");
      expect((err as UnknownTransformError).transformName).toBe(name);
    },
  );

  it("registers user transforms, sync and async", async () => {
    const s = new TransformService({ builtins: false });
    expect(s.names()).toEqual([]);
    s.register("shout", (t) => `${t}!`);
    s.register("later", async (t) => `later ${t}`);
    expect(s.apply("shout", "hi")).toBe("hi!");
    const p = s.apply("later", "hi");
    expect(p).toBeInstanceOf(Promise);
    await expect(p).resolves.toBe("later hi");
    expect(s.unregister("shout")).toBe(true);
    expect(s.has("shout")).toBe(false);
  });

  it("rejects names the front-ends could not carry", () => {
    const s = new TransformService();
    for (const bad of ["", "a.b", "a b", "x".repeat(65), "é"]) {
      expect(() => s.register(bad, (t) => t)).toThrow(InvalidArgumentError);
    }
  });

  it("a transform that throws, rejects or returns a non-string is TransformFailedError", async () => {
    const s = new TransformService();
    s.register("boom", () => {
      throw new Error("kaput");
    });
    s.register("sour", () => Promise.reject(new Error("sour grapes")));
    s.register("num", () => 42 as unknown as string);
    expect(() => s.apply("boom", "x")).toThrow(TransformFailedError);
    try {
      s.apply("boom", "x");
    } catch (e) {
      expect((e as TransformFailedError).code).toBe("ERR_TRANSFORM_FAILED");
      expect((e as TransformFailedError).message).toContain("kaput");
      expect(((e as TransformFailedError).cause as Error).message).toBe("kaput");
    }
    await expect(s.apply("sour", "x")).rejects.toBeInstanceOf(TransformFailedError);
    expect(() => s.apply("num", "x")).toThrow(TransformFailedError);
    await expect(s.transform("nope", "x")).rejects.toBeInstanceOf(UnknownTransformError);
  });
});

describe("line escaping", () => {
  it("escapes backslash, CR and LF only", () => {
    expect(escapeLine("plain text")).toBe("plain text");
    expect(escapeLine("a\\b\r\nc")).toBe("a\\\\b\\r\\nc");
    expect(unescapeLine("a\\\\b\\r\\nc")).toBe("a\\b\r\nc");
    expect(unescapeLine("C:\\temp\\")).toBe("C:\\temp\\");
  });

  it("unescape(escape(s)) is s for every string", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom("a", "\\", "\r", "\n", "r", "n", "é") }),
        (s) => {
          const e = escapeLine(s);
          expect(e).not.toMatch(/[\r\n]/);
          expect(unescapeLine(e)).toBe(s);
        },
      ),
      { numRuns: 300 },
    );
  });
});
