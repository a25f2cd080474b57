/**
 * The AMP box codec and argument types against the real Twisted (22.4, /usr/bin/python3): the same
 * generated boxes and values are encoded by both and must give identical bytes; each side decodes
 * the other's bytes; and generated texts are decoded by both (Integer, Float, Decimal, Bool,
 * DateTime), which must accept and refuse the same ones with the same values. If Twisted is missing
 * this test FAILS (never skips).
 */
import { spawnSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type AmpDateTime,
  type AmpDecimal,
  AmpList,
  type Argument,
  Bool,
  Bytes,
  DateTime,
  Decimal,
  Float,
  Integer,
  ListOf,
  pythonFloatRepr,
  Unicode,
} from "../../src/protocols/amp/arguments.js";
import { type AmpBox, decodeBoxes, encodeBox } from "../../src/protocols/amp/box.js";
import {
  ampBox,
  ampDateTimeValue,
  ampDecimalValue,
  ampFloatValue,
  ampIntegerValue,
  ampUnicodeValue,
} from "../../src/testing/amp-arbitraries.js";
import { interopScript, PYTHON, requireTwisted } from "../helpers/twisted.js";

const SEED = 20261123;

const hex = (u: Uint8Array): string => Buffer.from(u).toString("hex");
const keyHex = (k: string): string => Buffer.from(k, "latin1").toString("hex");
const sortedPairs = (bx: AmpBox): [string, string][] =>
  [...bx]
    .map(([k, v]) => [keyHex(k), hex(v)] as [string, string])
    .sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));

function sample<T>(arb: fc.Arbitrary<T>, n: number): T[] {
  return fc.sample(arb, { numRuns: n, seed: SEED });
}

interface ArgCase {
  type: string;
  arg: Argument<unknown>;
  value: unknown;
  json: unknown;
}

function argCases(): ArgCase[] {
  const cases: ArgCase[] = [];
  const add = <T>(type: string, arg: Argument<T>, values: T[], json: (v: T) => unknown) => {
    for (const value of values)
      cases.push({ type, arg: arg as Argument<unknown>, value, json: json(value) });
  };
  const bits = (x: number): string => {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(x);
    return b.toString("hex");
  };
  add("Integer", Integer, sample(ampIntegerValue(), 60), String);
  add("Bytes", Bytes, sample(fc.uint8Array({ maxLength: 40 }), 30), hex);
  add("Unicode", Unicode, sample(ampUnicodeValue(), 60), (s) => s);
  add("Bool", Bool, [true, false], (b) => b);
  add("Float", Float, sample(ampFloatValue(), 200), bits);
  add("Decimal", Decimal, sample(ampDecimalValue(), 100), String);
  add("DateTime", DateTime, sample(ampDateTimeValue(), 60), (d: AmpDateTime) => [
    d.year,
    d.month,
    d.day,
    d.hour,
    d.minute,
    d.second,
    d.microsecond,
    d.offsetMinutes,
  ]);
  add(
    "ListOf(Integer)",
    ListOf(Integer),
    sample(fc.array(ampIntegerValue(), { maxLength: 6 }), 30),
    (a) => a.map(String),
  );
  add(
    "ListOf(Unicode)",
    ListOf(Unicode),
    sample(fc.array(ampUnicodeValue(), { maxLength: 6 }), 30),
    (a) => a,
  );
  add(
    "ListOf(Decimal)",
    ListOf(Decimal),
    sample(fc.array(ampDecimalValue(), { maxLength: 6 }), 30),
    (a) => a.map(String),
  );
  const list = AmpList({ a: Integer, b: Unicode });
  add(
    "AmpList",
    list,
    sample(
      fc.array(fc.record({ a: ampIntegerValue(), b: ampUnicodeValue() }), { maxLength: 4 }),
      30,
    ),
    (a) => a.map((e) => ({ a: String(e.a), b: e.b })),
  );
  return cases;
}

