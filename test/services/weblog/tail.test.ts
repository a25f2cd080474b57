import { appendFileSync, copyFileSync, renameSync, truncateSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Clock } from "../../../src/core/clock.js";
import { formatHit } from "../../../src/services/weblog/parse.js";
import { WeblogService } from "../../../src/services/weblog/service.js";
import { LogTailer } from "../../../src/services/weblog/tail.js";

let dir = "";
let log = "";
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "weft-weblog-"));
  log = join(dir, "access.log");
  writeFileSync(log, `${line(-1)}\n${line(-2)}\n`); // old hits: not delivered
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Hit number `n` as a log line: its bytes field carries `n`. */
function line(n: number): string {
  return formatHit({
    host: "192.0.2.1",
    ident: null,
    user: null,
    time: "03/Dec/2026:19:00:00 +0000",
    request: `GET /page/${n} HTTP/1.1`,
    status: 200,
    bytes: Math.abs(n),
    referrer: "-x",
    agent: "test",
  });
}
const lines = (from: number, to: number): string => {
  let s = "";
  for (let i = from; i < to; i++) s += `${line(i)}\n`;
  return s;
};

function setup(options: { keep?: number } = {}) {
  const clock = new Clock();
  const service = new WeblogService({
    path: log,
    clock,
    keep: options.keep ?? 100_000,
    backlog: 100_000,
  });
  const got = (): number[] => service.since(0).hits.map((h) => h.bytes as number);
  return { clock, service, got };
}

describe("tailing the access log", () => {
  it("starts at the end and delivers each new hit once, on the poll interval", () => {
    const { clock, service, got } = setup();
    appendFileSync(log, lines(0, 3));
    expect(got()).toEqual([]);
    clock.advance(1);
    expect(got()).toEqual([0, 1, 2]);
    clock.advance(1);
    expect(got()).toEqual([0, 1, 2]);
    service.stop();
  });

  it("a line split across writes (and polls) is delivered once, whole", () => {
    const { clock, service, got } = setup();
    const text = lines(0, 2);
    for (let cut = 1; cut < text.length; cut += 7) {
      // fresh file per cut: write a prefix, poll, write the rest, poll
      appendFileSync(log, text.slice(0, cut));
      clock.advance(1);
      appendFileSync(log, text.slice(cut));
      clock.advance(1);
    }
    const n = Math.ceil((text.length - 1) / 7);
    const all = got();
    expect(all.length).toBe(2 * n);
    expect(service.malformed).toBe(0);
    for (let i = 0; i < all.length; i += 2) expect([all[i], all[i + 1]]).toEqual([0, 1]);
    service.stop();
  });

  it("rotation (rename + new file) in the middle of a burst: nothing lost, nothing repeated", () => {
    const { clock, service, got } = setup();
    appendFileSync(log, lines(0, 500));
    clock.advance(1); // read 0..499
    appendFileSync(log, lines(500, 700)); // written to the old file, not read yet
    renameSync(log, `${log}.1`);
    writeFileSync(log, lines(700, 1000)); // the new file
    clock.advance(1);
    appendFileSync(log, lines(1000, 1200));
    clock.advance(1);
    const all = got();
    expect(all.length).toBe(1200);
    expect(all).toEqual(Array.from({ length: 1200 }, (_, i) => i));
    expect(service.tailStats.rotations).toBe(1);
    service.stop();
  });

  it("copytruncate in the middle of a burst: nothing lost, nothing repeated", () => {
    const { clock, service, got } = setup();
    appendFileSync(log, lines(0, 500));
    clock.advance(1);
    // logrotate's copytruncate: copy, then truncate in place; the writer goes on appending.
    copyFileSync(log, `${log}.1`);
    truncateSync(log, 0);
    appendFileSync(log, lines(500, 520)); // shorter than what was read: size < offset
    clock.advance(1);
    copyFileSync(log, `${log}.2`);
    truncateSync(log, 0);
    appendFileSync(log, lines(520, 1500)); // longer than what was read before: caught by content
    clock.advance(1);
    const all = got();
    expect(all.length).toBe(1500);
    expect(all).toEqual(Array.from({ length: 1500 }, (_, i) => i));
    expect(service.tailStats.truncations).toBe(2);
    service.stop();
  });

  it("a missing log is waited for; a line over maxLineBytes is skipped and counted", () => {
    const path = join(dir, "later.log");
    const seen: string[] = [];
    const tailer = new LogTailer(path, (l) => seen.push(l), { maxLineBytes: 100 });
    tailer.start();
    tailer.poll();
    writeFileSync(path, `a\n${"x".repeat(150)}\nb\r\n${"y".repeat(60)}`);
    tailer.poll();
    appendFileSync(path, `${"y".repeat(60)}\nc\n`);
    tailer.poll();
    expect(seen).toEqual(["a", "b", "c"]);
    expect(tailer.stats.oversized).toBe(2);
    tailer.close();
  });

  it("keeps the last N hits; a client further behind than the backlog gets the drop count", () => {
    const clock = new Clock();
    const service = new WeblogService({ path: log, clock, keep: 10, backlog: 50 });
    appendFileSync(log, lines(0, 80));
    clock.advance(1);
    expect(service.recent().map((h) => h.bytes)).toEqual(
      Array.from({ length: 10 }, (_, i) => 70 + i),
    );
    const batch = service.since(0);
    expect(batch.dropped).toBe(30);
    expect(batch.hits.map((h) => h.bytes)).toEqual(Array.from({ length: 50 }, (_, i) => 30 + i));
    expect(service.since(75).hits.length).toBe(5);
    service.stop();
  });
});
