/**
 * The ProcessProtocol hooks of weft and of a real Twisted (22.4, /usr/bin/python3) for the same
 * children: both satisfy the invariants named in `checkInvariants` and agree on the output and the
 * end reason (ProcessTerminated(3) / ProcessDone / ProcessTerminated(signal 15)).
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createReactor } from "../../src/core/reactor.js";
import { checkInvariants, type HookEvent, Recorder } from "../core/process-helpers.js";

const PYTHON = "/usr/bin/python3";
const SCRIPT = fileURLToPath(new URL("./process_hooks.py", import.meta.url));

const CASES: Record<string, string> = {
  exit3: "printf out; printf err >&2; exit 3",
  exit0: "printf out; printf err >&2; exit 0",
  sigterm: "printf out; printf err >&2; exec sleep 30",
};

const EXPECTED: Record<string, Array<string | number | null>> = {
  exit3: ["ProcessTerminated", 3, null],
  exit0: ["ProcessDone", 0, null],
  sigterm: ["ProcessTerminated", null, 15],
};

async function runWeft(name: string, script: string): Promise<HookEvent[]> {
  const reactor = createReactor();
  let seen = "";
  const rec = new Recorder((r, _fd, data) => {
    seen += Buffer.from(data).toString();
    if (name === "sigterm" && seen.includes("out") && seen.includes("err")) {
      seen = "-";
      r.transport.signalProcess("TERM");
    }
  });
  reactor.spawnProcess(rec, "/bin/sh", ["sh", "-c", script], { env: null });
  const events = await rec.ended;
  await reactor.stop();
  return events;
}

describe.skipIf(!existsSync(PYTHON))("ProcessProtocol hooks against Twisted", () => {
  it("weft and Twisted satisfy the same invariants and agree on output and reasons", async () => {
    const twisted = JSON.parse(execFileSync(PYTHON, [SCRIPT], { encoding: "utf8" })) as Record<
      string,
      HookEvent[]
    >;
    const weft = Object.fromEntries(
      await Promise.all(
        Object.entries(CASES).map(async ([n, s]) => [n, await runWeft(n, s)] as const),
      ),
    );
    for (const name of Object.keys(CASES)) {
      for (const [who, events] of [
        ["twisted", twisted[name]],
        ["weft", weft[name]],
      ] as const) {
        const summary = checkInvariants(events ?? []);
        expect({ who, name, ...summary }).toEqual({
          who,
          name,
          violations: [],
          out: "out",
          err: "err",
          reason: EXPECTED[name],
        });
      }
    }
  });
});
