/**
 * Typed command definitions: type inference (checked by tsc through expectTypeOf), structured values
 * ↔ box entries, error code ↔ class mapping, the big-value split, and the CommandLocator.
 */
import { describe, expect, expectTypeOf, it } from "vitest";
import type { Deferred } from "../../../src/core/deferred.js";
import {
  AmpList,
  Bool,
  Bytes,
  Float,
  Integer,
  ListOf,
  optional,
  Unicode,
} from "../../../src/protocols/amp/arguments.js";
import type { AmpBox } from "../../../src/protocols/amp/box.js";
import {
  type ArgumentsOf,
  bigValue,
  boxToObjects,
  type CallResultOf,
  CommandLocator,
  checkArguments,
  codeForError,
  defineCommand,
  errorForCode,
  objectsToBox,
  type ResponseOf,
} from "../../../src/protocols/amp/command.js";
import {
  ArgumentError,
  InvalidSignature,
  RemoteAmpError,
  UnhandledCommand,
  UnknownRemoteError,
} from "../../../src/protocols/amp/errors.js";
import { AMP } from "../../../src/protocols/amp/protocol.js";

class ZeroDivisionError extends Error {}
class Overflow extends ZeroDivisionError {}
class Fatal extends Error {}

const Sum = defineCommand({
  name: "Sum",
  arguments: { a: Integer, b: Integer },
  response: { total: Integer },
  errors: { ZERO_DIVISION: ZeroDivisionError },
  fatalErrors: { FATAL: Fatal },
});

const Mixed = defineCommand({
  name: "Mixed-Case_cmd",
  arguments: {
    "dash-arg": Unicode,
    maybe: optional(Integer),
    flags: ListOf(Bool),
    rows: AmpList({ x: Integer, label: optional(Unicode) }),
  },
  response: { ratio: Float, blob: optional(Bytes) },
});

const Notify = defineCommand({
  name: "Notify",
  arguments: { text: Unicode },
  requiresAnswer: false,
});

const b = (s: string) => new TextEncoder().encode(s);

describe("defineCommand: type inference", () => {
  it("callRemote is typed from the schema, with no casts", () => {
    const amp = new AMP();
    // Types only: these lines are checked by tsc and never run against a connection.
    const call = () => amp.callRemote(Sum, { a: 1, b: 2n });
    expectTypeOf(call).returns.toEqualTypeOf<Deferred<{ total: number | bigint }>>();
    expectTypeOf<Awaited<ReturnType<typeof call>>>().toEqualTypeOf<{ total: number | bigint }>();
    expectTypeOf<ArgumentsOf<typeof Sum>>().toEqualTypeOf<{
      a: number | bigint;
      b: number | bigint;
    }>();
    // @ts-expect-error b is required
    const bad1 = () => amp.callRemote(Sum, { a: 1 });
    // @ts-expect-error a must be an integer type
    const bad2 = () => amp.callRemote(Sum, { a: "1", b: 2 });
    void bad1;
    void bad2;
  });

  it("optional arguments become optional properties; wire names are kept as keys", () => {
    expectTypeOf<ArgumentsOf<typeof Mixed>>().toEqualTypeOf<{
      "dash-arg": string;
      flags: boolean[];
      rows: Array<{ x: number | bigint; label?: string | undefined }>;
      maybe?: number | bigint | undefined;
    }>();
    expectTypeOf<ResponseOf<typeof Mixed>>().toEqualTypeOf<{
      ratio: number;
      blob?: Uint8Array | undefined;
    }>();
  });

  it("requiresAnswer: false resolves to undefined", () => {
    expectTypeOf<CallResultOf<typeof Notify>>().toEqualTypeOf<undefined>();
    expectTypeOf<CallResultOf<typeof Sum>>().toEqualTypeOf<{ total: number | bigint }>();
  });

  it("responders are typed: arguments in, response (or a Promise of it) out", () => {
    const locator = new CommandLocator<AMP>();
    locator.responder(Sum, (args, amp) => {
      expectTypeOf(args).toEqualTypeOf<{ a: number | bigint; b: number | bigint }>();
      expectTypeOf(amp).toEqualTypeOf<AMP>();
      return { total: 3 };
    });
    locator.responder(Sum, async () => ({ total: 3n }));
    // @ts-expect-error the response needs `total`
    locator.responder(Sum, () => ({ sum: 3 }));
  });

  it("keeps the name and defaults", () => {
    expect(Mixed.name).toBe("Mixed-Case_cmd");
    expect(Notify.requiresAnswer).toBe(false);
    expect(Sum.requiresAnswer).toBe(true);
    expect(Notify.response).toEqual({});
    expect(Notify.responseType).toBe("box");
    expect(Object.isFrozen(Sum)).toBe(true);
    expect(() => defineCommand({ name: "" })).toThrow(InvalidSignature);
    expect(() => defineCommand({ name: "snow☃" })).toThrow(InvalidSignature);
    expect(() => defineCommand({ name: "x", arguments: { ["k".repeat(256)]: Integer } })).toThrow(
      InvalidSignature,
    );
    expect(() => defineCommand({ name: "x", response: { "☃": Integer } })).toThrow(
      InvalidSignature,
    );
    expect(() => defineCommand({ name: "x", errors: { "": Error } })).toThrow(InvalidSignature);
  });
});

