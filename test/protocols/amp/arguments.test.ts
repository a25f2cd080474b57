import { describe, expect, expectTypeOf, it } from "vitest";
import {
  AmpDateTime,
  AmpDecimal,
  AmpList,
  type Argument,
  type ArgValue,
  Bool,
  Bytes,
  DateTime,
  Decimal,
  Float,
  Integer,
  ListOf,
  optional,
  pythonFloatRepr,
  type SchemaValues,
  Unicode,
} from "../../../src/protocols/amp/arguments.js";
import { ArgumentError } from "../../../src/protocols/amp/errors.js";

/** Hand-written wire bytes: numbers are single bytes, strings are their latin1 bytes. */
function b(...parts: (number | string)[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === "number") out.push(p);
    else for (let i = 0; i < p.length; i++) out.push(p.charCodeAt(i));
  }
  return Uint8Array.from(out);
}
const text = (bytes: Uint8Array): string => String.fromCharCode(...bytes);
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

function expectArgumentError(fn: () => unknown, typeName: string, reason?: RegExp): ArgumentError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ArgumentError);
  const e = err as ArgumentError;
  expect(e.code).toBe("ERR_AMP_ARGUMENT");
  expect(e.typeName).toBe(typeName);
  if (reason) expect(e.reason).toMatch(reason);
  return e;
}

