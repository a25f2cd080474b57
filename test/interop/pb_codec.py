"""Byte tables for weft's PB codec tests, from the real Twisted (22.4).

`pb_codec.py encode` prints `NAME HEX` for every value in TABLE: Twisted's jelly of the value,
banana-encoded in the "pb" dialect (vocabulary on), exactly what a Broker sends.
`pb_codec.py decode` reads `NAME HEX` lines from stdin (weft's bytes), decodes and unjellies each
with Twisted (globalSecurity), and prints `NAME ok` when the value equals TABLE[NAME] and Twisted's
re-encoding is the same bytes, else `NAME bad REASON`.
"""
import math
import sys

from twisted.spread import banana, jelly, pb  # noqa: F401  (pb registers remote/local)


def _shared():
    a = [1]
    return [a, a]


def _cyclic():
    l = []
    l.append(l)
    return l


def _shared_tuple():
    t = (1, "a")
    return [t, t]


def _nested_refs():
    a = [1]
    b = [a]
    return [b, a, b]


def _dict_shared():
    a = [1]
    return {"k": a, "j": a}


TABLE = {
    "none": None,
    "true": True,
    "false": False,
    "int0": 0,
    "int1": 1,
    "int127": 127,
    "int128": 128,
    "intneg1": -1,
    "int_max32": 2**31 - 1,
    "int_2_31": 2**31,
    "int_min32": -(2**31),
    "int_below_min32": -(2**31) - 1,
    "int_2_53": 2**53,
    "big": 2**100,
    "bigneg": -(2**100),
    "float1": 1.0,
    "float_negzero": -0.0,
    "float1_5": 1.5,
    "float_big": 1e300,
    "float_inf": math.inf,
    "float_ninf": -math.inf,
    "bytes_empty": b"",
    "bytes_hello": b"hello",
    "bytes_vocab": b"None",
    "bytes_binary": b"\x00\x80\xff",
    "str_empty": "",
    "str_hello": "hello",
    "str_snowman": "\u2603",
    "str_vocab": "tuple",
    "list_empty": [],
    "list_nested": [1, [2, [3]]],
    "tuple_empty": (),
    "tuple_mixed": (1, "a", b"b", None),
    "dict_empty": {},
    "dict_str": {"a": 1, "b": [1.5]},
    "dict_mixed_keys": {1: b"x", (1, 2): None, b"k": "v"},
    "set_one": {7},
    "frozenset_one": frozenset([b"x"]),
    "shared": _shared(),
    "cyclic": _cyclic(),
    "shared_tuple": _shared_tuple(),
    "nested_refs": _nested_refs(),
    "dict_shared": _dict_shared(),
    "long_string": b"x" * 300,
}


class _Sink:
    def __init__(self):
        self.data = b""

    def write(self, d):
        self.data += d


def pb_banana():
    b = banana.Banana(isClient=1)
    b.connectionMade = lambda: None
    b.setPrefixLimit(banana._PREFIX_LIMIT)
    b._selectDialect = lambda d: None
    b.currentDialect = b"pb"
    b.transport = _Sink()
    return b


def encode(value):
    b = pb_banana()
    b.sendEncoded(jelly.jelly(value, jelly.globalSecurity))
    return b.transport.data


def decode(data):
    b = pb_banana()
    out = []
    b.expressionReceived = out.append
    b.dataReceived(data)
    if len(out) != 1:
        raise ValueError("expected one expression, got %d" % len(out))
    return jelly.unjelly(out[0], jelly.globalSecurity)


def same(a, b):
    """Structural equality that also compares types (1 vs 1.0, list vs tuple) and -0.0."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b) or (a != a and b != b)
    if isinstance(a, (list, tuple)):
        if len(a) != len(b):
            return False
        return all(x is a and y is b or same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def main():
    mode = sys.argv[1]
    if mode == "encode":
        for name, value in TABLE.items():
            print(name, encode(value).hex())
    elif mode == "decode":
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            name, hexdata = line.split(" ")
            data = bytes.fromhex(hexdata)
            try:
                value = decode(data)
            except Exception as e:
                print(name, "bad", "decode: %r" % (e,))
                continue
            if name not in TABLE:
                print(name, "bad", "unknown name")
            elif not same(value, TABLE[name]):
                print(name, "bad", "value %r != %r" % (value, TABLE[name]))
            elif encode(value) != data:
                print(name, "bad", "re-encoded %s" % encode(value).hex())
            else:
                print(name, "ok")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
