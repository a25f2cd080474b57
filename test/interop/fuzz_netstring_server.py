"""Twisted's NetstringReceiver as a fuzz target and as a `weft fuzz --reference` (see test/fuzz/).

Usage (always with /usr/bin/python3, which has Twisted):
  fuzz_netstring_server.py [PORT] [echo|upper]
      Listens on 127.0.0.1:PORT (default 0) and prints "listening PORT". Every netstring received
      is answered with one netstring: the same bytes ("echo", the default) or the bytes with ASCII
      letters uppercased ("upper"); the connection stays open. Malformed input closes the
      connection (NetstringReceiver's own handling, MAX_LENGTH 99999). Runs until killed.
"""

import sys

from twisted.internet import protocol, reactor
from twisted.protocols import basic


class Answer(basic.NetstringReceiver):
    def stringReceived(self, string):
        self.sendString(self.factory.transform(string))


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    mode = sys.argv[2] if len(sys.argv) > 2 else "echo"
    factory = protocol.ServerFactory.forProtocol(Answer)
    factory.transform = (lambda s: s) if mode == "echo" else (lambda s: s.upper())
    listening = reactor.listenTCP(port, factory, interface="127.0.0.1")
    print("listening", listening.getHost().port, flush=True)
    reactor.run()


if __name__ == "__main__":
    main()
