/**
 * A benchmark server in its own process: `node --import tsx bench/services/server.ts KIND` where KIND
 * is `line-weft`, `line-raw`, `amp-weft`, `amp-raw`, `netstring-weft` or `netstring-raw`. Listens on
 * 127.0.0.1:0 and prints `{"port":N}`; then answers `cpu` lines on stdin with its
 * `process.cpuUsage()` (µs) as JSON, and exits on `exit` or when stdin closes.
 *
 * The raw servers do the same exchange as the weft front-ends by hand on `node:net` (one write per
 * incoming chunk, replies batched), so the ratio shows what weft's layers cost.
 */
import net from "node:net";
import { createInterface } from "node:readline";
import { existsSync } from "node:fs";

// weft as users run it: the built bundle (dist/, built by run.ts through scripts/ensure-build.mjs).
// Under tsx every cross-module call of the sources goes through an export getter, which would bill
// weft for the loader, not for its code. BENCH_SRC=1 (or no dist/) loads the sources instead.
const fromDist = process.env["BENCH_SRC"] !== "1" && existsSync("dist/index.js");
const weft = (await import(fromDist ? `${process.cwd()}/dist/index.js` : "../../src/index.js")) as typeof import("../../src/index.js");
const { createReactor, TransformAMPFactory, TransformLineFactory, TransformNetstringFactory, TransformService } = weft;

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

/** Hand-written AMP: parse boxes, answer `Transform` with `_answer` + `text` (keys sorted). */
function rawAmpServer(): net.Server {
  return net.createServer((s) => {
    s.setNoDelay(true);
    let rest: Buffer | null = null;
    s.on("data", (chunk: Buffer) => {
      const buf = rest === null ? chunk : Buffer.concat([rest, chunk]);
      let at = 0;
      const replies: Buffer[] = [];
      outer: for (;;) {
        let p = at;
        let ask: Buffer | null = null;
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
          const key = buf.toString("latin1", p + 2, p + 2 + klen);
          const vlen = buf.readUInt16BE(p + 2 + klen);
          const v0 = p + 4 + klen;
          if (v0 + vlen > buf.length) break outer;
          if (key === "_ask") ask = buf.subarray(v0, v0 + vlen);
          else if (key === "name") name = buf.toString("utf8", v0, v0 + vlen);
          else if (key === "text") text = buf.toString("utf8", v0, v0 + vlen);
          p = v0 + vlen;
        }
        at = p;
        const fn = transforms.get(name);
        if (ask !== null && fn !== undefined) {
          const result = Buffer.from(fn(text));
          const reply = Buffer.allocUnsafe(2 + 7 + 2 + ask.length + 2 + 4 + 2 + result.length + 2);
          let q = reply.writeUInt16BE(7, 0);
          q += reply.write("_answer", q, "latin1");
          q = reply.writeUInt16BE(ask.length, q);
          q += ask.copy(reply, q);
          q = reply.writeUInt16BE(4, q);
          q += reply.write("text", q, "latin1");
          q = reply.writeUInt16BE(result.length, q);
          q += result.copy(reply, q);
          reply.writeUInt16BE(0, q);
          replies.push(reply);
        }
      }
      rest = at < buf.length ? buf.subarray(at) : null;
      if (replies.length === 1) s.write(replies[0] as Buffer);
      else if (replies.length > 1) s.write(Buffer.concat(replies));
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