/** Python `repr(float)` for doubles given by their IEEE-754 bits; generated once by /usr/bin/python3. */
const FLOAT_REPRS: [string, string][] = [
  ["3ff0000000000000", "1.0"],
  ["3fb999999999999a", "0.1"],
  ["4004000000000000", "2.5"],
  ["54b249ad2594c37d", "1e+100"],
  ["3ee4f8b588e368f1", "1e-05"],
  ["437b69b4ba630f35", "1.2345678901234568e+17"],
  ["8000000000000000", "-0.0"],
  ["0000000000000000", "0.0"],
  ["7ff8000000000000", "nan"],
  ["7ff0000000000000", "inf"],
  ["fff0000000000000", "-inf"],
  ["4341c37937e08000", "1e+16"],
  ["430c6bf526340000", "1000000000000000.0"],
  ["4341c37937e07fff", "9999999999999998.0"],
  ["3f1a36e2eb1c432d", "0.0001"],
  ["3f202c9dedbc309d", "0.0001234"],
  ["3e7ad7f29abcaf48", "1e-07"],
  ["4415af1d78b58c40", "1e+20"],
  ["444b1ae4d6e2ef50", "1e+21"],
  ["4480f0cf064dd592", "1e+22"],
  ["437b69b4ba630f35", "1.2345678901234568e+17"],
  ["0000000000000001", "5e-324"],
  ["7fefffffffffffff", "1.7976931348623157e+308"],
  ["0010000000000000", "2.2250738585072014e-308"],
  ["3fd5555555555555", "0.3333333333333333"],
  ["4327af4c4a80aaaa", "3333333333333333.0"],
  ["4059000000000000", "100.0"],
  ["3ff8000000000000", "1.5"],
  ["bff8000000000000", "-1.5"],
  ["40c81cd6c8b43958", "12345.678"],
  ["3f0a36e2eb1c432d", "5e-05"],
  ["4011666666666666", "4.35"],
  ["4340000000000000", "9007199254740992.0"],
  ["4340000000000001", "9007199254740994.0"],
  ["80000000000007e8", "-1e-320"],
  ["44b52d02c7e14af6", "1e+23"],
  ["447c7e83209e90b2", "8.41e+21"],
  ["4340000000000000", "9007199254740992.0"],
  ["f2a74de452e6b438", "-1.989032661366619e+244"],
  ["6513270e269e0d37", "7.761117632285041e+178"],
  ["0c5c7fd0a6a3a450", "3.980498358697587e-249"],
  ["d23f0824128b2f33", "-1.5432835417340557e+88"],
  ["1818e811892f902b", "1.3647584518757569e-192"],
  ["9531985d5d9dc9f8", "-1.3701135617873088e-206"],
  ["e8e25d940ed90475", "-1.7160537630466207e+197"],
  ["36f675cc81e74ef5", "6.294675241195386e-44"],
  ["1600a35a099950d8", "1.0613447212142254e-202"],
  ["6b0d549b6f03675a", "4.708325160387546e+207"],
  ["3d9c172411e20b8f", "6.387016158513563e-12"],
  ["8d116ece1738f7d9", "-9.973130378568733e-246"],
  ["0f21ddb66cad4a26", "8.779753225680271e-236"],
  ["90c192cfd3ac94af", "-5.795503248498993e-228"],
  ["f28c105d1fb17c23", "-5.988180159386011e+243"],
  ["a170b33839263059", "-1.306052388527796e-147"],
  ["953f48f1a09f76b5", "-2.436117699484841e-206"],
  ["0fd630f1f29d0da9", "2.233386999150174e-232"],
  ["95e60af593bd04cf", "-3.51527970626667e-203"],
  ["0cb1e29c658cda14", "1.5987381841032883e-247"],
  ["3898d190f9ebdacc", "4.6678633181812096e-36"],
  ["8e81973e0becd7b0", "-8.441872792105456e-239"],
  ["2217beaddbc496cb", "1.9015657400796622e-144"],
  ["6b4cb2424a23d596", "7.370437700706684e+208"],
  ["8a6a63ec24ede6a4", "-1.7163996725272777e-258"],
  ["922766581e27a1c0", "-3.2367190832119987e-221"],
  ["8f6d05584ef8aa38", "-2.2818334634712625e-234"],
  ["ae97ba94d0eda82f", "-3.0536383926309363e-84"],
  ["1a61dbe22e44158b", "1.3449551894627777e-181"],
  ["923a736994e3bf91", "-7.317495976062606e-221"],
  ["301850c5a38fd547", "5.249822308814304e-77"],
  ["18f135d25f557203", "1.5450754142984396e-188"],
  ["b64ce4228c38fb29", "-3.953625698224792e-47"],
  ["907a70c31012f037", "-2.72491267476498e-229"],
  ["9e7769b10f4205b4", "-6.505141861548772e-162"],
  ["7f15052434b9b5df", "1.441484839555994e+304"],
  ["881ed162ae2eb154", "-1.4583679262758548e-269"],
  ["c6f877186d76b07e", "-7.939416668807721e+33"],
  ["7731af10506bf2ef", "1.4255183989699612e+266"],
  ["ec66a78795e761d1", "-1.525315701232403e+214"],
  ["c0f6dbf3f4c54698", "-93631.24725844932"],
  ["bcccfd61ee484345", "-8.046279075043935e-16"],
  ["c1238ba5006d46c9", "-640466.5008337136"],
  ["3ab93b38e8b35fe7", "8.152684721884969e-26"],
  ["c11862370d37f382", "-399501.7629087494"],
  ["c49b4c98db19ef7b", "-3.222921550322809e+22"],
  ["411c022a50c58230", "458890.5788784353"],
  ["c14a4df855eda2bc", "-3447792.6713145655"],
  ["c12a0cbc87b8a71d", "-853598.265080664"],
  ["bbc2a858d8ec3ce4", "-7.901803373679078e-21"],
  ["c11347c18cfc0f78", "-315888.3876802842"],
  ["bef5037d93455eef", "-2.0040163876216174e-05"],
  ["412c330c5569fbee", "924038.1668242195"],
  ["433a9882d3b996ce", "7486037059802830.0"],
  ["4101d41f0b604c58", "146051.88055476802"],
  ["bdf18e4b6d758818", "-2.5547107264648264e-10"],
  ["c11249ece5f37e20", "-299643.22456166334"],
  ["c0ee5d99f7b88ce6", "-62188.81148936767"],
  ["c0f5625565fa9438", "-87589.33739717386"],
  ["4578cb419d889495", "4.795851273059945e+26"],
  ["c0e94b6a67b76f80", "-51803.32516071107"],
  ["3a759f9b4d4a43dc", "4.366823671370221e-27"],
  ["411898a02ba1a760", "402984.04260884784"],
  ["bd40c140d3cd42f2", "-1.1905069241088893e-13"],
  ["c10be208ebbcff6c", "-228417.11510657833"],
  ["b9fca08087ddfb3d", "-2.258269054434801e-29"],
  ["c0f2b416d6a1df98", "-76609.42740046827"],
  ["41513e68ec0860af", "4520355.688011332"],
  ["c0c8a30164b6b2c0", "-12614.01088603714"],
  ["43460e1ca9b6eba3", "1.2415931513689926e+16"],
  ["c1269f8f1ca72250", "-741319.5559626315"],
  ["3ea918aa8d58a833", "7.47929585547376e-07"],
  ["412970c0e79bbefc", "833632.4523601229"],
  ["bab528fc3b8f0c41", "-6.837196663269316e-26"],
  ["c0f8cf932b6c4f08", "-101625.19810133812"],
  ["c4b552f59af5eb24", "-1.0070002688238271e+23"],
  ["41237cbf59f19cd2", "638559.6756714827"],
  ["c2819b77ec51d905", "-2419928697403.1274"],
  ["412db10c52f1f994", "972934.1620023721"],
  ["c5a2cdf60d6c938c", "-2.90986095979571e+27"],
];

