/**
 * Logs that cannot be used against the server (issue 10: 200 KB/s of unknown-transform requests
 * made the log grow ~20× the bytes received). A real `weft serve` at the default log level (info)
 * gets a bounded attack of malformed and unknown-name requests on its netstring, line and AMP
 * front-ends; its log (stderr) must grow by at most 10% of the attack's bytes, peer faults must be
 * warn records without stacks or whole inputs, and a legitimate line client must stay fast.
 */
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeNetstring } from "../../src/protocols/receivers/netstring/encoder.js";
import { type Served, startServe } from "./stop-helpers.js";

let served: Served;

beforeAll(async () => {
  served = await startServe(
    {
      services: {
        transform: {
          listen: ["netstring", "line", "amp"].map((protocol) => ({ protocol, endpoint: "tcp:0" })),
        },
      },
    },
    ["--log-level", "info"],
  );
});

afterAll(async () => {
  await served.cleanup();
});

/** Log bytes so far (stderr is where `weft serve` logs). */
let logged = 0;
let log = "";
function watchLog(): void {
  served.child.stderr?.on("data", (d: Buffer) => {
    logged += d.length;
    log += d.toString("utf8");
  });
}

/** Sends `data` on a fresh connection and waits until the server closes it (bounded: 10 s). */
function oneShot(port: number, data: Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    const timer = setTimeout(() => s.destroy(), 10_000);
    s.on("error", () => undefined);
    s.on("close", () => {
      clearTimeout(timer);
      resolve();
    });
    s.on("connect", () => s.end(data));
    s.resume();
  });
}

/** Runs `count` one-shot connections, `parallel` at a time. */
async function flood(
  port: number,
  count: number,
  parallel: number,
  payload: (i: number) => Uint8Array,
): Promise<number> {
  let sent = 0;
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const data = payload(next++);
      sent += data.length;
      await oneShot(port, data);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return sent;
}

/** A raw AMP box. */
function box(fields: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields)) {
    const kb = Buffer.from(k);
    const vb = Buffer.from(v);
    parts.push(Buffer.from([0, kb.length]), kb, Buffer.from([vb.length >> 8, vb.length & 255]), vb);
  }
  parts.push(Buffer.from([0, 0]));
  return Buffer.concat(parts);
}

/** A legitimate line client: one request every 5 ms while `until` is pending; the round trips. */
async function legitimate(port: number, until: Promise<unknown>): Promise<number[]> {
  const s = net.connect(port, "127.0.0.1");
  await new Promise<void>((r) => s.once("connect", () => r()));
  s.setEncoding("utf8");
  const times: number[] = [];
  let over = false;
  void until.then(() => {
    over = true;
  });
  let buf = "";
  for (let i = 0; !over && i < 10_000; i++) {
    const t0 = performance.now();
    const reply = new Promise<string>((resolve) => {
      const onData = (d: string) => {
        buf += d;
        const at = buf.indexOf("\r\n");
        if (at < 0) return;
        const line = buf.slice(0, at);
        buf = buf.slice(at + 2);
        s.off("data", onData);
        resolve(line);
      };
      s.on("data", onData);
    });
    s.write(`upper legit ${i}\r\n`);
    expect(await reply).toBe(`OK LEGIT ${i}`);
    times.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 5));
  }
  s.destroy();
  return times;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

/** The JSON records logged since `from`. */
function records(from: number): Array<Record<string, unknown>> {
  return log
    .slice(from)
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe("a flood of bad requests cannot flood the log", () => {
  beforeAll(() => {
    watchLog();
  });

  it("netstring: 2 MB of unknown-transform and malformed requests, one per connection", async () => {
    const port = served.port("transform/netstring");
    const before = logged;
    const from = log.length;
    const filler = "x".repeat(900);
    const attack = flood(port, 2200, 20, (i) =>
      i % 4 === 3
        ? Buffer.from(`9999999:${filler}`) // malformed: a length far beyond the limit
        : encodeNetstring(Buffer.from(`nosuch\r\n${i}${"\u0000".repeat(20)}.${filler}`)),
    );
    const [sent, times] = await Promise.all([
      attack,
      legitimate(served.port("transform/line"), attack),
    ]);
    await new Promise((r) => setTimeout(r, 200)); // the last records
    const grew = logged - before;
    expect(sent).toBeGreaterThan(2_000_000);
    expect(grew).toBeLessThanOrEqual(sent * 0.1);
    const faults = records(from).filter((r) => r["msg"] === "transform refused");
    expect(faults.length).toBeGreaterThan(0);
    for (const r of faults) {
      expect(r["level"]).toBe(40);
      expect(r["err"]).toBeUndefined();
      expect(JSON.stringify(r)).not.toContain("stack");
      expect(String(r["input"]).length).toBeLessThanOrEqual(32 * 6 + 12);
    }
    expect(times.length).toBeGreaterThan(5);
    expect(median(times)).toBeLessThan(50);
  }, 120_000);

  it("line: 2 MB of unknown-name and malformed lines on one connection", async () => {
    const port = served.port("transform/line");
    const before = logged;
    const line = `nosuch ${"y".repeat(1000)}\r\nno-space-at-all${"z".repeat(1000)}\r\n`;
    const data = Buffer.from(line.repeat(Math.ceil(2_000_000 / line.length)));
    const s = net.connect(port, "127.0.0.1");
    s.on("error", () => undefined);
    let replies = 0;
    s.setEncoding("utf8").on("data", (d: string) => {
      replies += d.split("\r\n").length - 1;
    });
    await new Promise<void>((r) => s.once("connect", () => r()));
    await new Promise<void>((r) => s.end(data, () => r()));
    await new Promise<void>((r) => s.once("close", () => r()));
    expect(replies).toBeGreaterThan(1000);
    expect(logged - before).toBeLessThanOrEqual(data.length * 0.1);
  }, 120_000);

  it("AMP: 2 MB of unknown commands and protocol violations", async () => {
    const port = served.port("transform/amp");
    const before = logged;
    const from = log.length;
    const text = "w".repeat(900);
    const sent = await flood(port, 2200, 20, (i) =>
      i % 2 === 0
        ? box({ _command: `NoSuch${i}`, _ask: "1", text })
        : Buffer.concat([
            box({ _command: "Transform", _ask: "1", name: "upper", text }),
            Buffer.from([7, 0, 1]),
          ]),
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(sent).toBeGreaterThan(2_000_000);
    expect(logged - before).toBeLessThanOrEqual(sent * 0.1);
    const violations = records(from).filter((r) =>
      String(r["msg"]).includes("AMP protocol violation"),
    );
    expect(violations.length).toBeGreaterThan(0);
    for (const r of violations) {
      expect(r["level"]).toBe(40);
      expect(JSON.stringify(r)).not.toContain("stack");
    }
  }, 120_000);

  it("on stop, the summaries held back are written: suppressed N similar peer faults", async () => {
    served.child.kill("SIGTERM");
    const exit = await served.exit;
    expect(exit.code).toBe(0);
    const summaries = records(0).filter((r) => String(r["msg"]).startsWith("suppressed"));
    expect(summaries.some((r) => r["kind"] === "transform/netstring/ERR_UNKNOWN_TRANSFORM")).toBe(
      true,
    );
    expect(summaries.some((r) => String(r["kind"]).startsWith("transform/amp/"))).toBe(true);
    for (const r of summaries) expect(r["suppressed"]).toBeGreaterThan(0);
  }, 60_000);
});
