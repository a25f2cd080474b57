/**
 * `weft serve`'s signal handling in-process, with an injected signal source: a repeated signal while
 * stopping changes nothing (as in Twisted). Under `npm start`, Ctrl-C reaches weft twice — once from
 * the terminal, once forwarded by npm — and must still end in a graceful exit 0.
 */
import { EventEmitter } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serve } from "../../src/cli/serve.js";

let dir = "";
let config = "";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "weft-serve-signals-"));
  config = join(dir, "suite.json");
  await writeFile(
    config,
    JSON.stringify({
      services: { transform: { listen: [{ protocol: "line", endpoint: "tcp:0" }] } },
    }),
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("weft serve signals", () => {
  it("a repeated signal while stopping is ignored: open clients are closed, exit 0", async () => {
    const signals = new EventEmitter();
    let printed = "";
    let onTable: () => void = () => undefined;
    const table = new Promise<void>((r) => {
      onTable = r;
    });
    const exit = serve(
      { config, logLevel: "silent", grace: 30 },
      {
        stdout: (t) => {
          printed += t;
          onTable();
        },
        stderr: () => undefined,
      },
      signals as unknown as NodeJS.Process,
    );
    await table;
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(printed)?.[1]);
    expect(port).toBeGreaterThan(0);

    const client = net.connect(port, "127.0.0.1");
    client.setEncoding("utf8");
    let ended = false;
    client.on("end", () => {
      ended = true;
    });
    const closed = new Promise<boolean>((r) => client.on("close", (hadError) => r(hadError)));
    await new Promise<void>((resolve, reject) => {
      client.once("data", () => resolve());
      client.once("error", reject);
      client.write("upper hi\r\n");
    });

    expect(signals.listenerCount("SIGINT")).toBe(1);
    expect(signals.listenerCount("SIGTERM")).toBe(1);
    signals.emit("SIGINT", "SIGINT");
    signals.emit("SIGINT", "SIGINT"); // npm's forwarded copy
    signals.emit("SIGTERM", "SIGTERM");
    expect(await exit).toBe(0);
    expect(await closed).toBe(false);
    expect(ended).toBe(true);
    client.destroy();
    // The handlers are gone once stopped.
    expect(signals.listenerCount("SIGINT")).toBe(0);
    expect(signals.listenerCount("SIGTERM")).toBe(0);
  });
});