function fromBits(bits: string): number {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setBigUint64(0, BigInt(`0x${bits}`));
  return dv.getFloat64(0);
}

/** Parse, generate and round-trip one (value, wire) pair. */
function vector<T>(arg: Argument<T>, value: T, wire: Uint8Array, same: (x: T, y: T) => void): void {
  expect(hex(arg.encode(value))).toBe(hex(wire));
  same(arg.decode(wire), value);
  same(arg.decode(arg.encode(value)), value);
}
const eq = <T>(x: T, y: T): void => {
  expect(x).toEqual(y);
};
const byText = <T>(x: T, y: T): void => {
  expect(String(x)).toBe(String(y));
};

describe("Integer", () => {
  const huge =
    99999999999999999999999999999999999999999999999999999999980000000000000000000000000000000000000000000000000000000001n;
  const cases: [number | bigint, string][] = [
    [0, "0"],
    [13, "13"],
    [-1, "-1"],
    [Number.MAX_SAFE_INTEGER, "9007199254740991"],
    [Number.MIN_SAFE_INTEGER, "-9007199254740991"],
    [2n ** 53n, "9007199254740992"],
    [-(2n ** 64n), "-18446744073709551616"],
    [huge, huge.toString()],
  ];
  for (const [value, wire] of cases) {
    it(`${wire} both ways`, () => vector(Integer, value, b(wire), eq));
  }

  it("decodes to a number when safe, a bigint beyond", () => {
    expect(Integer.decode(b("9007199254740991"))).toBe(9007199254740991);
    expect(Integer.decode(b("9007199254740992"))).toBe(9007199254740992n);
    expect(Integer.decode(b("-9007199254740992"))).toBe(-9007199254740992n);
    expect(Integer.decode(b("0000000000000000000000042"))).toBe(42);
    expect(Object.is(Integer.decode(b("-0")), 0)).toBe(true);
  });

  it("encodes an integral number beyond the safe range exactly, and 2n-style bigints", () => {
    expect(text(Integer.encode(1e21))).toBe("1000000000000000000000");
    expect(text(Integer.encode(-0))).toBe("0");
    expect(text(Integer.encode(5n))).toBe("5");
  });

  it("accepts what Python int(bytes) accepts", () => {
    const ok: [string, number][] = [
      [" 1 ", 1],
      ["\x0b1\x0c", 1],
      ["+1", 1],
      ["1_0", 10],
      ["00012", 12],
      ["-0", 0],
      ["\t\r\n-5 ", -5],
    ];
    for (const [wire, value] of ok) expect(Integer.decode(b(wire))).toBe(value);
  });

  it("rejects what Python int(bytes) rejects", () => {
    for (const wire of [
      "",
      " ",
      "1.0",
      "0x10",
      "_1",
      "1_",
      "1__0",
      "\x1c1",
      "\x001",
      "1\x00",
      "+",
      "-",
      "1e3",
      "١",
    ]) {
      expectArgumentError(() => Integer.decode(b(wire)), "Integer", /invalid integer/);
    }
  });

  it("refuses non-integers instead of truncating like Twisted", () => {
    for (const v of [1.5, Number.NaN, Number.POSITIVE_INFINITY, -0.1]) {
      expectArgumentError(() => Integer.encode(v), "Integer", /not an integer/);
    }
    expectArgumentError(() => Integer.encode("5" as unknown as number), "Integer");
    expectArgumentError(() => Integer.encode(true as unknown as number), "Integer");
  });

  it("refuses more than 4300 digits both ways (Python's limit)", () => {
    const max = "9".repeat(4300);
    expect(text(Integer.encode(BigInt(max)))).toBe(max);
    expect(Integer.decode(b(`-${max}`))).toBe(-BigInt(max));
    expectArgumentError(() => Integer.encode(BigInt(`${max}9`)), "Integer", /4300/);
    expectArgumentError(() => Integer.decode(b(`${max}9`)), "Integer", /4300/);
  });
});

