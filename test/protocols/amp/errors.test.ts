import { describe, expect, it } from "vitest";
import { WeftError } from "../../../src/core/errors.js";
import {
  AmpError,
  ArgumentError,
  BadLocalReturn,
  BoxTooLarge,
  bytesRepr,
  InvalidSignature,
  MalformedAmpBox,
  NoEmptyBoxes,
  ProtocolSwitched,
  RemoteAmpError,
  TooLong,
  UnhandledCommand,
  UnknownRemoteError,
} from "../../../src/protocols/amp/errors.js";

describe("AMP errors", () => {
  it("RemoteAmpErrorTests: Code<CODE>: description, bytes ≥ 0x80 escaped, (local) variant", () => {
    const e = new RemoteAmpError("BROKEN", "Something has broken");
    expect(e.message).toBe("Code<BROKEN>: Something has broken");
    expect([e.code, e.errorCode, e.description, e.fatal, e.local]).toEqual([
      "ERR_AMP_REMOTE",
      "BROKEN",
      "Something has broken",
      false,
      null,
    ]);
    expect(new RemoteAmpError("BROKEN-\xff", "Something has broken").message).toBe(
      "Code<BROKEN-\\xff>: Something has broken",
    );
    const local = new Error("boom");
    const withLocal = new RemoteAmpError("BROKEN", "Something has broken", true, local);
    expect(withLocal.message.startsWith("Code<BROKEN> (local): Something has broken\n")).toBe(true);
    expect(withLocal.cause).toBe(local);
    expect(withLocal.fatal).toBe(true);
  });

  it("UnknownRemoteError is a RemoteAmpError with code UNKNOWN; UnhandledCommand is not", () => {
    const u = new UnknownRemoteError("Unknown Error");
    expect(u).toBeInstanceOf(RemoteAmpError);
    expect([u.errorCode, u.code, u.message]).toEqual([
      "UNKNOWN",
      "ERR_AMP_UNKNOWN_REMOTE",
      "Code<UNKNOWN>: Unknown Error",
    ]);
    const h = new UnhandledCommand("UNHANDLED", "Unhandled Command: b'Nope'");
    expect(h).not.toBeInstanceOf(RemoteAmpError);
    expect(h).toBeInstanceOf(AmpError);
    expect([h.code, h.errorCode, h.description]).toEqual([
      "ERR_AMP_UNHANDLED_COMMAND",
      "UNHANDLED",
      "Unhandled Command: b'Nope'",
    ]);
  });

  it("TooLong messages mirror Twisted's repr", () => {
    expect(new TooLong(true, true, new Uint8Array(256)).message).toBe("local key too long: 256");
    expect(new TooLong(false, true, new Uint8Array(65536), "hello").message).toBe(
      "local value b'hello' too long: 65536",
    );
    const remote = new TooLong(true, false, null, null, 256);
    expect(remote.message).toBe("remote key too long: 256");
    expect([remote.value, remote.keyName, remote.length]).toEqual([null, null, 256]);
  });

  it("every AMP error is a WeftError with a stable code and its class name", () => {
    const all: [AmpError, string][] = [
      [new AmpError(), "ERR_AMP"],
      [new TooLong(true, true, new Uint8Array(300)), "ERR_AMP_TOO_LONG"],
      [new BoxTooLarge("maxKeys", 4), "ERR_AMP_BOX_TOO_LARGE"],
      [new RemoteAmpError("X", "y"), "ERR_AMP_REMOTE"],
      [new UnknownRemoteError("y"), "ERR_AMP_UNKNOWN_REMOTE"],
      [new UnhandledCommand("UNHANDLED", "y"), "ERR_AMP_UNHANDLED_COMMAND"],
      [new NoEmptyBoxes(), "ERR_AMP_NO_EMPTY_BOXES"],
      [new InvalidSignature("missing a"), "ERR_AMP_INVALID_SIGNATURE"],
      [new BadLocalReturn("returned None"), "ERR_AMP_BAD_LOCAL_RETURN"],
      [new MalformedAmpBox(), "ERR_AMP_MALFORMED_BOX"],
      [new ProtocolSwitched(), "ERR_AMP_PROTOCOL_SWITCHED"],
      [new ArgumentError("Integer", "bad."), "ERR_AMP_ARGUMENT"],
    ];
    for (const [e, code] of all) {
      expect(e).toBeInstanceOf(WeftError);
      expect(e).toBeInstanceOf(AmpError);
      expect(e.code).toBe(code);
      expect(e.name).toBe(e.constructor.name);
    }
    const a = new ArgumentError("Integer", 'invalid integer "x".');
    expect([a.typeName, a.reason, a.message]).toEqual([
      "Integer",
      'invalid integer "x".',
      'Integer: invalid integer "x".',
    ]);
  });

  it("bytesRepr spells bytes as Python's repr", () => {
    expect(bytesRepr("Nope")).toBe("b'Nope'");
    expect(bytesRepr(Uint8Array.of(0x00, 0x0a, 0x5c, 0xff, 0x41))).toBe("b'\\x00\\n\\\\\\xffA'");
    expect(bytesRepr("it's")).toBe('b"it\'s"');
    expect(bytesRepr("'\"")).toBe("b'\\'\"'");
  });
});
