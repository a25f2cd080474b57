/** Jelly security: nothing is built that the SecurityOptions did not allow. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  BananaEncoder,
  type BananaItem,
  Copyable,
  decodeAll,
  InsecureJelly,
  Jellier,
  JellyError,
  jelly,
  jellyFlat,
  jellyScalar,
  PbFloat,
  pbSecurity,
  RemoteCopy,
  SecurityOptions,
  tuple,
  unjelly,
} from "../../../src/protocols/pb/index.js";

const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));

function wire(value: unknown): BananaItem {
  const e = new BananaEncoder();
  e.useVocabulary();
  return decodeAll(e.encode(jelly(value)))[0] as BananaItem;
}

class Point extends RemoteCopy {
  declare x: unknown;
  declare y: unknown;
  norm(): number {
    return Number(this.x) + Number(this.y);
  }
}

class SentPoint extends Copyable {
  static copyType = "geometry.Point";
  x = 1;
  y = 2;
}

describe("SecurityOptions", () => {
  it("refuses an unregistered class with Twisted's message", () => {
    const s = pbSecurity();
    expect(() => unjelly([b("__main__.Evil"), [b("dictionary")]], s)).toThrow(
      new InsecureJelly("Module __main__ not allowed (in type __main__.Evil)."),
    );
    expect(() => unjelly([b("module"), b("os")], s)).toThrow(InsecureJelly);
    expect(() => unjelly([b("function"), b("os.system")], s)).toThrow(InsecureJelly);
    expect(() => unjelly([b("class"), b("os.Thing")], s)).toThrow(InsecureJelly);
  });

  it("refuses basic types a bare SecurityOptions does not allow", () => {
    expect(() => unjelly(wire([1]), new SecurityOptions())).toThrow(InsecureJelly);
    expect(unjelly(wire([1]), new SecurityOptions().allowBasicTypes())).toEqual([1]);
  });

  it("builds registered copies, and a Copyable is sent under its type name", () => {
    const s = pbSecurity().setUnjellyableForClass("geometry.Point", Point);
    const p = unjelly(wire(new SentPoint()), s) as Point;
    expect(p).toBeInstanceOf(Point);
    expect(p.norm()).toBe(3);
  });

  it("keeps __proto__ and constructor dict keys as data", () => {
    const m = unjelly(
      wire(
        new Map<unknown, unknown>([
          ["__proto__", new Map([["polluted", true]])],
          ["constructor", 1],
        ]),
      ),
      pbSecurity(),
    ) as Map<unknown, unknown>;
    expect(m.get("constructor")).toBe(1);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
    expect(Object.getPrototypeOf(m)).toBe(Map.prototype);
  });

  it("refuses copied state that would overwrite a prototype member", () => {
    const s = pbSecurity().setUnjellyableForClass("geometry.Point", Point);
    for (const key of ["__proto__", "constructor", "norm", "toString", "setCopyableState"]) {
      const state = new Map<unknown, unknown>([[key, 1]]);
      expect(() => unjelly([b("geometry.Point"), wire(state)], s)).toThrow(InsecureJelly);
    }
    expect(({} as Record<string, unknown>)["x"]).toBeUndefined();
  });

  it("refuses references without a broker, and malformed references", () => {
    const s = pbSecurity();
    expect(() => unjelly([b("remote"), 1], s)).toThrow(InsecureJelly);
    expect(() => unjelly([b("dereference"), 9], s)).toThrow(JellyError);
    expect(() =>
      unjelly([b("list"), [b("reference"), 1, [b("list")]], [b("reference"), 1, [b("list")]]], s),
    ).toThrow(JellyError);
    expect(() => unjelly([b("boolean"), b("maybe")], s)).toThrow(JellyError);
    expect(() => unjelly([b("unicode"), new Uint8Array([0xff])], s)).toThrow(JellyError);
    expect(() => unjelly([b("dictionary"), [1]], s)).toThrow(JellyError);
    expect(() => unjelly([], s)).toThrow(JellyError);
  });

  it("refuses to jelly class instances that are not Copyable or Referenceable", () => {
    expect(() => jelly(new Date())).toThrow(JellyError);
    expect(() => jelly(() => 1)).toThrow(JellyError);
  });
});

/** Values weft can send, with Python's type distinctions. */
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc
      .bigInt({ min: -(2n ** 300n), max: 2n ** 300n })
      .filter((n) => n > 2n ** 53n || n < -(2n ** 53n)),
    fc.double().map((d) => new PbFloat(d)),
    fc.string(),
    fc.uint8Array({ maxLength: 20 }),
  ),
  node: fc.oneof(
    { depthSize: "small" },
    tie("leaf"),
    fc.array(tie("node"), { maxLength: 4 }),
    fc.array(tie("node"), { maxLength: 4 }).map((xs) => tuple(...xs)),
    fc
      .array(fc.tuple(fc.oneof(fc.string(), fc.integer()), tie("node")), { maxLength: 4 })
      .map((es) => new Map<unknown, unknown>(es)),
  ),
})).node;

describe("jelly round trip", () => {
  it("any value comes back equal, with the same bytes when sent again", () => {
    fc.assert(
      fc.property(value, (v) => {
        const e = new BananaEncoder();
        e.useVocabulary();
        const bytes = Buffer.from(e.encode(jelly(v)));
        const back = unjelly(decodeAll(bytes)[0] as BananaItem, pbSecurity());
        expect(back).toEqual(v);
        expect(Buffer.from(e.encode(jelly(back))).equals(bytes)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

describe("the flat fast path", () => {
  it("jellies scalars and flat tuples exactly as the Jellier does", () => {
    const scalar = fc.oneof(
      fc.constant(null),
      fc.constant(undefined),
      fc.boolean(),
      fc.integer(),
      fc.bigInt(),
      fc.double().map((d) => new PbFloat(d)),
      fc.string(),
      fc.uint8Array({ maxLength: 8 }),
    );
    fc.assert(
      fc.property(fc.array(scalar, { maxLength: 6 }), (xs) => {
        expect(jellyFlat(xs, "tuple")).toEqual(new Jellier().jelly(tuple(...xs)));
        expect(jellyFlat(xs, "list")).toEqual(new Jellier().jelly(xs));
        for (const x of xs) expect(jellyScalar(x)).toEqual(new Jellier().jelly(x));
      }),
      { numRuns: 200 },
    );
    expect(jellyFlat([[1]], "list")).toBeUndefined();
    expect(jellyScalar(new Map())).toBeUndefined();
  });
});
