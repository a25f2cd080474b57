"""A real Twisted 22.4 client against weft's service front-ends (test/interop/services.test.ts).

Usage: /usr/bin/python3 services_client.py '{"netstring": P, "line": P, "amp": P, "calc": P, "poetry_amp": P}'
Prints one JSON object with what Twisted received from each front-end.
"""
import json
import sys

from twisted.internet import defer, protocol, task
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.protocols import amp, basic


class UnknownTransform(Exception):
    pass


class TransformFailed(Exception):
    pass


class UnknownPoem(Exception):
    pass


class Transform(amp.Command):
    arguments = [(b"name", amp.Unicode()), (b"text", amp.Unicode())]
    response = [(b"text", amp.Unicode())]
    errors = {UnknownTransform: b"UNKNOWN_TRANSFORM", TransformFailed: b"TRANSFORM_FAILED"}


class Calculate(amp.Command):
    arguments = [(b"a", amp.Integer()), (b"b", amp.Integer())]
    response = [(b"result", amp.Integer()), (b"server", amp.Integer())]


class GetPoem(amp.Command):
    arguments = [(b"name", amp.Unicode())]
    response = [(b"poem", amp.Unicode())]
    errors = {UnknownPoem: b"UNKNOWN_POEM"}


class NetstringOnce(basic.NetstringReceiver):
    """The tutorial's TransformClientProtocol: one request, the reply, then the server closes."""

    def __init__(self, request):
        self.request = request
        self.replies = []
        self.done = defer.Deferred()

    def connectionMade(self):
        self.sendString(self.request)

    def stringReceived(self, s):
        self.replies.append(s.decode("utf-8"))

    def connectionLost(self, reason):
        self.done.callback(self.replies)


class Lines(basic.LineReceiver):
    delimiter = b"\r\n"

    def __init__(self, requests):
        self.requests = requests
        self.replies = []
        self.done = defer.Deferred()

    def connectionMade(self):
        # all requests in one write: pipelined
        self.transport.write(b"".join(r + b"\r\n" for r in self.requests))

    def lineReceived(self, line):
        self.replies.append(line.decode("utf-8"))
        if len(self.replies) == len(self.requests):
            self.transport.loseConnection()
            self.done.callback(self.replies)


@defer.inlineCallbacks
def main(reactor, ports_json):
    ports = json.loads(ports_json)
    out = {}

    def ep(port):
        return TCP4ClientEndpoint(reactor, "127.0.0.1", port)

    ns = []
    for request in [b"cummingsify.Hello World", "reverse.añ☃".encode("utf-8"), b"nope.x", b"no dot"]:
        p = yield connectProtocol(ep(ports["netstring"]), NetstringOnce(request))
        ns.append((yield p.done))
    out["netstring"] = ns

    p = yield connectProtocol(
        ep(ports["line"]), Lines([b"upper hello", b"nope x", "title \u00e9t\u00e9 indien".encode("utf-8"), b"reverse a\\r\\nb"])
    )
    out["line"] = yield p.done

    a = yield connectProtocol(ep(ports["amp"]), amp.AMP())
    r = yield a.callRemote(Transform, name="rot13", text="Hello, ☃")
    out["amp"] = [r["text"]]
    try:
        yield a.callRemote(Transform, name="__proto__", text="x")
        out["amp"].append("no error")
    except UnknownTransform as e:
        out["amp"].append("UnknownTransform: " + str(e))
    calls = yield defer.gatherResults([a.callRemote(Transform, name="upper", text=str(i)) for i in range(100)])
    out["amp_pipelined"] = [c["text"] for c in calls]
    a.transport.loseConnection()

    c = yield connectProtocol(ep(ports["calc"]), amp.AMP())
    r = yield c.callRemote(Calculate, a=2**70, b=-5)
    out["calc"] = [str(r["result"]), r["server"]]
    c.transport.loseConnection()

    g = yield connectProtocol(ep(ports["poetry_amp"]), amp.AMP())
    r = yield g.callRemote(GetPoem, name="blake-sick-rose")
    out["poem"] = r["poem"]
    try:
        yield g.callRemote(GetPoem, name="nope")
    except UnknownPoem as e:
        out["poem_error"] = str(e)
    g.transport.loseConnection()

    print(json.dumps(out))


if __name__ == "__main__":
    task.react(main, [sys.argv[1]])
