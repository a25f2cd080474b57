/**
 * A benchmark server in its own process: `node --import tsx bench/services/server.ts KIND` where KIND
 * is `line-weft`, `line-raw`, `amp-weft`, `amp-raw`, `netstring-weft` or `netstring-raw`. Listens on
 * 127.0.0.1:0 and prints `{"port":N}`; then answers `cpu` lines on stdin with its
 * `process.cpuUsage()` (µs) as JSON, and exits on `exit` or when stdin closes.
 *
 * The raw servers do the same exchange as the weft front-ends by hand on `node:net` (one write per
 * incoming chunk, replies batched), so the ratio shows what weft's layers cost.
 */

import { existsSync } from "node:fs";
import net from "node:net";
import { createInterface } from "node:readline";

// weft as users run it: the built bundle (dist/, built by run.ts through scripts/ensure-build.mjs).
// Under tsx every cross-module call of the sources goes through an export getter, which would bill
// weft for the loader, not for its code. BENCH_SRC=1 (or no dist/) loads the sources instead.
const fromDist = process.env["BENCH_SRC"] !== "1" && existsSync("dist/services.js");
const weft = (await import(
  fromDist ? `${process.cwd()}/dist/index.js` : "../../src/index.js"
)) as typeof import("../../src/index.js");
const services = (await import(
  fromDist ? `${process.cwd()}/dist/services.js` : "../../src/services/index.js"
)) as typeof import("../../src/services/index.js");
const { createReactor } = weft;
const { TransformAMPFactory, TransformLineFactory, TransformNetstringFactory, TransformService } =
  services;

const kind = process.argv[2] ?? "";
const service = new TransformService();
const transforms = new Map<string, (t: string) => string>([["upper", (t) => t.toUpperCase()]]);

/** Node's native slicers (undocumented but stable), to give the raw servers the fastest path. */
type FastBuffer = Buffer & {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
};

function rawLineServer(): net.Server {
  return net.createServer((s) => {
    s.setNoDelay(true);
    let rest: Buffer | null = null;
    s.on("data", (chunk: Buffer) => {
      const buf = (rest === null ? chunk : Buffer.concat([rest, chunk])) as FastBuffer;
      let start = 0;
      let out = "";
      for (;;) {
        const cr = buf.indexOf(0x0d, start);
        if (cr < 0 || cr + 1 >= buf.length) break;
        if (buf[cr + 1] !== 0x0a) {
          start = cr + 1;
          continue;
        }
        const sp = buf.indexOf(0x20, start);
        const fn = sp >= 0 && sp < cr ? transforms.get(buf.latin1Slice(start, sp)) : undefined;
        out +=
          fn === undefined
            ? "ERROR ERR_UNKNOWN_TRANSFORM unknown\r\n"
            : `OK ${fn(buf.utf8Slice(sp + 1, cr))}\r\n`;
        start = cr + 2;
      }
      rest = start < buf.length ? buf.subarray(start) : null;
      if (out.length > 0) s.write(out);
    });
    s.on("error", () => undefined);
  });
}

const ANSWER_KEY = Buffer.from("\x00\x07_answer", "latin1");
const TEXT_KEY = Buffer.from("\x00\x04text", "latin1");

/**
 * Hand-written AMP: parse boxes with cursors (keys recognised by length and first byte), answer
 * `Transform` with `_answer` + `text` written into one reusable output buffer per chunk.
 */
