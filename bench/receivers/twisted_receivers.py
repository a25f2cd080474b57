"""Twisted's receivers fed in memory, for bench/receivers (called by common.ts `twisted()`).

usage: twisted_receivers.py RECEIVER INPUT_FILE CHUNK_SIZE MAX_LENGTH SAMPLES
RECEIVER: line | lineonly | netstring | int32 | int16 | int8
Prints one JSON object: {"frames": <frames per run>, "seconds": <best run's seconds>}.
"""

import json
import sys
import time

from twisted.internet.testing import StringTransport
from twisted.protocols import basic


def make(kind, max_length):
    base = {
        "line": basic.LineReceiver,
        "lineonly": basic.LineOnlyReceiver,
        "netstring": basic.NetstringReceiver,
        "int32": basic.Int32StringReceiver,
        "int16": basic.Int16StringReceiver,
        "int8": basic.Int8StringReceiver,
    }[kind]

    class Counter(base):
        MAX_LENGTH = max_length
        delimiter = b"\n"
        count = 0

        def lineReceived(self, line):
            self.count += 1

        def stringReceived(self, data):
            self.count += 1

    return Counter


def main():
    kind, path, chunk, max_length, samples = sys.argv[1:6]
    chunk = int(chunk)
    with open(path, "rb") as f:
        data = f.read()
    chunks = [data[i : i + chunk] for i in range(0, len(data), chunk)]
    cls = make(kind, int(max_length))
    times = []
    frames = 0
    for _ in range(int(samples)):
        p = cls()
        p.makeConnection(StringTransport())
        t0 = time.perf_counter()
        for c in chunks:
            p.dataReceived(c)
        times.append(time.perf_counter() - t0)
        frames = p.count
    print(json.dumps({"frames": frames, "seconds": min(times)}))


if __name__ == "__main__":
    main()
