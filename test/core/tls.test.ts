import { randomBytes } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Deferred } from "../../src/core/deferred.js";
import { clientFromString, connectProtocol, serverFromString } from "../../src/core/endpoints.js";
import { ConnectError, ConnectionDone } from "../../src/core/errors.js";
import { ClientFactory, Factory } from "../../src/core/factory.js";
import { Protocol } from "../../src/core/protocol.js";
import { createReactor, type Reactor, type SocketPort } from "../../src/core/reactor.js";
import { Cleanups } from "../helpers/loopback.js";
import { selfSignedCertificate } from "../helpers/tls.js";

let dir = "";
let certDir = "";
let certFile = "";
let keyFile = "";

beforeAll(() => {
  ({ dir, certDir, certFile, keyFile } = selfSignedCertificate("weft-tls-"));
});

afterAll(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

const cleanups = new Cleanups();
afterEach(cleanups.run);

class Echo extends Protocol {
  override dataReceived(data: Uint8Array): void {
    this.transport.write(data);
  }
}

/** Sends `payload`, collects the echo, closes when it is all back. */
class Roundtrip extends Protocol {
  readonly done = new Deferred<Buffer>();
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly payload: Uint8Array) {
    super();
  }
  override connectionMade(): void {
    this.transport.write(this.payload);
  }
  override dataReceived(d: Uint8Array): void {
    this.chunks.push(Buffer.from(d));
    this.size += d.length;
    if (this.size >= this.payload.length) this.transport.loseConnection();
  }
  override connectionLost(reason: Error): void {
    if (reason instanceof ConnectionDone) this.done.callback(Buffer.concat(this.chunks));
    else this.done.errback(reason);
  }
}

/** An Echo server on 127.0.0.1 with the self-signed certificate, closed after the test. */
async function listenTLSEcho(reactor: Reactor): Promise<SocketPort> {
  const port = await reactor.listenTLS(0, Factory.forProtocol(Echo), {
    cert: readFileSync(certFile),
    key: readFileSync(keyFile),
    interface: "127.0.0.1",
  });
  cleanups.push(() => port.stopListening({ closeConnections: true }));
  return port;
}

describe("TLS", () => {
  it("echoes 1 MiB over listenTLS/connectTLS with a self-signed certificate", async () => {
    const reactor = createReactor();
    const port = await listenTLSEcho(reactor);
    const payload = randomBytes(1024 * 1024);
    const proto = new Roundtrip(payload);
    const f = new ClientFactory<Roundtrip>();
    f.buildProtocol = () => proto;
    reactor.connectTLS("127.0.0.1", port.getHost().port, f, {
      ca: readFileSync(certFile),
      servername: "localhost",
    });
    const echoed = await proto.done;
    expect(Buffer.compare(echoed, payload)).toBe(0);
    expect(proto.transport.getPeer()).toEqual({
      type: "TCP",
      host: "127.0.0.1",
      port: port.getHost().port,
    });
  });

  it("works through tls: endpoint strings (privateKey/certKey, caCertsDir)", async () => {
    const reactor = createReactor();
    const esc = (p: string) => p.replace(/:/g, "\\:");
    const server = serverFromString(
      reactor,
      `tls:0:privateKey=${esc(keyFile)}:certKey=${esc(certFile)}:interface=127.0.0.1`,
    );
    const port = await server.listen(Factory.forProtocol(Echo));
    cleanups.push(() => port.stopListening({ closeConnections: true }));
    const client = clientFromString(
      reactor,
      `tls:127.0.0.1:${port.getHost().port}:caCertsDir=${esc(certDir)}:servername=localhost`,
    );
    const p = await connectProtocol(client, new Roundtrip(Buffer.from("hello over tls")));
    expect((await p.done).toString()).toBe("hello over tls");
  });

  it("refuses an untrusted certificate with a typed ConnectError carrying the TLS error", async () => {
    const reactor = createReactor();
    const port = await listenTLSEcho(reactor);
    const err = await clientFromString(reactor, `tls:127.0.0.1:${port.getHost().port}`)
      .connect(Factory.forProtocol(Echo))
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe("ERR_CONNECT");
    expect(((err as Error).cause as { code?: string }).code).toBe("DEPTH_ZERO_SELF_SIGNED_CERT");
  });

  it("fails to listen with CannotListenError when the key file is missing", async () => {
    const reactor = createReactor();
    const err = await serverFromString(reactor, `tls:0:privateKey=${join(dir, "nope.pem")}`)
      .listen(Factory.forProtocol(Echo))
      .catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe("ERR_CANNOT_LISTEN");
  });
});