function rawAmpServer(): net.Server {
  return net.createServer((s) => {
    s.setNoDelay(true);
    let rest: Buffer | null = null;
    s.on("data", (chunk: Buffer) => {
      const buf = (rest === null ? chunk : Buffer.concat([rest, chunk])) as FastBuffer;
      let at = 0;
      let out = Buffer.allocUnsafe(16 * 1024);
      let o = 0;
      outer: for (;;) {
        let p = at;
        let askAt = -1;
        let askLen = 0;
        let name = "";
        let text = "";
        for (;;) {
          if (p + 2 > buf.length) break outer;
          const klen = buf.readUInt16BE(p);
          if (klen === 0) {
            p += 2;
            break;
          }
          if (p + 2 + klen + 2 > buf.length) break outer;
          const k0 = buf[p + 2];
          const vlen = buf.readUInt16BE(p + 2 + klen);
          const v0 = p + 4 + klen;
          if (v0 + vlen > buf.length) break outer;
          if (klen === 4 && k0 === 0x5f) {
            askAt = v0;
            askLen = vlen;
          } else if (klen === 4 && k0 === 0x6e) name = buf.latin1Slice(v0, v0 + vlen);
          else if (klen === 4 && k0 === 0x74) text = buf.utf8Slice(v0, v0 + vlen);
          p = v0 + vlen;
        }
        at = p;
        const fn = transforms.get(name);
        if (askAt >= 0 && fn !== undefined) {
          const result = fn(text);
          const rlen = Buffer.byteLength(result);
          const need = 9 + 2 + askLen + 6 + 2 + rlen + 2;
          if (o + need > out.length) {
            const bigger = Buffer.allocUnsafe(Math.max(out.length * 2, o + need));
            out.copy(bigger, 0, 0, o);
            out = bigger;
          }
          o += ANSWER_KEY.copy(out, o);
          o = out.writeUInt16BE(askLen, o);
          o += buf.copy(out, o, askAt, askAt + askLen);
          o += TEXT_KEY.copy(out, o);
          o = out.writeUInt16BE(rlen, o);
          o += out.write(result, o, "utf8");
          o = out.writeUInt16BE(0, o);
        }
      }
      rest = at < buf.length ? Buffer.from(buf.subarray(at)) : null;
      if (o > 0) s.write(out.subarray(0, o));
    });
    s.on("error", () => undefined);
  });
}

/** Hand-written netstring transform: one `N:name.text,` in, one netstring out, close. */
function rawNetstringServer(): net.Server {
  return net.createServer((s) => {
    s.setNoDelay(true);
    let buf: Buffer = Buffer.alloc(0);
    let done = false;
    s.on("data", (chunk: Buffer) => {
      if (done) return;
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      const colon = buf.indexOf(0x3a);
      if (colon < 0) return;
      const len = Number(buf.toString("latin1", 0, colon));
      if (buf.length < colon + 1 + len + 1) return;
      done = true;
      const body = buf.subarray(colon + 1, colon + 1 + len);
      const dot = body.indexOf(0x2e);
      const fn = dot < 0 ? undefined : transforms.get(body.toString("latin1", 0, dot));
      if (fn === undefined || buf[colon + 1 + len] !== 0x2c) {
        s.end();
        return;
      }
      const out = Buffer.from(fn(body.toString("utf8", dot + 1)));
      s.end(Buffer.concat([Buffer.from(`${out.length}:`), out, Buffer.from(",")]));
    });
    s.on("error", () => undefined);
  });
}

async function start(): Promise<number> {
  if (kind.endsWith("-raw")) {
    const server =
      kind === "line-raw"
        ? rawLineServer()
        : kind === "amp-raw"
          ? rawAmpServer()
          : rawNetstringServer();
    await new Promise<void>((r) => server.listen({ port: 0, host: "127.0.0.1", backlog: 511 }, r));
    return (server.address() as net.AddressInfo).port;
  }
  const reactor = createReactor();
  const factory =
    kind === "line-weft"
      ? new TransformLineFactory(service)
      : kind === "amp-weft"
        ? new TransformAMPFactory(service)
        : new TransformNetstringFactory(service);
  const port = await reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
  return port.getHost().port;
}

if (
  !["line-weft", "line-raw", "amp-weft", "amp-raw", "netstring-weft", "netstring-raw"].includes(
    kind,
  )
) {
  process.stderr.write(`unknown server kind ${kind}\n`);
  process.exit(2);
}
const port = await start();
process.stdout.write(`${JSON.stringify({ port, fromDist })}\n`);
const rl = createInterface({ input: process.stdin });
rl.on("line", (line) => {
  if (line === "cpu") {
    const u = process.cpuUsage();
    process.stdout.write(`${JSON.stringify({ cpu: u.user + u.system })}\n`);
  } else if (line === "exit") {
    process.exit(0);
  }
});
rl.on("close", () => process.exit(0));