/** Texts near each type's grammar, for the decode differential. */
function parseCases(): { type: string; text: string }[] {
  const from = (chars: string, maxLength: number) =>
    fc.array(fc.constantFrom(...chars.split("")), { maxLength }).map((a) => a.join(""));
  const numeric = from("0123456789_.+-eE \t\n\x0b\x0c\r\x1cx", 8);
  const words = from("infINFatyANsS0123456789+-_ ", 10);
  const digit = fc.constantFrom(..."0123456789".split(""));
  const dt = fc
    .tuple(
      fc.array(digit, { minLength: 20, maxLength: 20 }),
      fc.constantFrom("+", "-"),
      fc.integer({ min: 0, max: 5 }),
      digit,
    )
    .map(([d, sign, m1, m2]) => {
      const s = d.join("");
      return `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T${s.slice(8, 10)}:${s.slice(10, 12)}:${s.slice(12, 14)}.${s.slice(14, 20)}${sign}0${m2}:${m1}${m2}`;
    });
  const out: { type: string; text: string }[] = [];
  for (const type of ["Integer", "Float", "Decimal"]) {
    for (const text of [...sample(numeric, 300), ...sample(words, 150)]) out.push({ type, text });
  }
  for (const text of ["True", "False", "true", "TRUE", "ninja", "", "True ", "1"])
    out.push({ type: "Bool", text });
  for (const text of sample(dt, 100)) out.push({ type: "DateTime", text });
  out.push({ type: "DateTime", text: "2010-12-25T00:00:00.000000+00:00" });
  return out;
}

const PARSERS: Record<string, Argument<unknown>> = { Integer, Float, Decimal, Bool, DateTime };

/** weft's canonical text of a decoded value, as the Python script spells Twisted's. */
function weftCanonical(type: string, text: string): string | null {
  let v: unknown;
  try {
    v = PARSERS[type]!.decode(Buffer.from(text, "latin1"));
  } catch {
    return null;
  }
  if (type === "Float") return pythonFloatRepr(v as number);
  if (type === "Bool") return v ? "True" : "False";
  return String(v as number | bigint | AmpDecimal | AmpDateTime);
}

describe("AMP codec interop with Twisted", () => {
  it("encodes, decodes and accepts exactly as Twisted 22.4 does", () => {
    requireTwisted("AMP codec interop");

    const boxes = [
      ...sample(ampBox({ maxKeys: 8, maxValueLength: 300 }), 300),
      new Map([["k", new Uint8Array(65535).fill(7)]]),
    ];
    const args = argCases();
    const parse = parseCases();
    const request = {
      boxes: boxes.map((bx) => ({
        pairs: [...bx].map(([k, v]) => [keyHex(k), hex(v)]),
        wire: hex(encodeBox(bx)),
      })),
      args: args.map((c) => ({ type: c.type, value: c.json, wire: hex(c.arg.encode(c.value)) })),
      parse,
    };
    const r = spawnSync(PYTHON, [interopScript("amp_codec_check.py")], {
      input: JSON.stringify(request),
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
      timeout: 120_000,
    });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const reply = JSON.parse(r.stdout) as {
      boxes: { wire: string; parsed: [string, string][][] }[];
      args: { wire: string; again: string }[];
      parse: (string | null)[];
    };

    boxes.forEach((bx, i) => {
      const tw = reply.boxes[i]!;
      expect(request.boxes[i]!.wire, `box ${i}: bytes`).toBe(tw.wire);
      expect(tw.parsed, `box ${i}: Twisted parses weft's bytes`).toEqual([sortedPairs(bx)]);
      expect(
        decodeBoxes(Buffer.from(tw.wire, "hex")).map(sortedPairs),
        `box ${i}: weft parses Twisted's`,
      ).toEqual([sortedPairs(bx)]);
    });

    args.forEach((c, i) => {
      const tw = reply.args[i]!;
      const label = `${c.type} ${JSON.stringify(c.json)}`;
      expect(request.args[i]!.wire, `${label}: bytes`).toBe(tw.wire);
      expect(tw.again, `${label}: Twisted decodes weft's bytes to the same value`).toBe(tw.wire);
      expect(
        hex(c.arg.encode(c.arg.decode(Buffer.from(tw.wire, "hex")))),
        `${label}: weft decodes Twisted's`,
      ).toBe(tw.wire);
    });

    parse.forEach((p, i) => {
      expect(weftCanonical(p.type, p.text), `${p.type} ${JSON.stringify(p.text)}`).toBe(
        reply.parse[i],
      );
    });
  }, 120_000);
});
