/**
 * The PB codec table shared by the unit and interop tests: each value as weft writes it, and the
 * bytes Twisted 22.4 sends for the same Python value (recorded with
 * `/usr/bin/python3 test/interop/pb_codec.py encode`; the interop test re-records them live).
 */
import { FrozenSet, PbFloat, tuple } from "../../../src/protocols/pb/index.js";

const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "latin1"));

function shared(): unknown {
  const a = [1];
  return [a, a];
}

function cyclic(): unknown {
  const l: unknown[] = [];
  l.push(l);
  return l;
}

function sharedTuple(): unknown {
  const t = tuple<unknown>(1, "a");
  return [t, t];
}

function nestedRefs(): unknown {
  const a = [1];
  const b = [a];
  return [b, a, b];
}

function dictShared(): unknown {
  const a = [1];
  return new Map<unknown, unknown>([
    ["k", a],
    ["j", a],
  ]);
}

/** Name → a fresh weft value equal to the Python value of the same name in pb_codec.py. */
export const TABLE: Record<string, () => unknown> = {
  none: () => null,
  true: () => true,
  false: () => false,
  int0: () => 0,
  int1: () => 1,
  int127: () => 127,
  int128: () => 128,
  intneg1: () => -1,
  int_max32: () => 2 ** 31 - 1,
  int_2_31: () => 2 ** 31,
  int_min32: () => -(2 ** 31),
  int_below_min32: () => -(2 ** 31) - 1,
  int_2_53: () => 2n ** 53n,
  big: () => 2n ** 100n,
  bigneg: () => -(2n ** 100n),
  float1: () => new PbFloat(1),
  float_negzero: () => new PbFloat(-0),
  float1_5: () => new PbFloat(1.5),
  float_big: () => new PbFloat(1e300),
  float_inf: () => new PbFloat(Number.POSITIVE_INFINITY),
  float_ninf: () => new PbFloat(Number.NEGATIVE_INFINITY),
  bytes_empty: () => bytes(""),
  bytes_hello: () => bytes("hello"),
  bytes_vocab: () => bytes("None"),
  bytes_binary: () => bytes("\x00\x80\xff"),
  str_empty: () => "",
  str_hello: () => "hello",
  str_snowman: () => "\u2603",
  str_vocab: () => "tuple",
  list_empty: () => [],
  list_nested: () => [1, [2, [3]]],
  tuple_empty: () => tuple(),
  tuple_mixed: () => tuple<unknown>(1, "a", bytes("b"), null),
  dict_empty: () => new Map(),
  dict_str: () =>
    new Map<unknown, unknown>([
      ["a", 1],
      ["b", [new PbFloat(1.5)]],
    ]),
  dict_mixed_keys: () =>
    new Map<unknown, unknown>([
      [1, bytes("x")],
      [tuple(1, 2), null],
      [bytes("k"), "v"],
    ]),
  set_one: () => new Set([7]),
  frozenset_one: () => new FrozenSet([bytes("x")]),
  shared,
  cyclic,
  shared_tuple: sharedTuple,
  nested_refs: nestedRefs,
  dict_shared: dictShared,
  long_string: () => bytes("x".repeat(300)),
};

/** Twisted 22.4's bytes for each TABLE entry (pb dialect). */
export const RECORDED: Record<string, string> = {
  none: "01800187",
  true: "02800782626f6f6c65616e048274727565",
  false: "02800782626f6f6c65616e058266616c7365",
  int0: "0081",
  int1: "0181",
  int127: "7f81",
  int128: "000181",
  intneg1: "0183",
  int_max32: "7f7f7f7f0781",
  int_2_31: "000000000885",
  int_min32: "000000000883",
  int_below_min32: "010000000886",
  int_2_53: "000000000000001085",
  big: "00000000000000000000000000000485",
  bigneg: "00000000000000000000000000000486",
  float1: "843ff0000000000000",
  float_negzero: "848000000000000000",
  float1_5: "843ff8000000000000",
  float_big: "847e37e43c8800759c",
  float_inf: "847ff0000000000000",
  float_ninf: "84fff0000000000000",
  bytes_empty: "0082",
  bytes_hello: "058268656c6c6f",
  bytes_vocab: "0187",
  bytes_binary: "03820080ff",
  str_empty: "02800782756e69636f64650082",
  str_hello: "02800782756e69636f6465058268656c6c6f",
  str_snowman: "02800782756e69636f64650382e29883",
  str_vocab: "02800782756e69636f64650b87",
  list_empty: "01800887",
  list_nested: "038008870181038008870281028008870381",
  tuple_empty: "01800b87",
  tuple_mixed: "05800b87018102800782756e69636f646501826101826201800187",
  dict_empty: "01800587",
  dict_str:
    "03800587028002800782756e69636f64650182610181028002800782756e69636f646501826202800887843ff8000000000000",
  dict_mixed_keys:
    "0480058702800181018278028003800b870181028101800187028001826b02800782756e69636f6465018276",
  set_one: "028003827365740781",
  frozenset_one: "0280098266726f7a656e736574018278",
  shared: "03800887038004870181028008870181028003870181",
  cyclic: "03800487018102800887028003870181",
  shared_tuple: "0380088703800487018103800b87018102800782756e69636f6465018261028003870181",
  nested_refs: "0480088703800487028102800887038004870181028008870181028003870181028003870281",
  dict_shared:
    "03800587028002800782756e69636f646501826b038004870181028008870181028002800782756e69636f646501826a028003870181",
  long_string: `2c0282${"78".repeat(300)}`,
};
