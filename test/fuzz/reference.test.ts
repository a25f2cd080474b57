/**
 * `weft fuzz --reference`: every case also goes to Twisted's NetstringReceiver (a real
 * /usr/bin/python3 Twisted) and a difference in outcome is a `differential` finding, unless the
 * allow-list (`twisted-allow.txt`: Twisted drops buffered replies when the peer half-closes) says
 * a pair of correct servers may differ that way.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Factory } from "../../src/core/factory.js";
import { NetstringReceiver } from "../../src/protocols/receivers/index.js";
import {
  type PythonServer,
  requireTwisted,
  startPythonServer,
  stopPythonServers,
} from "../helpers/twisted.js";
import { closeAll, listen } from "../services/helpers.js";
import { inputOf, PROBE, report, weft } from "./helpers.js";

const ALLOW = join(dirname(fileURLToPath(import.meta.url)), "twisted-allow.txt");
const BUDGET = ["--seed", "3", "--runs", "120", "--time", "5", "--json"];

class NetstringEcho extends NetstringReceiver {
  override stringReceived(data: Uint8Array): void {
    this.sendString(data);
  }
}

let twisted: PythonServer;
let reference: string[];
beforeAll(async () => {
  requireTwisted("weft fuzz --reference");
  twisted = await startPythonServer("fuzz_netstring_server.py", ["0", "echo"]);
  reference = ["--reference", `tcp:127.0.0.1:${twisted.port}`];
});
afterAll(stopPythonServers);
afterEach(closeAll);

describe("weft fuzz --reference (Twisted)", () => {
  it("weft's NetstringReceiver differs from Twisted only where the allow-list says", async () => {
    const port = await listen(Factory.forProtocol(NetstringEcho));
    const target = ["fuzz", "netstring", `tcp:127.0.0.1:${port}`, ...PROBE, ...reference];
    // Without the allow-list, Twisted's half-close behaviour shows up as differences (when the
    // request and the FIN reach Twisted in one read: usually, not always), and nothing else does...
    const raw = report(await weft([...target, ...BUDGET]));
    const diffs = raw.findings.filter((f) => f.oracle === "differential");
    for (const f of diffs) expect(f.halfClose, JSON.stringify(f)).toBe(true);
    expect(raw.findings.filter((f) => f.oracle !== "differential")).toEqual([]);
    // ...which the allow-list lets through: nothing else is left.
    const res = await weft([...target, "--allow", ALLOW, ...BUDGET]);
    expect(report(res).findings).toEqual([]);
    expect(res.code).toBe(0);
  });

  it("a real difference (Twisted uppercases, weft echoes) is a finding despite the allow-list", async () => {
    const upper = await startPythonServer("fuzz_netstring_server.py", ["0", "upper"]);
    const port = await listen(Factory.forProtocol(NetstringEcho));
    const res = await weft([
      ...["fuzz", "netstring", `tcp:127.0.0.1:${port}`, ...PROBE],
      ...["--reference", `tcp:127.0.0.1:${upper.port}`, "--allow", ALLOW, ...BUDGET],
    ]);
    expect(res.code).toBe(1);
    const findings = report(res).findings;
    const diff = findings.find((f) => f.oracle === "differential");
    expect(diff, JSON.stringify(findings)).toBeDefined();
    if (diff === undefined) return;
    expect(diff.expected).not.toBe(diff.observed);
    // The shrunk reproducer holds a lowercase letter: what the difference needs.
    expect(/[a-z]/.test(inputOf(diff).toString("latin1"))).toBe(true);
  });
});
