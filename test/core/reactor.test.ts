import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Clock } from "../../src/core/clock.js";
import {
  CannotListenError,
  ConnectError,
  ConnectionDone,
  ConnectionLost,
  ConnectionRefusedError,
  ConnectTimeoutError,
  InvalidArgumentError,
} from "../../src/core/errors.js";
import { ClientFactory, Factory } from "../../src/core/factory.js";
import type { Connector } from "../../src/core/interfaces.js";
import { Protocol } from "../../src/core/protocol.js";
import {
  ConnectingCancelledError,
  createReactor,
  Reactor,
  type SocketPort,
} from "../../src/core/reactor.js";
import { Cleanups, listenLoopback } from "../helpers/loopback.js";

const cleanups = new Cleanups();
afterEach(cleanups.run);

class Echo extends Protocol {
  override dataReceived(data: Uint8Array): void {
    this.transport.write(data);
  }
}

const listenLocal = (reactor: Reactor, factory: Factory): Promise<SocketPort> =>
  listenLoopback(reactor, factory, cleanups);

/** A port number nothing listens on: bound, read back, closed. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** The log of a {@link LoggingClientFactory} whose only connection attempt failed. */
const ONE_FAILED_ATTEMPT = [
  "startFactory",
  "startedConnecting",
  "clientConnectionFailed",
  "stopFactory",
];

/** A ClientFactory that logs every call in order. */
class LoggingClientFactory extends ClientFactory<Protocol> {
  log: string[] = [];
  reasons: Error[] = [];
  settled: Promise<void>;
  private settle!: () => void;
  constructor(private readonly make: () => Protocol = () => new Protocol()) {
    super();
    this.settled = new Promise((r) => (this.settle = r));
  }
  override startFactory(): void {
    this.log.push("startFactory");
  }
  override stopFactory(): void {
    this.log.push("stopFactory");
    this.settle();
  }
  override startedConnecting(_c: Connector): void {
    this.log.push("startedConnecting");
  }
  override buildProtocol(): Protocol {
    this.log.push("buildProtocol");
    const p = this.make();
    const log = this.log;
    const made = p.connectionMade.bind(p);
    p.connectionMade = () => {
      log.push("connectionMade");
      made();
    };
    return p;
  }
  override clientConnectionFailed(_c: Connector, reason: Error): void {
    this.log.push("clientConnectionFailed");
    this.reasons.push(reason);
  }
  override clientConnectionLost(_c: Connector, reason: Error): void {
    this.log.push("clientConnectionLost");
    this.reasons.push(reason);
  }
}

describe("Reactor.connectTCP", () => {
  it("follows Twisted's flow for a connection that is made and then lost", async () => {
    const reactor = createReactor();
    const port = await listenLocal(reactor, Factory.forProtocol(Echo));
    const f = new LoggingClientFactory(
      () =>
        new (class extends Protocol {
          override connectionMade(): void {
            this.transport.loseConnection();
          }
        })(),
    );
    const connector = reactor.connectTCP("127.0.0.1", port.getHost().port, f);
    expect(connector.getDestination()).toEqual({
      type: "TCP",
      host: "127.0.0.1",
      port: port.getHost().port,
    });
    await f.settled;
    expect(f.log).toEqual([
      "startFactory",
      "startedConnecting",
      "buildProtocol",
      "connectionMade",
      "clientConnectionLost",
      "stopFactory",
    ]);
    expect(f.reasons[0]).toBeInstanceOf(ConnectionDone);
    expect(f.numPorts).toBe(0);
  });

  it("fails a refused connection with ConnectionRefusedError, and connect() retries", async () => {
    const reactor = createReactor();
    const portNumber = await closedPort();
    const f = new LoggingClientFactory();
    let retried = false;
    f.clientConnectionFailed = (connector, reason) => {
      f.log.push("clientConnectionFailed");
      f.reasons.push(reason);
      if (!retried) {
        retried = true;
        connector.connect(); // from inside the callback: the factory is not stopped in between
      }
    };
    reactor.connectTCP("127.0.0.1", portNumber, f);
    await f.settled;
    expect(f.log).toEqual([
      "startFactory",
      "startedConnecting",
      "clientConnectionFailed",
      "startedConnecting",
      "clientConnectionFailed",
      "stopFactory",
    ]);
    for (const r of f.reasons) {
      expect(r).toBeInstanceOf(ConnectionRefusedError);
      expect((r as ConnectionRefusedError).code).toBe("ERR_CONNECTION_REFUSED");
      expect(((r as Error).cause as NodeJS.ErrnoException).code).toBe("ECONNREFUSED");
    }
  });

  it("times out through the reactor's clock with ConnectTimeoutError", async () => {
    const clock = new Clock();
    const reactor = createReactor({ clock });
    const port = await listenLocal(reactor, Factory.forProtocol(Echo));
    const f = new LoggingClientFactory();
    reactor.connectTCP("127.0.0.1", port.getHost().port, f, { timeout: 5 });
    clock.advance(4.9);
    expect(f.log).toEqual(["startFactory", "startedConnecting"]);
    clock.advance(0.1); // before the socket had a chance to connect
    expect(f.log).toEqual(ONE_FAILED_ATTEMPT);
    expect(f.reasons[0]).toBeInstanceOf(ConnectTimeoutError);
    expect((f.reasons[0] as ConnectTimeoutError).code).toBe("ERR_CONNECT_TIMEOUT");
  });

  it("stopConnecting abandons the attempt with ConnectingCancelledError; disconnect closes", async () => {
    const reactor = createReactor();
    const port = await listenLocal(reactor, Factory.forProtocol(Echo));
    const f = new LoggingClientFactory();
    const connector = reactor.connectTCP("127.0.0.1", port.getHost().port, f);
    connector.stopConnecting();
    expect(f.log).toEqual(ONE_FAILED_ATTEMPT);
    expect(f.reasons[0]).toBeInstanceOf(ConnectingCancelledError);
    expect(connector.state).toBe("disconnected");

    const g = new LoggingClientFactory();
    const made = new Promise<void>((r) => {
      g.startedConnecting = () => {};
      const orig = g.buildProtocol.bind(g);
      g.buildProtocol = () => {
        const p = orig();
        queueMicrotask(r);
        return p;
      };
    });
    const c2 = reactor.connectTCP("127.0.0.1", port.getHost().port, g);
    await made;
    expect(c2.state).toBe("connected");
    c2.disconnect();
    await g.settled;
    expect(g.log.slice(-2)).toEqual(["clientConnectionLost", "stopFactory"]);
  });
});

