/**
 * The weblog front-ends over real sockets, every interval on a manual Clock: request-driven
 * NEW?/NONE, 200 push clients each receiving every hit once, a client that stops reading dropping
 * only its own hits (counted and reported), AMP Subscribe + server-initiated Hits.
 */
import { appendFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Clock } from "../../../src/core/clock.js";
import { type ClientEndpoint, connectProtocol } from "../../../src/core/endpoints.js";
import { CommandLocator } from "../../../src/protocols/amp/command.js";
import { AMP } from "../../../src/protocols/amp/protocol.js";
import { Hits, Subscribe, WeblogAMPFactory } from "../../../src/services/weblog/amp.js";
import { WeblogPushFactory, WeblogRequestFactory } from "../../../src/services/weblog/line.js";
import { formatHit } from "../../../src/services/weblog/parse.js";
import { WeblogService } from "../../../src/services/weblog/service.js";
import { parseWeblogLine } from "../../../src/services/weblog/wire.js";
import { closeAll, endpoint, listen } from "../helpers.js";

let dir = "";
let log = "";
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "weft-weblog-fe-"));
  log = join(dir, "access.log");
  writeFileSync(log, "");
});
afterEach(async () => {
  await closeAll();
  await rm(dir, { recursive: true, force: true });
});

function hits(from: number, to: number, agentBytes = 20): string {
  let s = "";
  for (let n = from; n < to; n++)
    s += `${formatHit({
      host: "198.51.100.7",
      ident: null,
      user: null,
      time: "03/Dec/2026:19:00:00 +0000",
      request: `GET /${n} HTTP/1.1`,
      status: 200,
      bytes: n,
      referrer: null,
      agent: "a".repeat(agentBytes),
    })}\n`;
  return s;
}

/** A raw line client collecting what the weblog format says. */
class Reader {
  readonly socket: net.Socket;
  readonly ids: number[] = [];
  dropped = 0;
  markers: string[] = [];
  #buf = "";
  constructor(port: number) {
    this.socket = net.connect(port, "127.0.0.1");
    this.socket.setEncoding("utf8");
    this.socket.on("data", (d: string) => {
      this.#buf += d;
      let i = this.#buf.indexOf("\r\n");
      while (i >= 0) {
        const l = parseWeblogLine(this.#buf.slice(0, i));
        this.#buf = this.#buf.slice(i + 2);
        i = this.#buf.indexOf("\r\n");
        if (l === null) throw new Error("bad line");
        if (l.kind === "hit") this.ids.push(l.hit.id);
        else if (l.kind === "dropped") this.dropped += l.count;
        else this.markers.push(l.kind);
      }
    });
    this.socket.on("error", () => undefined);
  }
  connected(): Promise<void> {
    return new Promise((r) => this.socket.once("connect", () => r()));
  }
}

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  for (let waited = 0; !cond(); waited += 5) {
    if (waited > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe("weblog front-ends", () => {
  it("request-driven: NEW? → the hits since this client's last question, then END; else NONE", async () => {
    const clock = new Clock();
    const service = new WeblogService({ path: log, clock });
    const port = await listen(new WeblogRequestFactory(service));
    const r = new Reader(port);
    await r.connected();
    r.socket.write("NEW?\r\n");
    await until(() => r.markers.length === 1, "NONE");
    appendFileSync(log, hits(0, 3));
    clock.advance(1);
    r.socket.write("NEW?\r\n");
    await until(() => r.markers.length === 2, "END");
    r.socket.write("NEW?\r\n");
    await until(() => r.markers.length === 3, "NONE");
    expect(r.markers).toEqual(["none", "end", "none"]);
    expect(r.ids).toEqual([1, 2, 3]);
    r.socket.destroy();
    service.stop();
  });

  it("push: 200 clients each receive every hit exactly once", async () => {
    const clock = new Clock();
    const service = new WeblogService({ path: log, clock });
    const factory = new WeblogPushFactory(service, { clock, interval: 5 });
    const port = await listen(factory);
    const readers = Array.from({ length: 200 }, () => new Reader(port));
    await until(() => factory.connections.size === 200, "200 connections");
    for (const [from, to] of [
      [0, 150],
      [150, 400],
    ] as const) {
      appendFileSync(log, hits(from, to));
      clock.advance(1); // read the log
      clock.advance(4); // the push interval
      await until(() => readers.every((r) => r.ids.length === to), `${to} hits everywhere`);
    }
    for (const r of readers) {
      expect(r.ids).toEqual(range(1, 401));
      expect(r.dropped).toBe(0);
      r.socket.destroy();
    }
    service.stop();
  }, 30_000);

  it("a client that stops reading drops only its own oldest hits, and is told how many", async () => {
    const clock = new Clock();
    const service = new WeblogService({ path: log, clock, backlog: 1000, pollInterval: 1 });
    const factory = new WeblogPushFactory(service, { clock, interval: 1 });
    const port = await listen(factory);
    const reader = new Reader(port);
    const sleeper = new Reader(port);
    await until(() => factory.connections.size === 2, "2 connections");
    sleeper.socket.pause();
    const rounds = 100;
    const per = 50;
    for (let i = 0; i < rounds; i++) {
      appendFileSync(log, hits(i * per, (i + 1) * per, 2000));
      clock.advance(1);
      await until(() => reader.ids.length === (i + 1) * per, "the reader keeps up");
    }
    const total = rounds * per;
    expect(reader.ids).toEqual(range(1, total + 1));
    expect(reader.dropped).toBe(0);
    sleeper.socket.resume();
    // It catches up: what is still in its buffers, then a DROPPED count and the newest hits.
    for (let i = 0; i < 200 && sleeper.ids.length + sleeper.dropped < total; i++) {
      await new Promise((r) => setTimeout(r, 10));
      clock.advance(1);
    }
    expect(sleeper.dropped).toBeGreaterThan(0);
    expect(sleeper.ids.length + sleeper.dropped).toBe(total);
    expect(new Set(sleeper.ids).size).toBe(sleeper.ids.length);
    expect(sleeper.ids).toEqual([...sleeper.ids].sort((a, b) => a - b));
    reader.socket.destroy();
    sleeper.socket.destroy();
    service.stop();
  }, 60_000);

  it("AMP: Subscribe, then Hits calls carry every hit (split across calls), in order", async () => {
    const clock = new Clock();
    const service = new WeblogService({ path: log, clock });
    const port = await listen(new WeblogAMPFactory(service, { clock, interval: 5 }));
    const got: number[] = [];
    let dropped = 0;
    const locator = new CommandLocator<AMP>().responder(Hits, (args) => {
      for (const h of args.hits) got.push(Number(h.id));
      dropped += Number(args.dropped);
      return {};
    });
    const amp = await connectProtocol(endpoint(port) as ClientEndpoint, new AMP({ locator }));
    await amp.callRemote(Subscribe, {});
    appendFileSync(log, hits(0, 300));
    clock.advance(1);
    clock.advance(4);
    await until(() => got.length === 300, "300 hits over AMP");
    expect(got).toEqual(range(1, 301));
    expect(dropped).toBe(0);
    amp.transport.loseConnection();
    service.stop();
  });
});
