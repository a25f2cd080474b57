"""Twisted's AMP box codec rate, for bench/amp/codec.ts.

Usage: /usr/bin/python3 codec_twisted.py STREAM_FILE BOXES SAMPLES
Decodes the box stream in STREAM_FILE (fed in 64 KiB chunks to a BinaryBoxProtocol) and encodes
BOXES Sum request boxes with AmpBox.serialize; prints one JSON line with the median CPU seconds
(time.process_time) of each.
"""
import json
import sys
import time

from twisted.internet.testing import StringTransport
from twisted.protocols import amp


class Counter:
    def __init__(self):
        self.boxes = 0

    def startReceivingBoxes(self, sender):
        pass

    def ampBoxReceived(self, box):
        self.boxes += 1

    def stopReceivingBoxes(self, reason):
        pass


def decode_once(chunks):
    counter = Counter()
    proto = amp.BinaryBoxProtocol(counter)
    proto.makeConnection(StringTransport())
    t0 = time.process_time()
    for c in chunks:
        proto.dataReceived(c)
    return time.process_time() - t0, counter.boxes


def encode_once(n):
    t0 = time.process_time()
    for i in range(n):
        amp.AmpBox(
            {
                b"_ask": b"%x" % (i + 1),
                b"_command": b"Sum",
                b"a": b"%d" % i,
                b"b": b"%d" % (i * 7),
            }
        ).serialize()
    return time.process_time() - t0


def median(xs):
    return sorted(xs)[len(xs) // 2]


def main():
    path, n, samples = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with open(path, "rb") as f:
        data = f.read()
    chunks = [data[i : i + 65536] for i in range(0, len(data), 65536)]
    decode_once(chunks)
    dec = []
    boxes = 0
    for _ in range(samples):
        s, boxes = decode_once(chunks)
        dec.append(s)
    encode_once(n // 10)
    enc = [encode_once(n) for _ in range(samples)]
    print(json.dumps({"decodeBoxes": boxes, "decodeSeconds": median(dec), "encodeBoxes": n, "encodeSeconds": median(enc)}))


if __name__ == "__main__":
    main()
