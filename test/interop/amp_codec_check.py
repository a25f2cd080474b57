"""Twisted's side of test/interop/amp-codec.test.ts (the AMP box codec and argument types).

Reads one JSON document on stdin: {"boxes": [...], "args": [...], "parse": [...]}, and writes one JSON
document on stdout with, for each item, what Twisted 22.4 makes of it:
- boxes: {"pairs": [[keyhex, valuehex]...], "wire": weft's encoding (hex)}
  -> {"wire": AmpBox.serialize() hex, "parsed": [[keyhex, valuehex]...] from BinaryBoxProtocol fed weft's bytes}
- args: {"type": name, "value": JSON form, "wire": weft's encoding (hex)}
  -> {"wire": Twisted's encoding (hex), "again": Twisted's encoding of Twisted's decoding of weft's wire}
- parse: {"type": "Integer"|"Float"|"Decimal"|"Bool"|"DateTime", "text": latin1 text}
  -> canonical text of Twisted's decoding, or null when Twisted refuses it
"""
import datetime
import decimal
import json
import math
import struct
import sys

from twisted.internet.testing import StringTransport
from twisted.protocols import amp
from twisted.python._tzhelper import FixedOffsetTimeZone

AMP_LIST = amp.AmpList([(b"a", amp.Integer()), (b"b", amp.Unicode())])
ARGS = {
    "Integer": amp.Integer(),
    "Bytes": amp.String(),
    "Unicode": amp.Unicode(),
    "Bool": amp.Boolean(),
    "Float": amp.Float(),
    "Decimal": amp.Decimal(),
    "DateTime": amp.DateTime(),
    "ListOf(Integer)": amp.ListOf(amp.Integer()),
    "ListOf(Unicode)": amp.ListOf(amp.Unicode()),
    "ListOf(Decimal)": amp.ListOf(amp.Decimal()),
    "AmpList": AMP_LIST,
}


def from_json(kind, v):
    if kind == "Integer":
        return int(v)
    if kind == "Bytes":
        return bytes.fromhex(v)
    if kind == "Float":
        return struct.unpack(">d", bytes.fromhex(v))[0]
    if kind == "Decimal":
        return decimal.Decimal(v)
    if kind == "DateTime":
        y, mo, d, h, mi, s, us, off = v
        tz = FixedOffsetTimeZone.fromSignHoursMinutes("+" if off > 0 else "-", abs(off) // 60, abs(off) % 60)
        return datetime.datetime(y, mo, d, h, mi, s, us, tzinfo=tz)
    if kind == "ListOf(Integer)":
        return [int(x) for x in v]
    if kind == "ListOf(Decimal)":
        return [decimal.Decimal(x) for x in v]
    if kind == "AmpList":
        return [{"a": int(e["a"]), "b": e["b"]} for e in v]
    return v


def encode(kind, value):
    arg = ARGS[kind]
    if kind == "AmpList":
        return arg.toStringProto(value, amp.AMP())
    return arg.toString(value)


def decode(kind, wire):
    arg = ARGS[kind]
    if kind == "AmpList":
        return arg.fromStringProto(wire, amp.AMP())
    return arg.fromString(wire)


class Collect:
    def __init__(self):
        self.boxes = []

    def startReceivingBoxes(self, sender):
        pass

    def ampBoxReceived(self, box):
        self.boxes.append(box)

    def stopReceivingBoxes(self, reason):
        pass


def canonical(kind, text):
    raw = text.encode("latin1")
    try:
        v = decode(kind, raw)
    except Exception:
        return None
    if kind == "Float":
        return "nan" if math.isnan(v) else repr(v)
    if kind == "DateTime":
        return encode(kind, v).decode("ascii")
    return str(v)


def main():
    req = json.load(sys.stdin)
    out = {"boxes": [], "args": [], "parse": []}
    for b in req["boxes"]:
        pairs = {bytes.fromhex(k): bytes.fromhex(v) for k, v in b["pairs"]}
        wire = amp.AmpBox(pairs).serialize()
        c = Collect()
        p = amp.BinaryBoxProtocol(c)
        p.makeConnection(StringTransport())
        p.dataReceived(bytes.fromhex(b["wire"]))
        parsed = [[[k.hex(), v.hex()] for k, v in sorted(box.items())] for box in c.boxes]
        out["boxes"].append({"wire": wire.hex(), "parsed": parsed})
    for a in req["args"]:
        kind = a["type"]
        wire = encode(kind, from_json(kind, a["value"]))
        again = encode(kind, decode(kind, bytes.fromhex(a["wire"])))
        out["args"].append({"wire": wire.hex(), "again": again.hex()})
    for p in req["parse"]:
        out["parse"].append(canonical(p["type"], p["text"]))
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