describe("Reactor.listenTCP", () => {
  it("counts startFactory/stopFactory across two ports", async () => {
    const reactor = createReactor();
    const calls: string[] = [];
    const f = Factory.forProtocol(Echo);
    f.startFactory = () => calls.push("start");
    f.stopFactory = () => calls.push("stop");
    const a = await reactor.listenTCP(0, f, { interface: "127.0.0.1" });
    const b = await reactor.listenTCP(0, f, { interface: "127.0.0.1" });
    expect(calls).toEqual(["start"]);
    expect(f.numPorts).toBe(2);
    await a.stopListening();
    await a.stopListening(); // idempotent
    expect(calls).toEqual(["start"]);
    await b.stopListening();
    expect(calls).toEqual(["start", "stop"]);
    expect(f.numPorts).toBe(0);
  });

  it("closes the connection at once when buildProtocol returns null", async () => {
    const reactor = createReactor();
    const f = new Factory();
    f.buildProtocol = () => null;
    const port = await listenLocal(reactor, f);
    const client = net.connect(port.getHost().port, "127.0.0.1");
    client.on("error", () => {});
    await new Promise<void>((r) => client.once("close", () => r()));
    expect(port.connections.size).toBe(0);
  });

  it("rejects with CannotListenError when the port is taken", async () => {
    const reactor = createReactor();
    const port = await listenLocal(reactor, Factory.forProtocol(Echo));
    const f = Factory.forProtocol(Echo);
    const err = await reactor
      .listenTCP(port.getHost().port, f, { interface: "127.0.0.1" })
      .catch((e) => e);
    expect(err).toBeInstanceOf(CannotListenError);
    expect(err.code).toBe("ERR_CANNOT_LISTEN");
    expect(err.cause.code).toBe("EADDRINUSE");
    expect(f.numPorts).toBe(0);
  });

  it("stopListening refuses new connections but keeps open ones; closeConnections ends them", async () => {
    const reactor = createReactor();
    const port = await listenLocal(reactor, Factory.forProtocol(Echo));
    const n = port.getHost().port;
    const client = net.connect(n, "127.0.0.1");
    await new Promise<void>((r) => client.once("connect", () => r()));
    await port.stopListening();
    const refused = net.connect(n, "127.0.0.1");
    const err = await new Promise<NodeJS.ErrnoException>((r) => refused.once("error", r));
    expect(err.code).toBe("ECONNREFUSED");
    const echoed = new Promise<string>((r) => client.once("data", (c: Buffer) => r(c.toString())));
    client.write("still open");
    expect(await echoed).toBe("still open");
    expect(port.connections.size).toBe(1);
    const ended = new Promise<void>((r) => client.once("end", () => r()));
    client.resume();
    await Promise.all([port.closeConnections(), ended]);
    expect(port.connections.size).toBe(0);
    client.destroy();
  });
});

