/**
 * No false positives: `weft fuzz` on correct servers finds nothing in a fixed budget — the correct
 * plain node:net server of `targets/`, weft's own NetstringReceiver and LineReceiver on a listening
 * port, the transform service's `weft serve` front-ends (netstring, line, AMP), and Twisted's
 * NetstringReceiver (a real /usr/bin/python3 Twisted).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Factory } from "../../src/core/factory.js";
import { LineReceiver, NetstringReceiver } from "../../src/protocols/receivers/index.js";
import { TransformAMPFactory } from "../../src/services/transform/amp.js";
import { TransformLineFactory } from "../../src/services/transform/line.js";
import { TransformNetstringFactory } from "../../src/services/transform/netstring.js";
import { TransformService } from "../../src/services/transform/service.js";
import { rawBoxBytes } from "../../src/testing/amp-arbitraries.js";
import {
  type PythonServer,
  requireTwisted,
  startPythonServer,
  stopPythonServers,
} from "../helpers/twisted.js";
import { closeAll, listen } from "../services/helpers.js";
import { PROBE, report, startTarget, tempDir, weft } from "./helpers.js";

class NetstringEcho extends NetstringReceiver {
  override stringReceived(data: Uint8Array): void {
    this.sendString(data);
  }
}

class LineEcho extends LineReceiver {
  override lineReceived(line: Uint8Array): void {
    this.sendLine(line);
  }
}

/**
 * A fixed budget: the same seed and case count every run. Concurrency 4: on a loaded machine the
 * engine's 10 ms wait for a close after a complete reply can miss a late FIN (FUZZ-BUGS.md, 6).
 */
const BUDGET = ["--seed", "3", "--runs", "100", "--time", "5", "--concurrency", "4", "--json"];

async function expectClean(args: string[]): Promise<void> {
  const res = await weft(["fuzz", ...args, ...BUDGET]);
  const rep = report(res);
  expect(rep.findings, JSON.stringify(rep.findings, null, 1)).toEqual([]);
  expect(res.code, res.stderr).toBe(0);
  expect(rep.cases).toBeGreaterThan(0);
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

afterEach(closeAll);

describe("weft fuzz finds nothing on correct servers", () => {
  it("the correct plain node:net netstring server", async () => {
    const t = await startTarget("correct");
    try {
      await expectClean(["netstring", t.endpoint, ...PROBE]);
    } finally {
      await t.close();
    }
  });

  it("weft's NetstringReceiver (an echo) on a listening port", async () => {
    const port = await listen(Factory.forProtocol(NetstringEcho));
    await expectClean(["netstring", `tcp:127.0.0.1:${port}`, ...PROBE]);
  });

  it("weft's LineReceiver (an echo) on a listening port", async () => {
    const port = await listen(Factory.forProtocol(LineEcho));
    await expectClean(["line", `tcp:127.0.0.1:${port}`, "--probe", "hello\\r\\n"]);
  });

  it("weft serve's transform netstring front-end (reply, then close)", async () => {
    const port = await listen(new TransformNetstringFactory(new TransformService()));
    const probe = ["--probe", "11:upper.hello,", "--expect", "5:HELLO,"];
    await expectClean(["netstring", `tcp:127.0.0.1:${port}`, ...probe]);
  });

  it("weft serve's transform line front-end", async () => {
    const port = await listen(new TransformLineFactory(new TransformService()));
    const probe = ["--probe", "upper hello\\r\\n", "--expect", "OK HELLO\\r\\n"];
    await expectClean(["line", `tcp:127.0.0.1:${port}`, "--max-length", "65536", ...probe]);
  });

  it("weft serve's transform AMP front-end", async () => {
    const port = await listen(new TransformAMPFactory(new TransformService()));
    const dir = tempDir();
    const probe = join(dir, "probe.bin");
    const answer = join(dir, "expect.bin");
    writeFileSync(
      probe,
      rawBoxBytes([
        ["_ask", utf8("1")],
        ["_command", utf8("Transform")],
        ["name", utf8("upper")],
        ["text", utf8("hello")],
      ]),
    );
    writeFileSync(
      answer,
      rawBoxBytes([
        ["_answer", utf8("1")],
        ["text", utf8("HELLO")],
      ]),
    );
    await expectClean([
      "amp",
      `tcp:127.0.0.1:${port}`,
      ...["--probe", `@${probe}`, "--expect", `@${answer}`],
    ]);
  });

  describe("Twisted's NetstringReceiver", () => {
    let twisted: PythonServer;
    beforeAll(async () => {
      requireTwisted("weft fuzz on Twisted");
      twisted = await startPythonServer("fuzz_netstring_server.py", ["0", "echo"]);
    });
    afterAll(stopPythonServers);

    it("an echo server", async () => {
      await expectClean(["netstring", `tcp:127.0.0.1:${twisted.port}`, ...PROBE]);
    });
  });
});
