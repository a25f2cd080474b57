import { mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Producer } from "../../src/core/interfaces.js";
import type { ProcessTransport } from "../../src/core/process.js";
import {
  getProcessOutput,
  getProcessOutputAndValue,
  getProcessValue,
  ProcessSignalledError,
  ProcessStderrError,
} from "../../src/core/process-output.js";
import {
  NotSupportedError,
  ProcessDone,
  ProcessExitedAlreadyError,
  ProcessProtocol,
  ProcessSpawnError,
  ProcessTerminated,
} from "../../src/core/process-protocol.js";
import { createReactor } from "../../src/core/reactor.js";
import { checkInvariants, Recorder } from "./process-helpers.js";

const reactor = createReactor();
const live: ProcessTransport[] = [];
afterEach(() => {
  for (const t of live.splice(0)) if (t.pid !== null) t.signalProcess("KILL");
});

function spawn(
  p: ProcessProtocol,
  exe: string,
  args: string[],
  env: Record<string, string> | null = null,
) {
  const t = reactor.spawnProcess(p, exe, args, { env });
  live.push(t);
  return t;
}

const text = (b: Uint8Array): string => Buffer.from(b).toString();

describe("spawnProcess", () => {
  it("passes args[0] as argv[0], returns the transport after connectionMade", async () => {
    let madeWith: ProcessTransport | null = null;
    const rec = new Recorder();
    rec.connectionMade = function (this: Recorder) {
      madeWith = this.transport;
      this.events.push(["connectionMade"]);
    };
    const t = spawn(rec, "/bin/sh", ["my-name", "-c", 'printf "%s" "$0"']);
    expect(madeWith).toBe(t);
    expect(typeof t.pid).toBe("number");
    const events = await rec.ended;
    expect(checkInvariants(events)).toMatchObject({ violations: [], out: "my-name" });
    expect(rec.endReason).toBeInstanceOf(ProcessDone);
    expect(t.pid).toBeNull();
  });

  it("gives the child an empty environment unless env is given; null inherits", async () => {
    const empty = await getProcessOutput(reactor, "/usr/bin/env");
    expect(text(empty)).toBe("");
    const given = await getProcessOutput(reactor, "/usr/bin/env", [], { A: "1" });
    expect(text(given)).toBe("A=1\n");
    process.env["WEFT_PROCESS_TEST"] = "inherited";
    const inherited = await getProcessOutput(reactor, "/usr/bin/env", [], null);
    expect(text(inherited)).toContain("WEFT_PROCESS_TEST=inherited");
  });

  it("runs in `path`", async () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), "weft-proc-")));
    try {
      expect(text(await getProcessOutput(reactor, "/bin/pwd", [], {}, dir))).toBe(`${dir}\n`);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it("reports a missing executable in processEnded, never as a throw", async () => {
    const rec = new Recorder();
    const t = spawn(rec, "/nonexistent/weft-nothing", ["x"]);
    expect(t.pid).toBeNull();
    const events = await rec.ended;
    expect(checkInvariants(events).violations).toEqual([]);
    expect(rec.endReason).toBeInstanceOf(ProcessSpawnError);
    expect((rec.endReason as ProcessSpawnError).errno).toBe("ENOENT");
    await expect(getProcessOutput(reactor, "/nonexistent/weft-nothing")).rejects.toBeInstanceOf(
      ProcessSpawnError,
    );
  });

  it("rejects usePTY with a typed error", () => {
    expect(() =>
      reactor.spawnProcess(new ProcessProtocol(), "/bin/true", [], { usePTY: true }),
    ).toThrow(NotSupportedError);
  });

  it("writes to stdin, and closeStdin ends a child that reads to EOF", async () => {
    const rec = new Recorder();
    const t = spawn(rec, "/bin/cat", ["cat"]);
    t.write("hello ");
    t.writeSequence([Buffer.from("world")]);
    t.closeStdin();
    const events = await rec.ended;
    expect(checkInvariants(events)).toMatchObject({ violations: [], out: "hello world" });
    expect(events.findIndex((e) => e[0] === "inConnectionLost")).toBeGreaterThan(0);
    t.write("dropped after exit"); // silently dropped, as in Twisted
  });

  it("sends signals; after the exit signalProcess throws ProcessExitedAlready", async () => {
    const rec = new Recorder();
    const t = spawn(rec, "/bin/sleep", ["sleep", "30"]);
    t.signalProcess("KILL");
    await rec.ended;
    const reason = rec.endReason as ProcessTerminated;
    expect(reason).toBeInstanceOf(ProcessTerminated);
    expect([reason.exitCode, reason.signal, reason.signalName]).toEqual([null, 9, "SIGKILL"]);
    expect(() => t.signalProcess("TERM")).toThrow(ProcessExitedAlreadyError);
  });

  it("an AbortSignal terminates the process", async () => {
    const ac = new AbortController();
    const rec = new Recorder();
    const t = reactor.spawnProcess(rec, "/bin/sleep", ["sleep", "30"], { signal: ac.signal });
    live.push(t);
    ac.abort();
    await rec.ended;
    expect((rec.endReason as ProcessTerminated).signalName).toBe("SIGTERM");
  });

  it("reads extra descriptors given in childFDs", async () => {
    const rec = new Recorder();
    reactor.spawnProcess(rec, "/bin/sh", ["sh", "-c", "printf three >&3"], {
      childFDs: { 0: "w", 1: "r", 2: "r", 3: "r" },
    });
    const events = await rec.ended;
    expect(events).toContainEqual(["childDataReceived", 3, "three"]);
    expect(events).toContainEqual(["childConnectionLost", 3]);
    expect(checkInvariants(events).violations).toEqual([]);
  });

  it("carries 64 MiB of output; pausing stops reading until resumed", async () => {
    const total = 64 * 1024 * 1024;
    let received = 0;
    let pausedAt = -1;
    let duringPause = 0;
    const ended = new Promise<Error>((resolve) => {
      class Counter extends ProcessProtocol {
        override outReceived(data: Uint8Array): void {
          received += data.length;
          if (pausedAt < 0 && received >= 4 * 1024 * 1024) {
            pausedAt = received;
            this.transport.pauseProducing();
            setTimeout(() => {
              duringPause = received - pausedAt;
              this.transport.resumeProducing();
            }, 100);
          }
        }
        override processEnded(reason: Error): void {
          resolve(reason);
        }
      }
      spawn(new Counter(), "/usr/bin/head", ["head", "-c", String(total), "/dev/zero"]);
    });
    expect(await ended).toBeInstanceOf(ProcessDone);
    expect(received).toBe(total);
    // While paused nothing more was delivered (the child blocked on the full pipe).
    expect(duringPause).toBe(0);
  });

  it("pauses a stdin producer while the pipe is full and resumes it on drain", async () => {
    const chunk = Buffer.alloc(256 * 1024, 97);
    const rounds = 64; // 16 MiB
    let pauses = 0;
    const rec = new Recorder();
    const t = spawn(rec, "/bin/sh", ["sh", "-c", "sleep 0.05; wc -c"]);
    let sent = 0;
    let paused = false;
    const producer: Producer = {
      pauseProducing() {
        paused = true;
        pauses++;
      },
      resumeProducing() {
        paused = false;
        while (!paused && sent < rounds) {
          sent++;
          t.write(chunk);
        }
        if (sent === rounds && !paused) {
          t.unregisterProducer();
          t.closeStdin();
        }
      },
      stopProducing() {},
    };
    t.registerProducer(producer, true);
    producer.resumeProducing();
    expect(pauses).toBeGreaterThan(0);
    expect(t.bufferSize).toBeLessThanOrEqual(chunk.length * 2);
    const events = await rec.ended;
    expect(checkInvariants(events).out.trim()).toBe(String(rounds * chunk.length));
  });
});

