"""Twisted's LineReceiver / LineOnlyReceiver as a peer for weft's line receivers (interop tests).

Usage (always with /usr/bin/python3, which has Twisted):
  lines_peer.py server line|lineonly
      Echo server on 127.0.0.1, port 0. Prints "listening PORT", then for every connection that
      ends: "lost N EXCEEDED|OK" (N = lines received, EXCEEDED if lineLengthExceeded was called).
  lines_peer.py rawserver
      Like "server", with the LenEcho protocol (below): prints "listening PORT".
  lines_peer.py rawclient PORT bytewise|whole
      Sends RAW_SCRIPT to weft's LenEcho server (one byte per write, or in one write), checks the
      replies and prints "OK n" or "FAIL ...".
  lines_peer.py client PORT lines|toolong
      Connects to weft's echo server. "lines": sends an empty line, a 1-byte line, a 16384-byte
      (MAX_LENGTH) line and a line written one byte per write; checks the echoes and prints
      "OK n" or "FAIL ...". "toolong": sends a 16385-byte line then "after"; prints "CLOSED n"
      once weft closes the connection (n = echoes received).
"""

import sys

from twisted.internet import protocol, reactor
from twisted.protocols import basic

MAX = 16384
BYTEWISE = b"bytewise line"
EXPECTED = [b"", b"a", b"x" * MAX, BYTEWISE]


def make_echo(base):
    class Echo(base):
        def connectionMade(self):
            self.count = 0
            self.exceeded = False

        def lineReceived(self, line):
            self.count += 1
            self.sendLine(line)

        def lineLengthExceeded(self, line):
            self.exceeded = True
            return base.lineLengthExceeded(self, line)

        def connectionLost(self, reason):
            print("lost", self.count, "EXCEEDED" if self.exceeded else "OK", flush=True)

    return Echo


# LenEcho: a line "len N" switches to raw mode for the next N bytes, answered "raw <hex>", then line
# mode again with whatever followed them; any other line is answered "line <line>".
RAW_SCRIPT = b"hello\r\nlen 5\r\n12345after\r\nlen 3\r\na\r\nend\r\n"
RAW_REPLIES = [b"line hello", b"raw 3132333435", b"line after", b"raw 610d0a", b"line end"]


class LenEcho(basic.LineReceiver):
    def connectionMade(self):
        self.want = 0
        self.raw = b""

    def lineReceived(self, line):
        if line.startswith(b"len "):
            self.want = int(line[4:])
            self.raw = b""
            self.setRawMode()
        else:
            self.sendLine(b"line " + line)

    def rawDataReceived(self, data):
        take = data[: self.want - len(self.raw)]
        self.raw += take
        if len(self.raw) == self.want:
            self.sendLine(b"raw " + self.raw.hex().encode())
            self.setLineMode(data[len(take) :])


class RawClient(basic.LineReceiver):
    def __init__(self, how):
        self.how = how
        self.got = []

    def connectionMade(self):
        if self.how == "whole":
            self.transport.write(RAW_SCRIPT)
        else:
            for i in range(len(RAW_SCRIPT)):
                reactor.callLater(0.002 * i, self.transport.write, RAW_SCRIPT[i : i + 1])

    def lineReceived(self, line):
        self.got.append(line)
        if len(self.got) == len(RAW_REPLIES):
            if self.got == RAW_REPLIES:
                print("OK", len(self.got), flush=True)
            else:
                print("FAIL", self.got, flush=True)
            self.transport.loseConnection()

    def connectionLost(self, reason):
        if len(self.got) < len(RAW_REPLIES):
            print("FAIL lost after", self.got, flush=True)
        if reactor.running:
            reactor.stop()


class Client(basic.LineReceiver):
    def __init__(self, scenario):
        self.scenario = scenario
        self.got = []
        self.done = False

    def connectionMade(self):
        if self.scenario == "lines":
            self.sendLine(b"")
            self.sendLine(b"a")
            self.sendLine(b"x" * MAX)
            data = BYTEWISE + self.delimiter
            for i in range(len(data)):
                reactor.callLater(0.002 * i, self.transport.write, data[i : i + 1])
        else:
            self.transport.write(b"x" * (MAX + 1) + b"\r\nafter\r\n")

    def lineReceived(self, line):
        self.got.append(line)
        if self.scenario == "lines" and len(self.got) == len(EXPECTED):
            if self.got == EXPECTED:
                print("OK", len(self.got), flush=True)
            else:
                print("FAIL", [len(g) for g in self.got], flush=True)
            self.done = True
            self.transport.loseConnection()

    def connectionLost(self, reason):
        if self.scenario == "toolong":
            print("CLOSED", len(self.got), flush=True)
        elif not self.done:
            print("FAIL lost after", len(self.got), "lines", flush=True)
        if reactor.running:
            reactor.stop()


class ClientFactory(protocol.ClientFactory):
    def __init__(self, scenario):
        self.scenario = scenario

    def buildProtocol(self, addr):
        if self.scenario in ("bytewise", "whole"):
            return RawClient(self.scenario)
        return Client(self.scenario)

    def clientConnectionFailed(self, connector, reason):
        print("FAIL connect", reason.getErrorMessage(), flush=True)
        reactor.stop()


def main():
    mode = sys.argv[1]
    if mode in ("server", "rawserver"):
        factory = protocol.ServerFactory()
        if mode == "rawserver":
            factory.protocol = LenEcho
        else:
            base = basic.LineOnlyReceiver if sys.argv[2] == "lineonly" else basic.LineReceiver
            factory.protocol = make_echo(base)
        port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        print("listening", port.getHost().port, flush=True)
    else:
        # client / rawclient: the scenario names tell them apart
        reactor.connectTCP("127.0.0.1", int(sys.argv[2]), ClientFactory(sys.argv[3]))
    # Never outlive a test run that forgot us.
    reactor.callLater(60, reactor.stop)
    reactor.run()


if __name__ == "__main__":
    main()
