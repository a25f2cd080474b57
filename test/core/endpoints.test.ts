import { mkdtempSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { Deferred } from "../../src/core/deferred.js";
import {
  clientFromString,
  connectProtocol,
  parseDescription,
  serverFromString,
  TCPClientEndpoint,
  TCPServerEndpoint,
  TLSClientEndpoint,
  TLSServerEndpoint,
  UNIXClientEndpoint,
  UNIXServerEndpoint,
} from "../../src/core/endpoints.js";
import { ConnectionRefusedError, InvalidArgumentError } from "../../src/core/errors.js";
import { Factory } from "../../src/core/factory.js";
import { Protocol } from "../../src/core/protocol.js";
import { ConnectingCancelledError, createReactor } from "../../src/core/reactor.js";
import { MemoryReactor } from "../../src/testing/memory.js";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const mem = new MemoryReactor();

describe("parseDescription", () => {
  it("splits on colons, keys on the first '=', honours backslash escapes", () => {
    expect(parseDescription("tcp:80")).toEqual({ args: ["tcp", "80"], kwargs: new Map() });
    expect(parseDescription("tcp:80:interface=\\:\\:1")).toEqual({
      args: ["tcp", "80"],
      kwargs: new Map([["interface", "::1"]]),
    });
    expect(parseDescription("x:a=b=c:d\\\\e")).toEqual({
      args: ["x", "d\\e"],
      kwargs: new Map([["a", "b=c"]]),
    });
    expect(parseDescription("x:k=1:k=2").kwargs.get("k")).toBe("2");
    expect(() => parseDescription("tcp:80\\")).toThrow(InvalidArgumentError);
  });

  it("round-trips any value through escaping", () => {
    const esc = (v: string) => v.replace(/[\\:=]/g, (c) => `\\${c}`);
    fc.assert(
      fc.property(fc.string(), fc.string(), (positional, value) => {
        const parsed = parseDescription(`t:${esc(positional)}:key=${esc(value)}`);
        expect(parsed.args).toEqual(["t", positional]);
        expect(parsed.kwargs.get("key")).toBe(value);
      }),
      { numRuns: 200 },
    );
  });
});

describe("serverFromString", () => {
  const valid: Array<[string, (e: unknown) => void, string]> = [
    ["tcp:80", (e) => expect(e).toMatchObject({ port: 80, options: {} }), "tcp:80"],
    [
      "tcp:0:interface=127.0.0.1",
      (e) => expect(e).toMatchObject({ port: 0, options: { interface: "127.0.0.1" } }),
      "tcp:0:interface=127.0.0.1",
    ],
    [
      "tcp:1234:interface=\\:\\:1",
      (e) => expect(e).toMatchObject({ port: 1234, options: { interface: "::1" } }),
      "tcp:1234:interface=\\:\\:1",
    ],
    [
      "tcp:port=1234:backlog=10",
      (e) => expect(e).toMatchObject({ port: 1234, options: { backlog: 10 } }),
      "tcp:1234:backlog=10",
    ],
    [
      "tcp:1234:127.0.0.1:20",
      (e) =>
        expect(e).toMatchObject({ port: 1234, options: { interface: "127.0.0.1", backlog: 20 } }),
      "tcp:1234:interface=127.0.0.1:backlog=20",
    ],
    [
      "unix:/var/run/x.sock",
      (e) => expect(e).toMatchObject({ path: "/var/run/x.sock" }),
      "unix:/var/run/x.sock",
    ],
    [
      "unix:address=/tmp/a\\:b.sock:backlog=5",
      (e) => expect(e).toMatchObject({ path: "/tmp/a:b.sock", options: { backlog: 5 } }),
      "unix:/tmp/a\\:b.sock:backlog=5",
    ],
    [
      "tls:443:privateKey=k.pem:certKey=c.pem",
      (e) =>
        expect(e).toMatchObject({ port: 443, files: { privateKey: "k.pem", certKey: "c.pem" } }),
      "tls:443:privateKey=k.pem:certKey=c.pem",
    ],
    [
      "ssl:8443:privateKey=both.pem:interface=127.0.0.1",
      (e) =>
        expect(e).toMatchObject({
          port: 8443,
          files: { privateKey: "both.pem", interface: "127.0.0.1" },
        }),
      "tls:8443:privateKey=both.pem:interface=127.0.0.1",
    ],
  ];
  for (const [desc, check, described] of valid) {
    it(`parses ${JSON.stringify(desc)}`, () => {
      const e = serverFromString(mem, desc);
      check(e);
      expect(e.describe()).toBe(described);
      expect(serverFromString(mem, e.describe()).describe()).toBe(described);
    });
  }
  it("builds the right classes", () => {
    expect(serverFromString(mem, "tcp:1")).toBeInstanceOf(TCPServerEndpoint);
    expect(serverFromString(mem, "unix:/x")).toBeInstanceOf(UNIXServerEndpoint);
    expect(serverFromString(mem, "tls:1:privateKey=k")).toBeInstanceOf(TLSServerEndpoint);
  });

  const invalid: Array<[string, RegExp]> = [
    ["", /must start with a type/],
    ["tcp", /must start with a type/],
    ["tcp:", /Missing "port"/],
    ["tcp:abc", /Invalid port "abc"/],
    ["tcp:70000", /Invalid port "70000"/],
    ["tcp:-1", /Invalid port "-1"/],
    ["tcp:80:foo=bar", /Unknown argument "foo"/],
    ["tcp:80:backlog=x", /Invalid backlog "x"/],
    ["tcp:80:1.2.3.4:5:6", /Too many positional arguments/],
    ["tcp:80:interface=1.2.3.4:5", /Argument "interface" given twice/],
    ["udp:80", /Unknown server endpoint type "udp"/],
    ["tls:443", /Missing "privateKey"/],
    ["unix:", /Missing "address"/],
    ["tcp:80\\", /lone backslash/],
  ];
  for (const [desc, message] of invalid) {
    it(`rejects ${JSON.stringify(desc)}`, () => {
      let error: unknown;
      try {
        serverFromString(mem, desc);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).code).toBe("ERR_INVALID_ARGUMENT");
      expect((error as Error).message).toMatch(message);
    });
  }
});