describe("bounded graceful close (closeConnections / stopListening timeout)", () => {
  /** A raw client that reads everything but never sends its FIN (allowHalfOpen). */
  async function stubbornClient(
    port: number,
  ): Promise<{ socket: net.Socket; ended: Promise<void> }> {
    const socket = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
    socket.on("error", () => undefined);
    cleanups.push(() => socket.destroy());
    await new Promise<void>((r) => socket.once("connect", () => r()));
    const ended = new Promise<void>((r) => socket.once("end", () => r()));
    socket.resume();
    return { socket, ended };
  }

  /** Lets pending I/O callbacks run (no timing involved: used to show something did NOT happen). */
  async function turns(n = 5): Promise<void> {
    for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
  }

  /** A server factory whose protocols record their connectionLost reason. */
  function lossRecorder(): { factory: Factory; reasons: Error[]; made: Promise<void> } {
    const reasons: Error[] = [];
    let madeOne!: () => void;
    const made = new Promise<void>((r) => (madeOne = r));
    const factory = Factory.forProtocol(
      class extends Echo {
        override connectionMade(): void {
          madeOne();
        }
        override connectionLost(reason: Error): void {
          reasons.push(reason);
        }
      },
    );
    return { factory, reasons, made };
  }

  it("closeConnections({ timeout }) aborts a peer that never sends its FIN once the reactor's clock says so", async () => {
    const clock = new Clock();
    const reactor = createReactor({ clock });
    const { factory, reasons, made } = lossRecorder();
    const port = await listenLocal(reactor, factory);
    const { ended } = await stubbornClient(port.getHost().port);
    await made;
    let resolved = false;
    const closing = port.closeConnections({ timeout: 5 }).then(() => {
      resolved = true;
    });
    await ended; // our FIN arrived; the peer answers with nothing
    await turns();
    expect(resolved).toBe(false);
    expect(port.connections.size).toBe(1);
    clock.advance(4.9);
    await turns();
    expect(resolved).toBe(false);
    expect(port.connections.size).toBe(1);
    clock.advance(0.1);
    await closing;
    expect(port.connections.size).toBe(0);
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toBeInstanceOf(ConnectionLost);
    expect((reasons[0] as ConnectionLost).code).toBe("ERR_CONNECTION_LOST");
  });

  it("cancels its timer when every connection closes cleanly in time", async () => {
    const clock = new Clock();
    const reactor = createReactor({ clock });
    const { factory, reasons, made } = lossRecorder();
    const port = await listenLocal(reactor, factory);
    const client = net.connect(port.getHost().port, "127.0.0.1"); // answers our FIN with its own
    cleanups.push(() => client.destroy());
    client.resume();
    await made;
    await port.closeConnections({ timeout: 5 });
    expect(clock.getDelayedCalls()).toHaveLength(0);
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toBeInstanceOf(ConnectionDone);
  });

  it("stopListening({ closeConnections: true }) aborts after 5 seconds by default; timeout: null waits", async () => {
    const clock = new Clock();
    const reactor = createReactor({ clock });
    const first = lossRecorder();
    const port = await listenLocal(reactor, first.factory);
    const { ended } = await stubbornClient(port.getHost().port);
    await first.made;
    const stopping = port.stopListening({ closeConnections: true });
    await ended;
    await turns();
    expect(port.connections.size).toBe(1);
    clock.advance(5);
    await stopping;
    expect(first.reasons[0]).toBeInstanceOf(ConnectionLost);

    const second = lossRecorder();
    const port2 = await listenLocal(reactor, second.factory);
    const c2 = await stubbornClient(port2.getHost().port);
    await second.made;
    let resolved = false;
    const stopping2 = port2.stopListening({ closeConnections: true, timeout: null }).then(() => {
      resolved = true;
    });
    await c2.ended;
    clock.advance(3600);
    await turns();
    expect(resolved).toBe(false);
    c2.socket.end(); // the peer finally answers
    await stopping2;
    expect(second.reasons[0]).toBeInstanceOf(ConnectionDone);
  });

  it("closeConnections() without a timeout still waits for the peer, so a caller's own grace period decides (weft serve --grace)", async () => {
    const clock = new Clock();
    const reactor = createReactor({ clock });
    const { factory, reasons, made } = lossRecorder();
    const port = await listenLocal(reactor, factory);
    const { ended } = await stubbornClient(port.getHost().port);
    await made;
    await port.stopListening();
    let graceful = false;
    const closed = port.closeConnections().then(() => {
      graceful = true;
    });
    await ended;
    clock.advance(3600); // far past any default: nothing is aborted behind the caller's back
    await turns();
    expect(graceful).toBe(false);
    expect(port.connections.size).toBe(1);
    // What the suite does once its grace period is over:
    await port.closeConnections({ abort: true });
    await closed;
    expect(reasons[0]).toBeInstanceOf(ConnectionLost);
  });

  it("rejects a negative or non-finite timeout with InvalidArgumentError", async () => {
    const reactor = createReactor({ clock: new Clock() });
    const port = await listenLocal(reactor, Factory.forProtocol(Echo));
    for (const timeout of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      const err = await port.closeConnections({ timeout }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).code).toBe("ERR_INVALID_ARGUMENT");
    }
  });
});