describe("getProcessOutput and friends", () => {
  it("getProcessOutput: stdout; stderr fails it unless errortoo", async () => {
    expect(text(await getProcessOutput(reactor, "/bin/echo", ["a", "b"]))).toBe("a b\n");
    const err = await getProcessOutput(reactor, "/bin/sh", ["-c", "echo oops >&2"]).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProcessStderrError);
    expect((err as ProcessStderrError).message).toContain("oops");
    const both = await getProcessOutput(
      reactor,
      "/bin/sh",
      ["-c", "echo out; echo err >&2"],
      {},
      null,
      true,
    );
    expect(text(both)).toContain("err");
  });

  it("getProcessValue fires with the exit code (null after a signal)", async () => {
    expect(await getProcessValue(reactor, "/bin/sh", ["-c", "exit 7"])).toBe(7);
    expect(await getProcessValue(reactor, "/bin/true")).toBe(0);
    expect(await getProcessValue(reactor, "/bin/sh", ["-c", "kill -TERM $$"])).toBeNull();
  });

  it("getProcessOutputAndValue: out, err, code; stdin bytes; a signal fails it", async () => {
    const [out, err, code] = await getProcessOutputAndValue(
      reactor,
      "/bin/sh",
      ["-c", "cat; echo e >&2; exit 2"],
      {},
      null,
      Buffer.from("in"),
    );
    expect([text(out), text(err), code]).toEqual(["in", "e\n", 2]);
    const failure = await getProcessOutputAndValue(reactor, "/bin/sh", [
      "-c",
      "printf x; kill -KILL $$",
    ]).then(
      () => null,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(ProcessSignalledError);
    expect(text((failure as ProcessSignalledError).stdout)).toBe("x");
    expect((failure as ProcessSignalledError).signal).toBe(9);
  });

  it("cancelling the Deferred kills the process", async () => {
    const d = getProcessValue(reactor, "/bin/sleep", ["30"]);
    d.cancel();
    await expect(d).rejects.toMatchObject({ code: "ERR_CANCELLED" });
  });
});
