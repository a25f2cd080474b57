/**
 * `weft fuzz` end to end, in-process (`run` of the CLI) against real loopback servers: weft's own
 * netstring server shows no finding; a server that answers malformed input is found, shrunk and
 * replayed; a failing probe, an unreachable target and bad usage exit 2.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../src/cli/main.js";
import { Factory } from "../../src/core/factory.js";
import { createReactor, type SocketPort } from "../../src/core/reactor.js";
import { escapeBytes, unescapeBytes } from "../../src/fuzz/escapes.js";
import { NetstringReceiver } from "../../src/protocols/receivers/index.js";

class Echo extends NetstringReceiver {
  override stringReceived(d: Uint8Array): void {
    this.sendString(d);
  }
}

const reactor = createReactor();
let weft: SocketPort;
let chatty: net.Server;
let chattyPort = 0;

beforeAll(async () => {
  weft = await reactor.listenTCP(0, Factory.forProtocol(Echo), { interface: "127.0.0.1" });
  // Answers anything that does not start with a digit with an error netstring: a planted bug.
  chatty = net.createServer((s) => {
    s.on("error", () => {});
    s.once("data", (d) => {
      const first = d[0] ?? 0;
      if (first < 0x30 || first > 0x39) s.end("5:error,");
      else s.destroy();
    });
  });
  await new Promise<void>((r) => chatty.listen(0, "127.0.0.1", r));
  chattyPort = (chatty.address() as net.AddressInfo).port;
});

afterAll(async () => {
  await weft.stopListening({ closeConnections: true });
  await new Promise((r) => chatty.close(r));
});

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await run(argv, { stdout: (t) => void (out += t), stderr: (t) => void (err += t) });
  return { code, out, err };
}

describe("weft fuzz", () => {
  it("finds nothing in weft's netstring server (exit 0, the --json object)", async () => {
    const ep = `tcp:127.0.0.1:${weft.getHost().port}`;
    const r = await cli([
      "fuzz",
      "netstring",
      ep,
      "--runs",
      "120",
      "--seed",
      "7",
      "--json",
      "--probe",
      "3:abc,",
      "--expect",
      "3:abc,",
      "--timeout",
      "500",
      "--concurrency",
      "8",
    ]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out);
    expect(json.cases).toBe(120);
    expect(json.findings).toEqual([]);
  });

  it("finds a reply to malformed input, shrinks it, and replays it", async () => {
    const out = mkdtempSync(join(tmpdir(), "weft-fuzz-test-"));
    const ep = `tcp:127.0.0.1:${chattyPort}`;
    const r = await cli([
      "fuzz",
      "netstring",
      ep,
      "--runs",
      "60",
      "--seed",
      "1",
      "--json",
      "--out",
      out,
      "--timeout",
      "300",
    ]);
    expect(r.code).toBe(1);
    const json = JSON.parse(r.out);
    const f = json.findings.find((x: { oracle: string }) => x.oracle === "accepted-malformed");
    expect(f).toBeDefined();
    expect(Buffer.from(f.input, "base64").length).toBe(1); // one non-digit byte
    expect(f.chunks).toEqual([1]);
    expect(f.halfClose).toBe(false);
    expect(f.observed).toContain('"5:error,"');
    expect(f.replay).toMatch(/^weft fuzz replay /);
    expect(readFileSync(join(out, "cases.log"), "utf8").split("\n").length).toBeGreaterThan(60);
    const again = await cli(["fuzz", "replay", f.file, ep]);
    expect(again.code).toBe(1);
    const fixed = await cli(["fuzz", "replay", f.file, `tcp:127.0.0.1:${weft.getHost().port}`]);
    expect(fixed.code).toBe(0);
  });

  it("exits 2 when the probe fails before fuzzing, the target is unreachable, or usage is bad", async () => {
    const ep = `tcp:127.0.0.1:${weft.getHost().port}`;
    const probe = await cli([
      "fuzz",
      "netstring",
      ep,
      "--runs",
      "5",
      "--probe",
      "3:abc,",
      "--expect",
      "3:xyz,",
    ]);
    expect(probe.code).toBe(2);
    expect(probe.err).toContain("the probe failed before fuzzing");
    const dead = await cli(["fuzz", "netstring", "tcp:127.0.0.1:1", "--runs", "5"]);
    expect(dead.code).toBe(2);
    expect(dead.err).toContain("cannot connect");
    expect((await cli(["fuzz", "smtp", ep])).code).toBe(2);
    expect((await cli(["fuzz", "netstring", ep, "--probe", "\\q"])).code).toBe(2);
  });
});

describe("byte escapes", () => {
  it("escapeBytes and unescapeBytes round-trip any bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        expect(unescapeBytes(escapeBytes(b))).toEqual(b);
      }),
    );
    expect(unescapeBytes("3:a\\r\\n\\t\\\\\\x00,")).toEqual(
      Uint8Array.from([51, 58, 97, 13, 10, 9, 92, 0, 44]),
    );
  });
});