describe("bad arguments and addresses", () => {
  it("gives typed errors, never a raw throw from Node", async () => {
    const reactor = createReactor();
    const f = Factory.forProtocol(Echo);
    const e1 = await reactor.listenTCP(-1, f).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(InvalidArgumentError);
    const e2 = await reactor
      .listenTCP(0, f, { interface: "not an address" })
      .catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(CannotListenError);
    const e3 = await reactor.listenUNIX("/nonexistent-dir/x.sock", f).catch((e: unknown) => e);
    expect(e3).toBeInstanceOf(CannotListenError);
    expect(f.numPorts).toBe(0);
    const cf = new LoggingClientFactory();
    expect(() => reactor.connectTCP("127.0.0.1", 70000, cf)).toThrow(InvalidArgumentError);
    expect(() => reactor.connectTCP("127.0.0.1", 0, cf)).toThrow(InvalidArgumentError);
    expect(cf.log).toEqual([]);
    reactor.connectUNIX("/nonexistent-dir/x.sock", cf);
    await cf.settled;
    expect(cf.log).toEqual(ONE_FAILED_ATTEMPT);
    expect(cf.reasons[0]).toBeInstanceOf(ConnectError);
    expect((cf.reasons[0] as ConnectError).code).toBe("ERR_CONNECT");
  });
});

describe("Unix sockets", () => {
  it("echoes over listenUNIX/connectUNIX with UNIX addresses", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weft-unix-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, "echo.sock");
    const reactor = createReactor();
    const port = await reactor.listenUNIX(path, Factory.forProtocol(Echo));
    cleanups.push(() => port.stopListening({ closeConnections: true }));
    expect(port.getHost()).toEqual({ type: "UNIX", host: "", port: 0, path });

    let result!: (s: string) => void;
    const got = new Promise<string>((r) => (result = r));
    const seen: unknown[] = [];
    class Client extends Protocol {
      text = "";
      override connectionMade(): void {
        seen.push(this.transport.getPeer(), this.transport.getHost());
        this.transport.write("over unix");
      }
      override dataReceived(d: Uint8Array): void {
        this.text += Buffer.from(d).toString();
        if (this.text.length === 9) this.transport.loseConnection();
      }
      override connectionLost(): void {
        result(this.text);
      }
    }
    const f = new ClientFactory<Client>();
    f.protocol = Client;
    reactor.connectUNIX(path, f);
    expect(await got).toBe("over unix");
    expect(seen[0]).toEqual({ type: "UNIX", host: "", port: 0, path });
  });
});

function runExample(args: string[]): ChildProcess {
  const child = spawn(process.execPath, ["--import", "tsx", ...args], {
    cwd: join(import.meta.dirname, "../.."),
    stdio: ["ignore", "pipe", "pipe"],
  });
  return child;
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stderr?.on("data", (c: Buffer) => (err += c.toString()));
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
      const nl = out.indexOf("\n");
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    child.once("exit", (code) => reject(new Error(`exited with ${code} before printing: ${err}`)));
  });
}

describe("examples/echo-server.ts and examples/echo-client.ts", () => {
  it("run as child processes: the client prints the echoed line and exits 0", async () => {
    const server = runExample(["examples/echo-server.ts", "0"]);
    cleanups.push(() => {
      if (server.exitCode === null) server.kill("SIGKILL");
    });
    const line = await firstLine(server);
    const m = /^listening (\d+)$/.exec(line);
    expect(m).not.toBeNull();
    const client = runExample([
      "examples/echo-client.ts",
      m?.[1] as string,
      "127.0.0.1",
      "hello from the test",
    ]);
    const printed = firstLine(client);
    const code = await new Promise<number | null>((r) => client.once("exit", (c) => r(c)));
    expect(await printed).toBe("hello from the test");
    expect(code).toBe(0);
    const serverExit = new Promise<number | null>((r) => server.once("exit", (c) => r(c)));
    server.kill("SIGTERM");
    expect(await serverExit).toBe(0);
  });
});

it("Reactor is ReactorTime: seconds/callLater delegate to its clock", () => {
  const clock = new Clock();
  const reactor = new Reactor({ clock });
  const calls: number[] = [];
  reactor.callLater(2, (x: number) => calls.push(x), 7);
  clock.advance(2);
  expect(calls).toEqual([7]);
  expect(reactor.seconds()).toBe(2);
});