describe("Bytes (String)", () => {
  it("is raw bytes both ways; decode copies", () => {
    const wire = b(0, 0xff, "\r\n");
    vector(Bytes, b(0, 0xff, "\r\n"), wire, (x, y) => expect(hex(x)).toBe(hex(y)));
    const decoded = Bytes.decode(wire);
    expect(decoded.buffer).not.toBe(wire.buffer);
    const fromBuffer = Buffer.from("abc");
    const copy = Bytes.decode(fromBuffer);
    fromBuffer[0] = 0x7a;
    expect(text(copy)).toBe("abc");
  });
  it("refuses a string", () => {
    expectArgumentError(() => Bytes.encode("text" as unknown as Uint8Array), "Bytes");
  });
});

describe("Unicode", () => {
  it("is UTF-8 both ways", () => {
    vector(Unicode, "☃", b(0xe2, 0x98, 0x83), eq);
    vector(Unicode, "wor\u1234ld", b("wor", 0xe1, 0x88, 0xb4, "ld"), eq);
    vector(Unicode, "\u{1F600}", b(0xf0, 0x9f, 0x98, 0x80), eq);
    vector(Unicode, "", b(), eq);
  });
  it("keeps a leading byte-order mark", () => {
    vector(Unicode, "\uFEFFx", b(0xef, 0xbb, 0xbf, "x"), eq);
  });
  it("rejects invalid UTF-8", () => {
    for (const wire of [
      b(0xff),
      b(0xe2, 0x98),
      b(0xc0, 0x80),
      b(0xed, 0xa0, 0x80),
      b("ok", 0x80),
    ]) {
      expectArgumentError(() => Unicode.decode(wire), "Unicode", /invalid UTF-8/);
    }
  });
  it("refuses a lone surrogate", () => {
    for (const s of ["\uD800", "a\uDC00", "\uDBFFx"]) {
      expectArgumentError(() => Unicode.encode(s), "Unicode", /lone surrogate/);
    }
  });
});

describe("Bool (Boolean)", () => {
  it("is True / False exactly", () => {
    vector(Bool, true, b("True"), eq);
    vector(Bool, false, b("False"), eq);
  });
  it("ParsingTests.test_booleanValues: rejects ninja, true, TRUE", () => {
    for (const wire of ["ninja", "true", "TRUE", "1", "", "True ", "Falsey"]) {
      expectArgumentError(() => Bool.decode(b(wire)), "Bool", /True or False/);
    }
    expectArgumentError(() => Bool.encode(1 as unknown as boolean), "Bool");
  });
});

describe("Float", () => {
  it("spells values as Python's repr(float) (vectors from /usr/bin/python3)", () => {
    for (const [bits, repr] of FLOAT_REPRS) {
      const x = fromBits(bits);
      expect(pythonFloatRepr(x)).toBe(repr);
      expect(text(Float.encode(x))).toBe(repr);
      expect(Object.is(Float.decode(b(repr)), x)).toBe(true);
    }
  });
  it("documented examples", () => {
    const cases: [number, string][] = [
      [1, "1.0"],
      [0.1, "0.1"],
      [1e100, "1e+100"],
      [1e-5, "1e-05"],
      [1e-7, "1e-07"],
      [1e16, "1e+16"],
      [1e20, "1e+20"],
      [-0, "-0.0"],
      [Number.POSITIVE_INFINITY, "inf"],
      [Number.NEGATIVE_INFINITY, "-inf"],
      [1.234, "1.234"],
    ];
    for (const [x, repr] of cases)
      vector(Float, x, b(repr), (u, v) => expect(Object.is(u, v)).toBe(true));
    expect(text(Float.encode(Number.NaN))).toBe("nan");
  });
  it("decodes what Python float(bytes) accepts", () => {
    const ok: [string, number][] = [
      [" 1.5 ", 1.5],
      ["1_0", 10],
      ["-nan", Number.NaN],
      ["NaN", Number.NaN],
      ["+inf", Number.POSITIVE_INFINITY],
      ["-Infinity", Number.NEGATIVE_INFINITY],
      ["iNfInItY", Number.POSITIVE_INFINITY],
      ["1e400", Number.POSITIVE_INFINITY],
      [".5", 0.5],
      ["5.", 5],
      ["1e1_0", 1e10],
      ["-0", -0],
      ["1E5", 1e5],
    ];
    for (const [wire, x] of ok) expect(Object.is(Float.decode(b(wire)), x)).toBe(true);
  });
  it("rejects what Python float(bytes) rejects", () => {
    for (const wire of [
      "",
      "-",
      "infinit",
      "1e",
      "0x1p3",
      "\x1c1",
      "1__0",
      "_1",
      "1._5",
      "1_.5",
      "e5",
      ".",
      "1.2.3",
      "nan1",
    ]) {
      expectArgumentError(() => Float.decode(b(wire)), "Float", /invalid float/);
    }
    expectArgumentError(() => Float.encode("1.0" as unknown as number), "Float");
    expectArgumentError(() => Float.encode(1n as unknown as number), "Float");
  });
});