describe("clientFromString", () => {
  const valid: Array<[string, (e: unknown) => void]> = [
    [
      "tcp:example.com:80",
      (e) => expect(e).toMatchObject({ host: "example.com", port: 80, options: {} }),
    ],
    ["tcp:host=\\:\\:1:port=80", (e) => expect(e).toMatchObject({ host: "::1", port: 80 })],
    ["tcp:127.0.0.1:80:timeout=2.5", (e) => expect(e).toMatchObject({ options: { timeout: 2.5 } })],
    [
      "tcp:host=h:port=1:bindAddress=127.0.0.1",
      (e) =>
        expect(e).toMatchObject({
          host: "h",
          port: 1,
          options: { bindAddress: { host: "127.0.0.1" } },
        }),
    ],
    ["unix:/tmp/s", (e) => expect(e).toMatchObject({ path: "/tmp/s", options: {} })],
    [
      "unix:path=/tmp/s:timeout=2",
      (e) => expect(e).toMatchObject({ path: "/tmp/s", options: { timeout: 2 } }),
    ],
    [
      "tls:localhost:443:caCertsDir=/etc/ssl/certs",
      (e) =>
        expect(e).toMatchObject({
          host: "localhost",
          port: 443,
          files: { caCertsDir: "/etc/ssl/certs" },
        }),
    ],
    [
      "ssl:host=h:port=1:trustRoots=/d:servername=x:rejectUnauthorized=false",
      (e) =>
        expect(e).toMatchObject({
          files: { caCertsDir: "/d", servername: "x", rejectUnauthorized: false },
        }),
    ],
  ];
  for (const [desc, check] of valid) {
    it(`parses ${JSON.stringify(desc)}`, () => {
      const e = clientFromString(mem, desc);
      check(e);
      const again = clientFromString(mem, e.describe());
      expect(again.describe()).toBe(e.describe());
      expect(again).toEqual(e);
    });
  }
  it("builds the right classes", () => {
    expect(clientFromString(mem, "tcp:h:1")).toBeInstanceOf(TCPClientEndpoint);
    expect(clientFromString(mem, "unix:/x")).toBeInstanceOf(UNIXClientEndpoint);
    expect(clientFromString(mem, "tls:h:1")).toBeInstanceOf(TLSClientEndpoint);
  });

  const invalid: Array<[string, RegExp]> = [
    ["tcp:host", /Missing "port"/],
    ["tcp:h:port", /Invalid port "port"/],
    ["tcp:h:1:timeout=0", /Invalid timeout "0"/],
    ["tcp:h:1:timeout=abc", /Invalid timeout "abc"/],
    ["tcp:h:1:bogus=1", /Unknown argument "bogus"/],
    ["tcp:host=::1:port=80", /given twice.*escape colons inside values as \\:/],
    ["ftp:h:1", /Unknown client endpoint type "ftp"/],
    ["tls:h:1:rejectUnauthorized=maybe", /Invalid rejectUnauthorized "maybe"/],
    ["unix:", /Missing "path"/],
  ];
  for (const [desc, message] of invalid) {
    it(`rejects ${JSON.stringify(desc)}`, () => {
      expect(() => clientFromString(mem, desc)).toThrow(InvalidArgumentError);
      expect(() => clientFromString(mem, desc)).toThrow(message);
    });
  }
});

