"""A Twisted AMP client that calls a weft AMP server (HOST PORT) and checks every answer.
Prints `OK <checks>` and exits 0, or prints each failure and exits 1."""
import os
import sys

from twisted.internet import defer, endpoints, error, reactor, task
from twisted.protocols import amp

sys.path.insert(0, os.path.dirname(__file__))
from amp_defs import Divide, Echo, Nope, Sum, Transform, UnknownTransform  # noqa: E402

failures = []
checks = [0]


def check(what, got, want):
    checks[0] += 1
    if got != want:
        failures.append("%s: got %r, want %r" % (what, got, want))


async def expect_error(what, d, cls, description=None):
    try:
        value = await d
    except cls as e:
        checks[0] += 1
        if description is not None:
            check(what + " description", str(e), description)
        return e
    except Exception as e:  # noqa: BLE001
        failures.append("%s: got %r, want %s" % (what, e, cls.__name__))
        return None
    failures.append("%s: got answer %r, want %s" % (what, value, cls.__name__))
    return None


async def run(host, port):
    ep = endpoints.TCP4ClientEndpoint(reactor, host, port)
    proto = await endpoints.connectProtocol(ep, amp.AMP())

    r = await proto.callRemote(Sum, a=13, b=81)
    check("Sum(13, 81)", r["total"], 94)
    big = 2**70 + 12345
    r = await proto.callRemote(Sum, a=big, b=-(2**65))
    check("Sum(bigints)", r["total"], big - 2**65)
    r = await proto.callRemote(Divide, numerator=1, denominator=3)
    check("Divide(1, 3)", r["result"], 1 / 3)
    r = await proto.callRemote(Divide, numerator=-7, denominator=2)
    check("Divide(-7, 2)", r["result"], -3.5)
    await expect_error(
        "Divide(1, 0)",
        proto.callRemote(Divide, numerator=1, denominator=0),
        ZeroDivisionError,
        "division by zero",
    )
    for text in ["hello", "", "\u2603 h\u00e9llo \u65e5\u672c \U0001f600"]:
        r = await proto.callRemote(Echo, text=text)
        check("Echo(%r)" % text, r["text"], text)
    long_text = "x" * 59990 + "\u2603" * 3 + "y"  # 60,000 bytes of UTF-8
    assert len(long_text.encode("utf-8")) == 60000
    r = await proto.callRemote(Echo, text=long_text)
    check("Echo(60000 bytes)", r["text"], long_text)
    r = await proto.callRemote(Transform, name="cummingsify", text="Hello World \u00c9T\u00c9")
    check("Transform(cummingsify)", r["text"], "hello world \u00e9t\u00e9")
    r = await proto.callRemote(Transform, name="reverse", text="ab\u2603\U0001f600c")
    check("Transform(reverse)", r["text"], "c\U0001f600\u2603ba")
    await expect_error(
        "Transform(nope)",
        proto.callRemote(Transform, name="nope", text="x"),
        UnknownTransform,
        "no such transform: nope",
    )
    e = await expect_error("Nope", proto.callRemote(Nope), amp.UnhandledCommand)
    if e is not None:
        check("Nope description", e.args[1] if len(e.args) > 1 else str(e), "Unhandled Command: b'Nope'")
    r = await proto.callRemote(Sum, a=1, b=2)
    check("Sum after unknown command", r["total"], 3)

    n = 1000
    ds = [proto.callRemote(Sum, a=i, b=i * 3) for i in range(n)]
    results = await defer.gatherResults(ds)
    bad = [i for i, r in enumerate(results) if r["total"] != i * 4]
    check("1000 pipelined Sum answers wrong", bad, [])
    checks[0] += n - 1

    proto.transport.loseConnection()

    # A bad argument is an undeclared failure: UNKNOWN / "Unknown Error", then the server closes.
    proto2 = await endpoints.connectProtocol(ep, amp.AMP())
    e = await expect_error(
        "Sum(a=b'x')",
        proto2.callRemoteString(b"Sum", a=b"x", b=b"1"),
        amp.RemoteAmpError,
    )
    if e is not None:
        check("bad argument code", e.errorCode, b"UNKNOWN")
        check("bad argument description", e.description, "Unknown Error")
    await expect_error(
        "call after UNKNOWN", proto2.callRemote(Sum, a=1, b=2), error.ConnectionDone
    )


def main(reactor_, host, port):
    d = defer.ensureDeferred(run(host, int(port)))

    def done(result):
        if failures:
            for f in failures:
                print("FAIL " + f, flush=True)
            raise SystemExit(1)
        print("OK %d" % checks[0], flush=True)

    def err(failure):
        print("FAIL exception: %s" % failure.getTraceback(), flush=True)
        failures.append("exception")
        return None

    d.addErrback(err)
    d.addCallback(done)
    return d


if __name__ == "__main__":
    try:
        task.react(main, sys.argv[1:3])
    except SystemExit as e:
        sys.exit(e.code)