describe("Decimal", () => {
  it("keeps Python's str(Decimal) form (ListOfDecimalTests strings)", () => {
    const list = ListOf(Decimal);
    const vectors: [string[], Uint8Array][] = [
      [["1.1"], b(0, 3, "1.1")],
      [["Infinity", "-Infinity"], b(0, 8, "Infinity", 0, 9, "-Infinity")],
      [
        ["3.141E5", "3.141e-5", "3.141E-7", "-3.141e5", "-3.141E-5", "-3.141e-7"],
        b(
          0,
          8,
          "3.141E+5",
          0,
          10,
          "0.00003141",
          0,
          8,
          "3.141E-7",
          0,
          9,
          "-3.141E+5",
          0,
          11,
          "-0.00003141",
          0,
          9,
          "-3.141E-7",
        ),
      ],
      [["0e6", "1.5E-9"], b(0, 4, "0E+6", 0, 6, "1.5E-9")],
      [["NaN", "-NaN", "sNaN", "-sNaN"], b(0, 3, "NaN", 0, 4, "-NaN", 0, 4, "sNaN", 0, 5, "-sNaN")],
    ];
    for (const [inputs, wire] of vectors) {
      const values = inputs.map((s) => new AmpDecimal(s));
      expect(hex(list.encode(values))).toBe(hex(wire));
      expect(list.decode(wire).map(String)).toEqual(values.map(String));
    }
  });
  it("parses like Python Decimal(text) (outputs from /usr/bin/python3)", () => {
    const cases: [string, string][] = [
      ["1.10", "1.10"],
      ["1e2", "1E+2"],
      ["  +01.5 ", "1.5"],
      ["inf", "Infinity"],
      ["-Infinity", "-Infinity"],
      ["nan123", "NaN123"],
      ["NaN0", "NaN"],
      ["NaN012", "NaN12"],
      ["-sNaN", "-sNaN"],
      ["snan", "sNaN"],
      ["-0.00", "-0.00"],
      ["1_000", "1000"],
      [" _1_ ", "1"],
      ["\t-1_0.5_0\n", "-10.50"],
      ["1__0", "10"],
      ["_1", "1"],
      ["0.00003141", "0.00003141"],
      ["1E-7", "1E-7"],
      ["0E+6", "0E+6"],
      ["1.5e-9", "1.5E-9"],
      ["\x1c1\x1c", "1"],
      ["1E+999999999999999999", "1E+999999999999999999"],
      ["-1e-999999999999999999", "-1E-999999999999999999"],
      ["0.1E+1000000000000000000", "1E+999999999999999999"],
      ["100E+999999999999999997", "1.00E+999999999999999999"],
      ["1E-1999999999999999997", "1E-1999999999999999997"],
      [".5", "0.5"],
      ["5.", "5"],
      ["0.000001", "0.000001"],
      ["0.0000001", "1E-7"],
      ["123E+3", "1.23E+5"],
      ["1.23E-10", "1.23E-10"],
      ["-0", "-0"],
      ["00", "0"],
      ["00.0100", "0.0100"],
      ["Inf", "Infinity"],
      ["INFINITY", "Infinity"],
      ["1e-0", "1"],
      ["1e+00", "1"],
      ["1.2e+3", "1.2E+3"],
      ["-nan", "-NaN"],
      ["sNaN00", "sNaN"],
    ];
    for (const [input, str] of cases) {
      expect(new AmpDecimal(input).toString()).toBe(str);
      expect(Decimal.decode(b(input)).toString()).toBe(str);
      expect(text(Decimal.encode(new AmpDecimal(input)))).toBe(str);
    }
  });
  it("rejects what Python rejects", () => {
    for (const input of [
      "",
      "+",
      "e5",
      "1e",
      "1.2.3",
      "_",
      "infinit",
      "1E+9999999999999999999",
      "10E+999999999999999999",
      "1E-1999999999999999998",
      "0.001E-1999999999999999997",
      "1 2",
      "0x10",
      "1e5.5",
      "04\x0c_",
      " 3\t_",
      "_\r3",
    ]) {
      expectArgumentError(() => Decimal.decode(b(input)), "Decimal");
    }
    expectArgumentError(() => Decimal.decode(b("1", 0xd9, 0xa1)), "Decimal", /non-ASCII/);
  });
  it("DecimalTests.test_nonDecimal: only AmpDecimal values encode", () => {
    for (const v of ["1.1", 1.1, 1]) {
      expectArgumentError(() => Decimal.encode(v as unknown as AmpDecimal), "Decimal");
    }
  });
  it("exposes sign, coefficient and exponent", () => {
    const d = new AmpDecimal("-1.10");
    expect([d.negative, d.kind, d.coefficient, d.exponent]).toEqual([true, "finite", "110", -2n]);
    expect(d.toNumber()).toBe(-1.1);
    expect(new AmpDecimal("sNaN").isNaN).toBe(true);
    expect(new AmpDecimal(10n ** 30n).toString()).toBe(`1${"0".repeat(30)}`);
  });
});

