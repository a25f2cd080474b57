"""The article's (Eckel, "Grokking Twisted") PB Server.py and Client.py, ported to Python 3.

`pb_article.py server [DELAY]`: the Calculator on three free ports (ids 0, 1, 2), prints
`listening P1 P2 P3`, serves until stdin closes. The article sleeps 1 s per call (blocking);
DELAY (default 0) keeps that, shorter.
`pb_article.py client HOST P1 P2 P3`: the article's client, unchanged but for print() and ports.
"""
import sys
import time

from twisted.internet import reactor, stdio
from twisted.protocols import basic
from twisted.spread import pb


class StdinWatch(basic.LineReceiver):
    def connectionLost(self, reason):
        if reactor.running:
            reactor.stop()


DELAY = float(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[1] == "server" else 0


class Calculator(pb.Root):
    def __init__(self, id):
        self.id = id
        print("Calculator", self.id, "running", file=sys.stderr)

    def remote_calculate(self, a, b):
        print("Calculator", self.id, "calculating ...", file=sys.stderr)
        time.sleep(DELAY)
        return a + b, self.id


class ModelCalculator:
    def __init__(self, host, ports):
        self.a = 42
        self.b = 47
        self.count = 0
        self.total = 0
        self.expected = len(ports)
        print("Connecting to Servers...")
        for port in ports:
            factory = pb.PBClientFactory()
            reactor.connectTCP(host, port, factory)
            factory.getRootObject().addCallbacks(self.connected, self.failure)

    def connected(self, perspective):
        perspective.callRemote("calculate", self.a, self.b).addCallbacks(self.success, self.failure)
        print("connected")
        self.a += 10
        self.b += 11

    def success(self, result):
        print(result)
        self.total += result[0]
        self.count += 1
        if self.count == self.expected:
            print("total:", self.total)
            reactor.stop()

    def failure(self, _):
        print("remote failure")
        reactor.stop()


def main():
    if sys.argv[1] == "server":
        ports = [
            reactor.listenTCP(0, pb.PBServerFactory(Calculator(i)), interface="127.0.0.1")
            for i in range(3)
        ]
        print("listening " + " ".join(str(p.getHost().port) for p in ports), flush=True)
        stdio.StandardIO(StdinWatch())
    else:
        ModelCalculator(sys.argv[2], [int(p) for p in sys.argv[3:]])
    reactor.run()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