describe("structured values ↔ box entries", () => {
  it("encodes every argument under its wire name; optional undefined values are omitted", () => {
    const box = objectsToBox(
      Mixed.arguments,
      { "dash-arg": "☃", flags: [true, false], rows: [{ x: 7 }], maybe: undefined },
      new Map(),
    );
    expect([...box.keys()].sort()).toEqual(["dash-arg", "flags", "rows"]);
    expect(box.get("dash-arg")).toEqual(Uint8Array.from([0xe2, 0x98, 0x83]));
    expect(box.get("flags")).toEqual(b("\x00\x04True\x00\x05False"));
    expect(box.get("rows")).toEqual(b("\x00\x01x\x00\x017\x00\x00"));
  });

  it("decodes, ignoring extra keys and leaving absent optional values out", () => {
    const box: AmpBox = new Map([
      ["a", b("13")],
      ["b", b("-81")],
      ["bonus", b("x")],
    ]);
    expect(boxToObjects(Sum.arguments, box)).toEqual({ a: 13, b: -81 });
    expect(boxToObjects(Mixed.response, new Map([["ratio", b("0.5")]]))).toEqual({ ratio: 0.5 });
  });

  it("missing required → InvalidSignature; bad value → ArgumentError naming the argument", () => {
    expect(() => boxToObjects(Sum.arguments, new Map([["a", b("1")]]))).toThrow(InvalidSignature);
    let err: unknown;
    try {
      boxToObjects(
        Sum.arguments,
        new Map([
          ["a", b("1")],
          ["b", b("x")],
        ]),
      );
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ArgumentError);
    expect((err as ArgumentError).code).toBe("ERR_AMP_ARGUMENT");
    expect(() => objectsToBox(Sum.arguments, { a: 1.5, b: 1 }, new Map())).toThrow(ArgumentError);
  });

  it("checkArguments: an unknown name throws, missing ones are returned (Twisted's split)", () => {
    expect(() => checkArguments(Sum, { a: 1, b: 2, c: 3 })).toThrow(InvalidSignature);
    const missing = checkArguments(Sum, { a: 1 });
    expect(missing).toBeInstanceOf(InvalidSignature);
    expect(missing?.message).toBe("forgot b for Sum");
    expect(checkArguments(Sum, { a: 1, b: 2 })).toBeNull();
    expect(checkArguments(Mixed, { "dash-arg": "x", flags: [], rows: [] })).toBeNull();
  });
});

describe("errors: code ↔ class", () => {
  it("finds the declared code of an error (instanceof, so subclasses too) and whether it is fatal", () => {
    expect(codeForError(Sum, new ZeroDivisionError("x"))).toEqual({
      code: "ZERO_DIVISION",
      fatal: false,
    });
    expect(codeForError(Sum, new Overflow("x"))).toEqual({ code: "ZERO_DIVISION", fatal: false });
    expect(codeForError(Sum, new Fatal("x"))).toEqual({ code: "FATAL", fatal: true });
    expect(codeForError(Sum, new Error("x"))).toBeNull();
  });

  it("rebuilds the caller's error: declared class, UnhandledCommand, UnknownRemoteError", () => {
    const e = errorForCode(Sum, "ZERO_DIVISION", "division by zero");
    expect(e).toBeInstanceOf(ZeroDivisionError);
    expect(e.message).toBe("division by zero");
    expect(errorForCode(Sum, "FATAL", "bye")).toBeInstanceOf(Fatal);
    const u = errorForCode(Sum, "UNHANDLED", "Unhandled Command: b'Sum'");
    expect(u).toBeInstanceOf(UnhandledCommand);
    const k = errorForCode(Sum, "OTHER", "what");
    expect(k).toBeInstanceOf(UnknownRemoteError);
    expect((k as UnknownRemoteError).description).toBe("what");
    // Codes are looked up as own keys only: `constructor` is not Object.
    expect(errorForCode(Sum, "constructor", "x")).toBeInstanceOf(UnknownRemoteError);
    const raw = errorForCode(null, "BROKEN", "Something has broken");
    expect(raw).toBeInstanceOf(RemoteAmpError);
    expect(raw.message).toBe("Code<BROKEN>: Something has broken");
  });
});

describe("bigValue (weft extension)", () => {
  const Big = defineCommand({ name: "Big", arguments: { data: bigValue(Bytes) } });

  it("splits a long value into name, name.2, … of at most 65,535 bytes and joins it back", () => {
    const data = new Uint8Array(65535 * 3 + 1).map((_, i) => i & 0xff);
    const box = objectsToBox(Big.arguments, { data }, new Map());
    expect([...box.keys()]).toEqual(["data", "data.2", "data.3", "data.4"]);
    expect([...box.values()].map((v) => v.length)).toEqual([65535, 65535, 65535, 1]);
    const back = boxToObjects(Big.arguments, box) as { data: Uint8Array };
    expect(Buffer.from(back.data).equals(data)).toBe(true);
  });

  it("a value that fits stays one key; a short one decodes alone", () => {
    const box = objectsToBox(Big.arguments, { data: b("small") }, new Map());
    expect([...box.keys()]).toEqual(["data"]);
    expect(boxToObjects(Big.arguments, box)).toEqual({ data: b("small") });
  });
});

describe("CommandLocator", () => {
  it("locates by exact (case-sensitive) name; later registrations replace earlier ones", () => {
    const locator = new CommandLocator()
      .responder(Sum, () => ({ total: 1 }))
      .rawResponder("raw", (box) => box);
    expect(locator.locateResponder("Sum")?.command).toBe(Sum);
    expect(locator.locateResponder("sum")).toBeUndefined();
    expect(locator.locateResponder("raw")?.command).toBeNull();
    expect(locator.commandNames().sort()).toEqual(["Sum", "raw"]);
  });

  it("subclasses can add a fallback", () => {
    class Fallback extends CommandLocator {
      override locateResponder(name: string) {
        return super.locateResponder(name) ?? super.locateResponder("Sum");
      }
    }
    const loc = new Fallback().responder(Sum, () => ({ total: 1 }));
    expect(loc.locateResponder("anything")?.command).toBe(Sum);
  });
});