describe("DateTime", () => {
  it("DateTimeTests: 9876-01-23T12:34:56.054321-01:23 both ways", () => {
    const v = new AmpDateTime({
      year: 9876,
      month: 1,
      day: 23,
      hour: 12,
      minute: 34,
      second: 56,
      microsecond: 54321,
      offsetMinutes: -83,
    });
    vector(DateTime, v, b("9876-01-23T12:34:56.054321-01:23"), byText);
    expect(DateTime.decode(b("9876-01-23T12:34:56.054321-01:23"))).toEqual(v);
  });
  it("ListOfDateTimeTests: UTC written -00:00, +00:00 accepted; offsets kept", () => {
    const list = ListOf(DateTime);
    const at = (offsetMinutes: number) =>
      new AmpDateTime({
        year: 2010,
        month: 12,
        day: 25,
        hour: 0,
        minute: 0,
        second: 0,
        microsecond: 0,
        offsetMinutes,
      });
    const cases: [number[], string[]][] = [
      [
        [0, 0],
        ["2010-12-25T00:00:00.000000-00:00", "2010-12-25T00:00:00.000000-00:00"],
      ],
      [[60], ["2010-12-25T00:00:00.000000+01:00"]],
      [[210], ["2010-12-25T00:00:00.000000+03:30"]],
      [[-300], ["2010-12-25T00:00:00.000000-05:00"]],
      [
        [199, -419],
        ["2010-12-25T00:00:00.000000+03:19", "2010-12-25T00:00:00.000000-06:59"],
      ],
    ];
    for (const [offsets, strings] of cases) {
      const wire = b(...strings.flatMap((s) => [0, 0x20, s]));
      const values = offsets.map(at);
      expect(hex(list.encode(values))).toBe(hex(wire));
      expect(list.decode(wire)).toEqual(values);
    }
    expect(DateTime.decode(b("2010-12-25T00:00:00.000000+00:00")).offsetMinutes).toBe(0);
  });
  it("converts to and from Date, keeping the offset", () => {
    const dt = AmpDateTime.fromDate(new Date("2024-02-29T23:30:00.123Z"), 90, 123456);
    expect(dt.toString()).toBe("2024-03-01T01:00:00.123456+01:30");
    expect(dt.toDate().toISOString()).toBe("2024-02-29T23:30:00.123Z");
    expect(AmpDateTime.fromDate(new Date(0)).toString()).toBe("1970-01-01T00:00:00.000000-00:00");
    expect(
      new AmpDateTime({
        year: 1,
        month: 1,
        day: 1,
        hour: 0,
        minute: 0,
        second: 0,
        microsecond: 0,
        offsetMinutes: 0,
      })
        .toDate()
        .getUTCFullYear(),
    ).toBe(1);
  });
  it("rejects malformed text, bad sign and out-of-range fields", () => {
    for (const s of [
      "abc",
      "2010-12-25T00:00:00.000000-00:0",
      "2010-12-25T00:00:00.000000?00:00",
      "2010-12-25 00:00:00.000000-00:00",
      "2010-13-25T00:00:00.000000-00:00",
      "2010-02-29T00:00:00.000000-00:00",
      "0000-01-01T00:00:00.000000-00:00",
      "2010-12-25T24:00:00.000000-00:00",
      "2010-12-25T00:60:00.000000-00:00",
      "2010-12-25T00:00:60.000000-00:00",
      "2010-12-25T00:00:00.000000+24:00",
      "2010-12-25T00:00:00.000000+01:60",
      "2010-12-25T00:00:00.00000a-00:00",
      " 010-12-25T00:00:00.000000-00:00",
    ]) {
      expectArgumentError(() => DateTime.decode(b(s)), "DateTime");
    }
    expect(DateTime.decode(b("2012-02-29T00:00:00.000000-00:00")).day).toBe(29);
    expectArgumentError(() => DateTime.encode(new Date() as unknown as AmpDateTime), "DateTime");
    expectArgumentError(
      () =>
        new AmpDateTime({
          year: 2010,
          month: 1,
          day: 1,
          hour: 0,
          minute: 0,
          second: 0,
          microsecond: 1e6,
          offsetMinutes: 0,
        }),
      "DateTime",
      /microsecond/,
    );
  });
});

