/**
 * The attacked server of `bench/hardening`: a suite (transform netstring + line, calculator AMP) on
 * 127.0.0.1 port 0 with the default connection limits, in its own process (run with --expose-gc).
 * Prints `{"ports":{…}}`, then answers lines on stdin: `stats` → memory and limit figures as JSON,
 * `gc` → the same after two full collections; exits when stdin closes. Limit lines go to stderr.
 */
import { createInterface } from "node:readline";
import { createReactor, type SocketPort } from "../../src/index.js";
import { startSuite } from "../../src/services/index.js";

const reactor = createReactor();
const warn = { lines: 0, bytes: 0 };
const logger = {
  debug() {},
  info() {},
  warn(_obj: object, msg?: string) {
    warn.lines++;
    warn.bytes += (msg ?? "").length + 1;
    process.stderr.write(`${msg ?? ""}\n`);
  },
  error(_obj: object, msg?: string) {
    process.stderr.write(`error: ${msg ?? ""}\n`);
  },
  isLevelEnabled: () => true,
};
const suite = await startSuite(
  reactor,
  {
    services: {
      transform: {
        listen: [
          { protocol: "netstring", endpoint: "tcp:0" },
          { protocol: "line", endpoint: "tcp:0" },
        ],
      },
      calculator: { listen: [{ protocol: "amp", endpoint: "tcp:0" }] },
    },
  },
  { logger },
);
const ports: Record<string, number> = {};
for (const f of suite.frontEnds) ports[`${f.service}-${f.protocol}`] = f.address.port;
process.stdout.write(`${JSON.stringify({ ports })}\n`);

function stats(): object {
  const m = process.memoryUsage();
  const guards = suite.frontEnds.map((f) => (f.port as SocketPort).guard);
  const p = guards[0]?.process;
  return {
    rss: m.rss,
    heapUsed: m.heapUsed,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    held: p?.total ?? 0,
    connections: p?.connections ?? 0,
    logLines: warn.lines,
    logBytes: warn.bytes,
  };
}

const gc = (globalThis as { gc?: () => void }).gc;
createInterface({ input: process.stdin }).on("line", (line) => {
  if (line === "gc") {
    gc?.();
    gc?.();
  }
  process.stdout.write(`${JSON.stringify(stats())}\n`);
});
process.stdin.on("end", () => process.exit(0));
