"""A Twisted (22.4) PB peer for weft's interop tests.

`pb_peer.py server`: serves a Root (calculate, echo, fail, crash, callback, give_unregistered) and,
on a second port, a portal (user alice, password secret) whose avatar answers perspective_whoami;
prints `listening PORT LOGINPORT` and serves until stdin closes.

`pb_peer.py client PORT LOGINPORT`: calls weft's examples/pb-server.ts root (PORT) and a weft
portal (LOGINPORT) and prints `ok NAME` or `bad NAME DETAIL` per check, then `done`.
"""
import math
import sys

from twisted.cred import checkers, credentials, error, portal
from twisted.internet import defer, reactor, stdio
from twisted.protocols import basic
from twisted.spread import flavors, jelly, pb
from zope.interface import implementer


class StdinWatch(basic.LineReceiver):
    def connectionLost(self, reason):
        if reactor.running:
            reactor.stop()


class InteropRoot(pb.Root):
    def remote_calculate(self, a, b):
        return a + b, 0

    def remote_echo(self, value):
        return value

    def remote_fail(self, message):
        raise pb.Error(message)

    def remote_crash(self, message):
        raise ValueError(message)

    def remote_callback(self, ref, value):
        return ref.callRemote("got", value)


class User(pb.Avatar):
    def __init__(self, name):
        self.name = name

    def perspective_whoami(self):
        return self.name


@implementer(portal.IRealm)
class Realm:
    def requestAvatar(self, avatarId, mind, *interfaces):
        return pb.IPerspective, User(avatarId.decode() if isinstance(avatarId, bytes) else avatarId), lambda: None


def serve():
    p1 = reactor.listenTCP(0, pb.PBServerFactory(InteropRoot()), interface="127.0.0.1")
    checker = checkers.InMemoryUsernamePasswordDatabaseDontUse(alice=b"secret")
    checker.addUser(b"alice", b"secret")
    p2 = reactor.listenTCP(
        0, pb.PBServerFactory(portal.Portal(Realm(), [checker])), interface="127.0.0.1"
    )
    print("listening %d %d" % (p1.getHost().port, p2.getHost().port), flush=True)
    stdio.StandardIO(StdinWatch())
    reactor.run()


class Callback(pb.Referenceable):
    def remote_got(self, value):
        return ("got", value)


class Evil(pb.Copyable):
    def __init__(self):
        self.x = 1


def same(a, b):
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


ECHOES = {
    "none": None,
    "bools": [True, False],
    "ints": [0, 1, -1, 2**31, -(2**31) - 1, 2**53 + 1, -(2**100)],
    "floats": [1.0, -0.0, 0.5, 1e300, math.inf],
    "bytes": [b"", b"None", b"\x00\xff"],
    "text": ["", "hello", "\u2603", "tuple"],
    "tuple": (1, (2, "x")),
    "dict": {"a": 1, b"b": [2.5], 3: (4,)},
    "set": {1, 2},
    "frozenset": frozenset([b"x"]),
}


def check(results, name, ok, detail=""):
    results.append(name)
    print(("ok %s" % name) if ok else ("bad %s %s" % (name, detail)), flush=True)


@defer.inlineCallbacks
def client(port, loginport):
    results = []
    f = pb.PBClientFactory()
    reactor.connectTCP("127.0.0.1", port, f)
    root = yield f.getRootObject()
    r = yield root.callRemote("calculate", 42, 47)
    check(results, "calculate", r == (89, 0) and type(r) is tuple, repr(r))
    r = yield root.callRemote("calculate", 2**70, 1)
    check(results, "calculate-big", r == (2**70 + 1, 0), repr(r))
    for name, value in ECHOES.items():
        r = yield root.callRemote("echo", value)
        check(results, "echo-" + name, same(r, value), "%r != %r" % (r, value))
    shared = [1]
    r = yield root.callRemote("echo", [shared, shared])
    check(results, "echo-shared", r[0] is r[1] and r[0] == [1], repr(r))
    cyc = []
    cyc.append(cyc)
    r = yield root.callRemote("echo", cyc)
    check(results, "echo-cyclic", r[0] is r, repr(r))
    try:
        yield root.callRemote("fail", "bad input")
        check(results, "pb-error", False, "no error")
    except Exception as e:
        check(results, "pb-error", "bad input" in str(e), repr(e))
    d = root.callRemote("fail", "typed")
    d.addErrback(lambda fl: fl.check(pb.Error) is not None and fl.getErrorMessage() == "typed")
    r = yield d
    check(results, "pb-error-check", r is True, repr(r))
    d = root.callRemote("crash", "oops")
    d.addErrback(lambda fl: (fl.type, fl.getErrorMessage(), fl.check(Exception) is not None))
    r = yield d
    check(results, "remote-error", r == (b"weft.Error", "oops", True), repr(r))
    d = root.callRemote("nosuch")
    d.addErrback(lambda fl: fl.check(flavors.NoSuchMethod) is not None)
    r = yield d
    check(results, "no-such-method", r is True, repr(r))
    r = yield root.callRemote("callback", Callback(), 5)
    check(results, "callback", r == ("got", 5), repr(r))
    d = root.callRemote("echo", Evil())
    d.addErrback(lambda fl: (fl.type, fl.getErrorMessage()))
    r = yield d
    check(
        results,
        "insecure-jelly",
        r == (b"twisted.spread.jelly.InsecureJelly", "Module __main__ not allowed (in type __main__.Evil)."),
        repr(r),
    )
    r = yield root.callRemote("echo", "still serving")
    check(results, "serving-after-insecure", r == "still serving", repr(r))

    good = pb.PBClientFactory()
    reactor.connectTCP("127.0.0.1", loginport, good)
    avatar = yield good.login(credentials.UsernamePassword(b"alice", b"secret"))
    r = yield avatar.callRemote("whoami")
    check(results, "login", r == "alice", repr(r))
    bad = pb.PBClientFactory()
    reactor.connectTCP("127.0.0.1", loginport, bad)
    d = bad.login(credentials.UsernamePassword(b"alice", b"wrong"))
    d.addCallbacks(lambda _: "no error", lambda fl: fl.check(error.UnauthorizedLogin) is not None)
    r = yield d
    check(results, "login-wrong-password", r is True, repr(r))
    for fac in (f, good, bad):
        fac.disconnect()
    print("done", flush=True)


def main():
    if sys.argv[1] == "server":
        serve()
    else:
        def stop(x):
            if isinstance(x, Exception) or hasattr(x, "getTraceback"):
                print("bad crashed %s" % (x.getTraceback() if hasattr(x, "getTraceback") else x), flush=True)
            reactor.stop()

        reactor.callWhenRunning(
            lambda: client(int(sys.argv[2]), int(sys.argv[3])).addBoth(stop)
        )
        reactor.run()


if __name__ == "__main__":
    main()
