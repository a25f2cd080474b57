/** PB over every endpoint kind: TCP, Unix sockets and TLS, through endpoint strings. */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InteropRoot } from "../../../examples/pb-server.js";
import { clientFromString, serverFromString } from "../../../src/core/endpoints.js";
import { createReactor } from "../../../src/core/reactor.js";
import { PBClientFactory, PBServerFactory, tuple } from "../../../src/protocols/pb/index.js";
import { selfSignedCertificate } from "../../helpers/tls.js";

let dir = "";
let certDir = "";
const esc = (p: string) => p.replace(/:/g, "\\:");

beforeAll(() => {
  ({ dir, certDir } = selfSignedCertificate("weft-pb-"));
});

afterAll(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

describe("PB over endpoint strings", () => {
  const reactor = createReactor();
  const cases: Array<[string, () => string, (port: number) => string]> = [
    ["tcp", () => "tcp:0:interface=127.0.0.1", (p) => `tcp:127.0.0.1:${p}`],
    ["unix", () => `unix:${esc(join(dir, "pb.sock"))}`, () => `unix:${esc(join(dir, "pb.sock"))}`],
    [
      "tls",
      () =>
        `tls:0:privateKey=${esc(join(dir, "key.pem"))}:certKey=${esc(join(certDir, "cert.pem"))}:interface=127.0.0.1`,
      (p) => `tls:127.0.0.1:${p}:caCertsDir=${esc(certDir)}:servername=localhost`,
    ],
  ];
  for (const [kind, server, client] of cases) {
    it(`calls through ${kind}`, async () => {
      const port = await serverFromString(reactor, server()).listen(
        new PBServerFactory(new InteropRoot()),
      );
      const f = new PBClientFactory();
      try {
        const root = await f.connect(clientFromString(reactor, client(port.getHost().port)));
        expect(await root.callRemote("calculate", 1, 2)).toEqual(tuple(3, 0));
        expect(await root.callRemote("echo", "☃")).toBe("☃");
      } finally {
        f.disconnect();
        await port.stopListening({ closeConnections: true });
      }
    });
  }

  it("fails getRootObject with the connect error when nothing listens", async () => {
    const f = new PBClientFactory();
    await expect(
      f.connect(clientFromString(reactor, `unix:${esc(join(dir, "nobody.sock"))}`)),
    ).rejects.toMatchObject({ code: expect.stringMatching(/^ERR_/) });
  });
});
