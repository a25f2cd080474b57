import { execFile } from "node:child_process";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { Deferred } from "../../src/core/deferred.js";
import { clientFromString } from "../../src/core/endpoints.js";
import { ConnectionDone, ConnectionLost, InvalidArgumentError } from "../../src/core/errors.js";
import { Factory } from "../../src/core/factory.js";
import { ProcessEndpoint } from "../../src/core/process-endpoint.js";
import { ProcessSpawnError, type ProcessTerminated } from "../../src/core/process-protocol.js";
import { Protocol } from "../../src/core/protocol.js";
import { createReactor } from "../../src/core/reactor.js";
import { StandardIO } from "../../src/core/stdio.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/stdio-upper.ts", import.meta.url));
const reactor = createReactor();
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** Records what a stream protocol sees. */
class Recording extends Protocol {
  received = "";
  readonly lost = new Deferred<Error>();
  override dataReceived(data: Uint8Array): void {
    this.received += Buffer.from(data).toString();
  }
  override connectionLost(reason: Error): void {
    this.lost.callback(reason);
  }
}

describe("StandardIO", () => {
  it("runs a LineReceiver in a real shell pipeline", async () => {
    const out = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
      execFile(
        "/bin/sh",
        [
          "-c",
          `printf 'hello\\r\\nworld\\r\\n' | "${process.execPath}" --import tsx "${FIXTURE}" | cat`,
        ],
        { timeout: 20_000 },
        (err, stdout, stderr) => (err ? reject(err) : resolve({ stdout, stderr })),
      );
    });
    expect(out.stdout).toBe("HELLO\r\nWORLD\r\n");
    expect(out.stderr).toBe("lost: ConnectionDone\n");
  });

  it("delivers stdin, writes stdout, loses the connection at stdin's end", async () => {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    let written = "";
    stdout.on("data", (d: Buffer) => (written += d.toString()));
    const p = new Recording();
    const t = new StandardIO(p, { stdin, stdout });
    expect(p.transport).toBe(t);
    expect(t.getPeer().type).toBe("PIPE");
    stdin.write("abc");
    t.write("reply");
    stdin.end();
    expect(await p.lost).toBeInstanceOf(ConnectionDone);
    expect(p.received).toBe("abc");
    expect(written).toBe("reply");
    expect(stdout.writableEnded).toBe(true);
  });

  it("stops reading stdin while stdout's buffer is full", async () => {
    const stdin = new PassThrough();
    const stdout = new PassThrough({ highWaterMark: 16 });
    const p = new Recording();
    const t = new StandardIO(p, { stdin, stdout });
    t.write("more than sixteen bytes of output");
    expect(stdin.isPaused()).toBe(true);
    stdout.resume(); // the reader catches up: drain
    await new Promise((r) => setImmediate(r));
    expect(stdin.isPaused()).toBe(false);
    t.abortConnection();
    expect(await p.lost).toBeInstanceOf(ConnectionLost);
  });
});

describe("ProcessEndpoint", () => {
  it("talks to a child process as if it were a socket", async () => {
    const endpoint = clientFromString(
      reactor,
      `process:${process.execPath.replace(/:/g, "\\:")}:--import:tsx:${FIXTURE}:inheritEnv=true`,
    );
    expect(endpoint).toBeInstanceOf(ProcessEndpoint);
    const p = await endpoint.connect(Factory.forProtocol(Recording));
    p.transport.write("shout\r\nbye\r\n");
    const reason = await p.lost;
    expect(p.received).toBe("SHOUT\r\nBYE\r\n");
    expect(reason).toBeInstanceOf(ConnectionDone);
  });

  it("a failing or missing process ends the connection with the reason as cause", async () => {
    const failing = new ProcessEndpoint(reactor, "/bin/sh", ["-c", "exit 4"]);
    const p = await failing.connect(Factory.forProtocol(Recording));
    const reason = await p.lost;
    expect(reason).toBeInstanceOf(ConnectionLost);
    expect((reason.cause as ProcessTerminated).exitCode).toBe(4);
    const missing = await new ProcessEndpoint(reactor, "/nonexistent/x").connect(
      Factory.forProtocol(Recording),
    );
    expect((await missing.lost).cause).toBeInstanceOf(ProcessSpawnError);
  });

  it("parses and describes process: strings", () => {
    const e = clientFromString(reactor, "process:/bin/echo:a\\:b:c:path=/tmp:errFlag=drop");
    expect(e.describe()).toBe("process:/bin/echo:a\\:b:c:path=/tmp:errFlag=drop");
    expect(() => clientFromString(reactor, "process:")).toThrow(InvalidArgumentError);
    expect(() => clientFromString(reactor, "process:/bin/echo:bogus=1")).toThrow(
      InvalidArgumentError,
    );
  });
});