describe("ListOf", () => {
  it("ListOfIntegersTests / ListOfUnicodeTests / ListOfStringsTests vectors", () => {
    const huge =
      99999999999999999999999999999999999999999999999999999999980000000000000000000000000000000000000000000000000000000001n;
    vector(ListOf(Integer), [], b(), eq);
    vector(ListOf(Integer), [10], b(0, 2, "10"), eq);
    vector(ListOf(Integer), [1, 20, 500], b(0, 1, "1", 0, 2, "20", 0, 3, "500"), eq);
    vector(ListOf(Integer), [huge], b(0, 0x74, huge.toString()), eq);
    vector(ListOf(Integer), [-1], b(0, 2, "-1"), eq);
    vector(ListOf(Unicode), ["foo"], b(0, 3, "foo"), eq);
    vector(
      ListOf(Unicode),
      ["☃", "Hello", "world"],
      b(0, 3, 0xe2, 0x98, 0x83, 0, 5, "Hello", 0, 5, "world"),
      eq,
    );
    const strings = ListOf(Bytes);
    expect(hex(strings.encode([b("bar"), b("baz"), b("quux")]))).toBe(
      hex(b(0, 3, "bar", 0, 3, "baz", 0, 4, "quux")),
    );
    expect(strings.decode(b(0, 3, "bar", 0, 0)).map(text)).toEqual(["bar", ""]);
    expect(ListOf(Integer).name).toBe("ListOf(Integer)");
  });
  it("refuses a trailing partial element (Twisted silently drops it)", () => {
    for (const wire of [b(0, 1, "1", 0), b(0, 1, "1", 0, 2, "2"), b(0), b(0, 5, "abc")]) {
      expectArgumentError(() => ListOf(Integer).decode(wire), "ListOf(Integer)");
    }
  });
  it("says which element failed", () => {
    const e = expectArgumentError(
      () => ListOf(Integer).decode(b(0, 1, "1", 0, 1, "x")),
      "ListOf(Integer)",
      /element 1/,
    );
    expect(e.cause).toBeInstanceOf(ArgumentError);
    expectArgumentError(() => ListOf(Integer).encode([1, 1.5]), "ListOf(Integer)", /element 1/);
    expectArgumentError(
      () => ListOf(Bytes).encode([new Uint8Array(65536)]),
      "ListOf(Bytes)",
      /65535/,
    );
    expectArgumentError(() => ListOf(Integer).encode(5 as unknown as number[]), "ListOf(Integer)");
  });
  it("nests", () => {
    const nested = ListOf(ListOf(Unicode));
    vector(
      nested,
      [["a", "bc"], [], ["☃"]],
      b(0, 7, 0, 1, "a", 0, 2, "bc", 0, 0, 0, 5, 0, 3, 0xe2, 0x98, 0x83),
      eq,
    );
  });
});

