"""A Twisted AMP server for weft's interop tests: prints `listening PORT`, serves until killed
(or until stdin closes)."""
import sys

from twisted.internet import protocol, reactor, stdio
from twisted.protocols import basic

sys.path.insert(0, __import__("os").path.dirname(__file__))
from amp_defs import CalcServer  # noqa: E402


class StdinWatch(basic.LineReceiver):
    def connectionLost(self, reason):
        if reactor.running:
            reactor.stop()


def main():
    factory = protocol.Factory.forProtocol(CalcServer)
    port = reactor.listenTCP(0, factory, interface="127.0.0.1", backlog=128)
    print("listening %d" % port.getHost().port, flush=True)
    stdio.StandardIO(StdinWatch())
    reactor.run()


if __name__ == "__main__":
    main()
