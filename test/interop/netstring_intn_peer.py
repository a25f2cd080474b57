"""The Twisted side of weft's netstring / Int8/16/32 interop tests (netstring-intn.test.ts).

usage:
  netstring_intn_peer.py server KIND MAX        listen on 127.0.0.1:0, print {"event": "listening", "port": PORT}
  netstring_intn_peer.py client KIND MAX PORT   talk to weft's echo server on 127.0.0.1:PORT

KIND is netstring, int8, int16 or int32; MAX is the receiver's MAX_LENGTH. Every event is printed
as one JSON line on stdout.

server: echoes every string; "__bytewise__" makes it send MESSAGES (the small ones one byte per
write, the MAX-sized one with sendString); "__bad__" makes it write a malformed frame.
client: sends MESSAGES (small ones one byte per write), expects them echoed, then writes a
malformed frame and expects weft to close the connection.
"""

import json
import sys

from twisted.internet import protocol, reactor
from twisted.internet.testing import StringTransport
from twisted.protocols import basic

KINDS = {
    "netstring": basic.NetstringReceiver,
    "int8": basic.Int8StringReceiver,
    "int16": basic.Int16StringReceiver,
    "int32": basic.Int32StringReceiver,
}


def emit(**event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def messages(max_length):
    big = bytes((i * 7 + 3) % 256 for i in range(max_length))
    return [b"", b"a", b"hello, world", big]


def malformed(kind, max_length):
    if kind == "netstring":
        return b"3aaa,"  # missing colon
    width = {"int8": 1, "int16": 2, "int32": 4}[kind]
    return (max_length + 1).to_bytes(width, "big") + b"zz"


def make_class(kind, max_length):
    base = KINDS[kind]

    class Peer(base):
        MAX_LENGTH = max_length

        def encode(self, data):
            # Twisted's own encoder, through a throwaway instance.
            other = base()
            t = StringTransport()
            other.makeConnection(t)
            other.sendString(data)
            return t.value()

        def write_bytewise(self, wire, then=None):
            def step(i):
                if i < len(wire):
                    self.transport.write(wire[i : i + 1])
                    reactor.callLater(0, step, i + 1)
                elif then is not None:
                    then()

            step(0)

        def lengthLimitExceeded(self, length):
            emit(event="limit", length=length)
            base.lengthLimitExceeded(self, length)

        def connectionLost(self, reason=protocol.connectionDone):
            emit(
                event="lost",
                reason=reason.type.__name__,
                brokenPeer=bool(getattr(self, "brokenPeer", 0)),
            )

    return Peer


def server(kind, max_length):
    Peer = make_class(kind, max_length)

    class Server(Peer):
        def stringReceived(self, data):
            emit(event="recv", length=len(data))
            if data == b"__bytewise__":
                msgs = messages(max_length)
                small = b"".join(self.encode(m) for m in msgs[:-1])
                self.write_bytewise(small, lambda: self.sendString(msgs[-1]))
            elif data == b"__bad__":
                self.transport.write(malformed(kind, max_length))
            else:
                self.sendString(data)

    factory = protocol.Factory.forProtocol(Server)
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    emit(event="listening", port=port.getHost().port)
    reactor.run()


def client(kind, max_length, port):
    Peer = make_class(kind, max_length)
    msgs = messages(max_length)
    result = {"code": 1}

    class Client(Peer):
        def connectionMade(self):
            self.echoes = []
            small = b"".join(self.encode(m) for m in msgs[:-1])
            self.write_bytewise(small, lambda: self.sendString(msgs[-1]))

        def stringReceived(self, data):
            self.echoes.append(data)
            if len(self.echoes) == len(msgs):
                ok = self.echoes == msgs
                emit(event="echoes", ok=ok, lengths=[len(e) for e in self.echoes])
                self.transport.write(malformed(kind, max_length))

        def connectionLost(self, reason=protocol.connectionDone):
            Peer.connectionLost(self, reason)
            result["code"] = 0 if len(self.echoes) == len(msgs) and self.echoes == msgs else 1
            if reactor.running:
                reactor.stop()

    class Factory(protocol.ClientFactory):
        def buildProtocol(self, addr):
            return Client()

        def clientConnectionFailed(self, connector, reason):
            emit(event="failed", reason=str(reason.value))
            reactor.stop()

    def timeout():
        emit(event="timeout")
        reactor.stop()

    reactor.connectTCP("127.0.0.1", port, Factory())
    reactor.callLater(20, timeout)
    reactor.run()
    sys.exit(result["code"])


if __name__ == "__main__":
    mode, kind, max_length = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "server":
        server(kind, max_length)
    else:
        client(kind, max_length, int(sys.argv[4]))