class Echo extends Protocol {
  override dataReceived(data: Uint8Array): void {
    this.transport.write(data);
  }
}

/** Sends a message, resolves `reply` with the echo. */
class Ask extends Protocol {
  readonly reply = new Deferred<string>();
  made = false;
  private text = "";
  constructor(private readonly message: string) {
    super();
  }
  override connectionMade(): void {
    this.made = true;
    this.transport.write(this.message);
  }
  override dataReceived(d: Uint8Array): void {
    this.text += Buffer.from(d).toString();
    if (this.text.length >= this.message.length) {
      this.transport.loseConnection();
      this.reply.callback(this.text);
    }
  }
}

describe("endpoints over real sockets", () => {
  it("listens and connects over TCP; the Deferred fires after connectionMade", async () => {
    const reactor = createReactor();
    const port = await serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(
      Factory.forProtocol(Echo),
    );
    cleanups.push(() => port.stopListening({ closeConnections: true }));
    const ask = new Ask("ping");
    const d = connectProtocol(
      clientFromString(reactor, `tcp:127.0.0.1:${port.getHost().port}`),
      ask,
    );
    const p = await d;
    expect(p).toBe(ask);
    expect(p.made).toBe(true);
    expect(await p.reply).toBe("ping");
  });

  it("works over IPv6 with escaped colons", async () => {
    const reactor = createReactor();
    const port = await serverFromString(reactor, "tcp:0:interface=\\:\\:1").listen(
      Factory.forProtocol(Echo),
    );
    cleanups.push(() => port.stopListening({ closeConnections: true }));
    expect(port.getHost().type).toBe("TCP6");
    const p = await connectProtocol(
      clientFromString(reactor, `tcp:host=\\:\\:1:port=${port.getHost().port}`),
      new Ask("v6"),
    );
    expect(await p.reply).toBe("v6");
  });

  it("works over a Unix socket", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weft-ep-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, "a:b.sock");
    const reactor = createReactor();
    const escaped = path.replace(/:/g, "\\:");
    const port = await serverFromString(reactor, `unix:${escaped}`).listen(
      Factory.forProtocol(Echo),
    );
    cleanups.push(() => port.stopListening({ closeConnections: true }));
    const p = await connectProtocol(clientFromString(reactor, `unix:${escaped}`), new Ask("unix"));
    expect(await p.reply).toBe("unix");
  });

  it("fails with ConnectionRefusedError when nobody listens", async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const n = (server.address() as net.AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    const reactor = createReactor();
    const f = Factory.forProtocol(Echo);
    const err = await clientFromString(reactor, `tcp:127.0.0.1:${n}`)
      .connect(f)
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(ConnectionRefusedError);
    expect((err as ConnectionRefusedError).code).toBe("ERR_CONNECTION_REFUSED");
    expect(f.numPorts).toBe(0); // doStart/doStop of the user's factory are balanced
  });

  it("cancelling the Deferred abandons the attempt with ConnectingCancelledError", async () => {
    const reactor = createReactor();
    const port = await serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(
      Factory.forProtocol(Echo),
    );
    cleanups.push(() => port.stopListening({ closeConnections: true }));
    const f = Factory.forProtocol(Echo);
    const d = clientFromString(reactor, `tcp:127.0.0.1:${port.getHost().port}`).connect(f);
    d.cancel();
    const err = await d.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConnectingCancelledError);
    expect((err as ConnectingCancelledError).code).toBe("ERR_CONNECTING_CANCELLED");
    expect(f.numPorts).toBe(0);
  });

  it("records connects on a MemoryReactor", () => {
    const reactor = new MemoryReactor();
    const d = clientFromString(reactor, "tcp:example.com:80:timeout=3").connect(
      Factory.forProtocol(Echo),
    );
    expect(reactor.tcpClients).toHaveLength(1);
    expect(reactor.tcpClients[0]).toMatchObject({
      host: "example.com",
      port: 80,
      options: { timeout: 3 },
    });
    expect(d.called).toBe(false);
    d.cancel();
    expect(reactor.connectors[0]?.stopConnectingCalls).toBe(1);
    d.addErrback(() => undefined);
  });
});