describe("AmpList", () => {
  const schema = { a: Integer, b: Unicode };
  const list = AmpList(schema);
  it("reference vector [{a: 7, b: hello}, {a: 9, b: goodbye}]", () => {
    const wire = b(
      0,
      1,
      "a",
      0,
      1,
      "7",
      0,
      1,
      "b",
      0,
      5,
      "hello",
      0,
      0,
      0,
      1,
      "a",
      0,
      1,
      "9",
      0,
      1,
      "b",
      0,
      7,
      "goodbye",
      0,
      0,
    );
    vector(
      list,
      [
        { a: 7, b: "hello" },
        { a: 9, b: "goodbye" },
      ],
      wire,
      eq,
    );
    vector(list, [], b(), eq);
  });
  it("ampListCommand: GetList(length=10) → [{x: 1}] × 10", () => {
    const xs = AmpList({ x: Integer });
    const wire = b(...Array.from({ length: 10 }, () => [0, 1, "x", 0, 1, "1", 0, 0]).flat());
    vector(
      xs,
      Array.from({ length: 10 }, () => ({ x: 1 })),
      wire,
      eq,
    );
  });
  it("sorts each element's keys, omits undefined optionals, ignores extra keys", () => {
    const l = AmpList({ zeta: Integer, alpha: optional(Unicode), Mid: Bool });
    const values: SchemaValues<{
      zeta: typeof Integer;
      alpha: ReturnType<typeof optional<string>>;
      Mid: typeof Bool;
    }>[] = [
      { zeta: 1, Mid: true },
      { zeta: 2, alpha: "x", Mid: false },
    ];
    const wire = b(
      0,
      3,
      "Mid",
      0,
      4,
      "True",
      0,
      4,
      "zeta",
      0,
      1,
      "1",
      0,
      0,
      0,
      3,
      "Mid",
      0,
      5,
      "False",
      0,
      5,
      "alpha",
      0,
      1,
      "x",
      0,
      4,
      "zeta",
      0,
      1,
      "2",
      0,
      0,
    );
    expect(hex(l.encode(values))).toBe(hex(wire));
    expect(l.decode(wire)).toEqual(values);
    expect(
      l.decode(b(0, 4, "zeta", 0, 1, "3", 0, 5, "extra", 0, 0, 0, 3, "Mid", 0, 4, "True", 0, 0)),
    ).toEqual([{ zeta: 3, Mid: true }]);
  });
  it("nests AmpList in AmpList", () => {
    const outer = AmpList({ name: Unicode, items: AmpList({ x: Integer }) });
    const inner = b(0, 1, "x", 0, 1, "1", 0, 0, 0, 1, "x", 0, 1, "2", 0, 0);
    const wire = b(
      0,
      5,
      "items",
      0,
      inner.length,
      ...Array.from(inner),
      0,
      4,
      "name",
      0,
      2,
      "hi",
      0,
      0,
    );
    vector(outer, [{ name: "hi", items: [{ x: 1 }, { x: 2 }] }], wire, eq);
  });
  it("rejects a missing required key, a bad value, and a truncated box", () => {
    expectArgumentError(
      () => list.decode(b(0, 1, "a", 0, 1, "7", 0, 0)),
      list.name,
      /missing required key "b"/,
    );
    expectArgumentError(
      () => list.decode(b(0, 1, "a", 0, 1, "x", 0, 1, "b", 0, 0, 0, 0)),
      list.name,
      /key "a"/,
    );
    expectArgumentError(() => list.decode(b(0, 1, "a", 0, 1, "7", 0, 1, "b", 0, 0)), list.name);
    expectArgumentError(() => list.decode(b(1, 0)), list.name);
    expectArgumentError(
      () => list.encode([{ a: 1 } as { a: number; b: string }]),
      list.name,
      /missing required key "b"/,
    );
    expectArgumentError(() => list.encode([{ a: 1.5, b: "" }]), list.name, /key "a"/);
  });
});

describe("optional", () => {
  it("marks the argument optional and delegates", () => {
    const o = optional(ListOf(Integer));
    expect(o.optional).toBe(true);
    expect(Integer.optional).toBe(false);
    expect(hex(o.encode([1]))).toBe(hex(b(0, 1, "1")));
    expect(o.decode(b(0, 1, "1"))).toEqual([1]);
    expectArgumentError(() => o.encode(undefined), "ListOf(Integer)", /omit the key/);
  });
});

describe("types", () => {
  it("infers value types from the schema", () => {
    const l = AmpList({ a: Integer, b: optional(Unicode), c: ListOf(Decimal) });
    expectTypeOf<ArgValue<typeof l>>().toEqualTypeOf<
      Array<{ a: number | bigint; b?: string | undefined; c: AmpDecimal[] }>
    >();
    expectTypeOf<ArgValue<typeof Float>>().toEqualTypeOf<number>();
    expectTypeOf<ArgValue<ReturnType<typeof optional<boolean>>>>().toEqualTypeOf<
      boolean | undefined
    >();
    expect(l.name).toBe("AmpList(a: Integer, b: optional(Unicode), c: ListOf(Decimal))");
  });
});

describe("adversarial values", () => {
  it("long runs of whitespace, underscores or digits are refused without regex backtracking", () => {
    const runs = [" ", "\t", "_", "1_", "1", "e", "."].flatMap((r) => [
      `${r.repeat(Math.floor(65000 / r.length))}x`,
      `1${r.repeat(Math.floor(65000 / r.length))}x`,
    ]);
    const simple: Argument<unknown>[] = [Integer, Float, Decimal, Bool, DateTime];
    for (const arg of simple) {
      for (const s of runs) expectArgumentError(() => arg.decode(b(s)), arg.name);
    }
  });
});
