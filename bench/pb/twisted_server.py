"""Twisted PB server for bench/pb/run.ts: the article's Calculator (calculate(a, b) -> (a + b, 0)).
Prints `listening PORT`; on a stdin line `cpu` prints `cpu <process CPU µs>`; exits when stdin
closes. `twisted_server.py banana HEXFILE N` instead times Twisted's banana decoding of the bytes in
HEXFILE (N passes) and prints `banana <tokens> <seconds>`."""
import sys
import time

from twisted.internet import reactor, stdio
from twisted.protocols import basic
from twisted.spread import banana, pb


class Calculator(pb.Root):
    def remote_calculate(self, a, b):
        return a + b, 0


class Control(basic.LineReceiver):
    delimiter = b"\n"

    def lineReceived(self, line):
        if line.strip() == b"cpu":
            self.transport.write(b"cpu %d\n" % int(time.process_time() * 1e6))

    def connectionLost(self, reason):
        if reactor.running:
            reactor.stop()


def bench_banana(path, passes):
    data = bytes.fromhex(open(path).read().strip())
    best = None
    count = 0
    for _ in range(passes):
        b = banana.Banana(isClient=1)
        b.connectionMade = lambda: None
        b.setPrefixLimit(64)
        b.currentDialect = b"pb"
        n = [0]
        b.expressionReceived = lambda e: n.__setitem__(0, n[0] + 1)
        t = time.perf_counter()
        # Feed in 64 KiB chunks, as a socket would.
        for i in range(0, len(data), 65536):
            b.dataReceived(data[i : i + 65536])
        dt = time.perf_counter() - t
        best = dt if best is None or dt < best else best
        count = n[0]
    print("banana %d %f" % (count, best), flush=True)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "banana":
        bench_banana(sys.argv[2], int(sys.argv[3]))
        return
    port = reactor.listenTCP(0, pb.PBServerFactory(Calculator()), interface="127.0.0.1", backlog=128)
    print("listening %d" % port.getHost().port, flush=True)
    stdio.StandardIO(Control())
    reactor.run()


if __name__ == "__main__":
    main()
