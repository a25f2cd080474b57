/**
 * A server for the applications benchmark (bench/services/apps.ts) in its own process:
 * `node --import tsx bench/services/apps-server.ts KIND [LOG]` where KIND is
 * - `fib-default` / `fib-strict`: weft's Fibonacci line front-end on a temporary state directory;
 * - `fib-raw`: a hand-written `node:net` server doing the same (any line → next number, in memory);
 * - `weblog-push`: weft's weblog push front-end tailing LOG (polled and pushed every 20 ms).
 * Listens on 127.0.0.1:0, prints `{"port":N}`, answers `cpu` on stdin with `process.cpuUsage()` (µs),
 * and exits on `exit` or when stdin closes.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

const fromDist = process.env["BENCH_SRC"] !== "1" && existsSync("dist/services.js");
const weft = (await import(
  fromDist ? `${process.cwd()}/dist/index.js` : "../../src/index.js"
)) as typeof import("../../src/index.js");
const services = (await import(
  fromDist ? `${process.cwd()}/dist/services.js` : "../../src/services/index.js"
)) as typeof import("../../src/services/index.js");

const [kind = "", log = ""] = process.argv.slice(2);
const reactor = weft.createReactor();
let cleanup = (): void => {};
let port: number;

if (kind === "fib-raw") {
  let a = 1n;
  let b = 1n;
  const server = net.createServer((s) => {
    s.setNoDelay(true);
    s.on("data", (chunk: Buffer) => {
      let out = "";
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) {
        const n = a + b;
        a = b;
        b = n;
        out += `${n}\r\n`;
      }
      if (out.length > 0) s.write(out);
    });
    s.on("error", () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as net.AddressInfo).port;
} else if (kind === "fib-default" || kind === "fib-strict") {
  const dir = mkdtempSync(join(tmpdir(), "weft-bench-fib-"));
  const state = await services.StateDirectory.open(dir);
  const store = await services.FileFibonacciStore.open(state, {
    strict: kind === "fib-strict",
    clock: reactor,
  });
  const service = new services.FibonacciService(store);
  const p = await reactor.listenTCP(0, new services.FibonacciLineFactory(service), {
    interface: "127.0.0.1",
  });
  port = p.getHost().port;
  cleanup = () => rmSync(dir, { recursive: true, force: true });
} else if (kind === "weblog-push") {
  const service = new services.WeblogService({
    path: log,
    clock: reactor,
    pollInterval: 0.02,
    backlog: 1000,
  });
  const p = await reactor.listenTCP(
    0,
    new services.WeblogPushFactory(service, { clock: reactor, interval: 0.02 }),
    { interface: "127.0.0.1", backlog: 2048 },
  );
  port = p.getHost().port;
} else {
  throw new Error(`unknown server kind ${JSON.stringify(kind)}`);
}

process.stdout.write(`${JSON.stringify({ port, fromDist })}\n`);
const rl = createInterface({ input: process.stdin });
rl.on("line", (line) => {
  if (line === "cpu") {
    const u = process.cpuUsage();
    process.stdout.write(`${JSON.stringify({ cpu: u.user + u.system })}\n`);
  } else if (line === "exit") {
    cleanup();
    process.exit(0);
  }
});
rl.on("close", () => {
  cleanup();
  process.exit(0);
});
