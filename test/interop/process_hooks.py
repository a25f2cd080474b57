"""Record the ProcessProtocol hooks Twisted calls for a few child processes, as JSON on stdout.

Cases (each a /bin/sh child that writes "out" to stdout and "err" to stderr):
  exit3   - then exits with code 3
  exit0   - then exits with code 0
  sigterm - then sleeps; the parent sends TERM once it has seen both outputs
Each event is [hook, detail...]; processExited/processEnded carry [class, exitCode, signal].
"""
import json
import sys

from twisted.internet import error, protocol, reactor

CASES = {
    "exit3": "printf out; printf err >&2; exit 3",
    "exit0": "printf out; printf err >&2; exit 0",
    "sigterm": "printf out; printf err >&2; exec sleep 30",
}


def describe(reason):
    v = reason.value
    return [type(v).__name__, v.exitCode, v.signal]


class Recorder(protocol.ProcessProtocol):
    def __init__(self, name, events, done):
        self.name = name
        self.events = events
        self.done = done
        self.seen = b""

    def connectionMade(self):
        self.events.append(["connectionMade"])

    def outReceived(self, data):
        self.events.append(["outReceived", data.decode()])
        self.maybeSignal(data)

    def errReceived(self, data):
        self.events.append(["errReceived", data.decode()])
        self.maybeSignal(data)

    def maybeSignal(self, data):
        self.seen += data
        if self.name == "sigterm" and b"out" in self.seen and b"err" in self.seen:
            self.seen = b"-"
            self.transport.signalProcess("TERM")

    def inConnectionLost(self):
        self.events.append(["inConnectionLost"])

    def outConnectionLost(self):
        self.events.append(["outConnectionLost"])

    def errConnectionLost(self):
        self.events.append(["errConnectionLost"])

    def processExited(self, reason):
        self.events.append(["processExited"] + describe(reason))

    def processEnded(self, reason):
        self.events.append(["processEnded"] + describe(reason))
        self.done()


def main():
    results = {}
    pending = set(CASES)

    def finish(name):
        pending.discard(name)
        if not pending:
            reactor.stop()

    for name, script in CASES.items():
        results[name] = []
        rec = Recorder(name, results[name], lambda n=name: finish(n))
        reactor.spawnProcess(rec, "/bin/sh", ["sh", "-c", script], env=None)
    reactor.callLater(20, reactor.stop)
    reactor.run()
    json.dump(results, sys.stdout)


main()
