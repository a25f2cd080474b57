"""Twisted AMP server for bench/amp/run.ts: Sum(a, b) -> total. Prints `listening PORT`; on a stdin
line `cpu` prints `cpu <process CPU µs>`; exits when stdin closes."""
import time

from twisted.internet import protocol, reactor, stdio
from twisted.protocols import amp, basic


class Sum(amp.Command):
    arguments = [(b"a", amp.Integer()), (b"b", amp.Integer())]
    response = [(b"total", amp.Integer())]


class SumServer(amp.AMP):
    @Sum.responder
    def sum(self, a, b):
        return {"total": a + b}


class Control(basic.LineReceiver):
    delimiter = b"\n"

    def lineReceived(self, line):
        if line.strip() == b"cpu":
            self.transport.write(b"cpu %d\n" % int(time.process_time() * 1e6))

    def connectionLost(self, reason):
        if reactor.running:
            reactor.stop()


def main():
    # backlog 128: Twisted's default of 50 overflows when 64 clients connect at once.
    port = reactor.listenTCP(
        0, protocol.Factory.forProtocol(SumServer), interface="127.0.0.1", backlog=128
    )
    print("listening %d" % port.getHost().port, flush=True)
    stdio.StandardIO(Control())
    reactor.run()


if __name__ == "__main__":
    main()
