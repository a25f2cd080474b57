// Differential test: weft's LineReceiver against a deliberately naive model of Twisted's
// LineReceiver loop (reference section 1.2: concatenate, split on the first delimiter, raw mode gets
// the whole buffer, re-entrant data is appended, the loop ends after lineLengthExceeded). Both run
// the same scripted handlers (mode flips from inside handlers, clearLineBuffer, re-entrant
// dataReceived, setLineMode(extra), recovering from over-long lines) on random bytes in random
// chunks, and must log exactly the same events.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LineOnlyReceiver, LineReceiver } from "../../../src/protocols/receivers/index.js";
import { chunked } from "../../../src/testing/arbitraries.js";
import { MemoryTransport } from "../../../src/testing/memory.js";

const latin1 = (u: Uint8Array): string => Buffer.from(u).toString("latin1");

/**
 * Up to 150 bytes, biased towards the delimiter's bytes and the script's `letters`, cut into up to
 * 12 chunks.
 */
function chunkedScript(d: Buffer, letters: number[]): fc.Arbitrary<Uint8Array[]> {
  const byte = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...d) },
    { weight: 3, arbitrary: fc.constantFrom(...letters) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
  );
  return fc
    .array(byte, { maxLength: 150 })
    .chain((bs) => chunked(Uint8Array.from(bs), { maxChunks: 12 }));
}

interface Receiver {
  log: string[];
  MAX_LENGTH: number;
  setRawMode(): void;
  setLineMode(extra?: Uint8Array): void;
  clearLineBuffer(): Uint8Array;
  dataReceived(data: Uint8Array): void;
  pauseProducing(): void;
}

const INJECTED = Buffer.from("inj\nkx\n");

/** The scripted handlers, shared by both implementations. */
function onLine(p: Receiver, line: Uint8Array): void {
  p.log.push(`L:${latin1(line)}`);
  const first = line[0];
  if (first === 0x72 /* r */) p.setRawMode();
  else if (first === 0x63 /* c */) p.log.push(`C:${latin1(p.clearLineBuffer())}`);
  else if (first === 0x69 /* i */ && p.log.length < 200) p.dataReceived(INJECTED);
  else if (first === 0x70 /* p */) p.pauseProducing();
  else if (first === 0x6b /* k */ && p.log.length < 200) {
    p.log.push(`K:${latin1(p.clearLineBuffer())}`);
    p.dataReceived(INJECTED); // the same object every time, maybe the chunk being parsed
  }
}

function onRaw(p: Receiver, data: Uint8Array): void {
  p.log.push(`R:${latin1(data)}`);
  p.setLineMode(data.subarray(Math.min(3, data.length)));
}

function onExceeded(p: Receiver, data: Uint8Array): void {
  p.log.push(`X:${latin1(data)}`);
  p.setLineMode(data.subarray(p.MAX_LENGTH + 1));
}

/** The model: what section 1.2 says, written as plainly as possible (quadratic, and fine here). */
class Model implements Receiver {
  log: string[] = [];
  buf: Buffer = Buffer.alloc(0);
  busy = false;
  lineMode = true;
  paused = false;
  pauseProducing(): void {
    this.paused = true;
  }
  resumeProducing(): void {
    this.paused = false;
    this.dataReceived(new Uint8Array(0));
  }
  constructor(
    readonly delimiter: Buffer,
    public MAX_LENGTH: number,
  ) {}
  setRawMode(): void {
    this.lineMode = false;
  }
  setLineMode(extra?: Uint8Array): void {
    this.lineMode = true;
    if (extra && extra.length > 0) this.dataReceived(extra);
  }
  clearLineBuffer(): Uint8Array {
    const b = this.buf;
    this.buf = Buffer.alloc(0);
    return b;
  }
  dataReceived(data: Uint8Array): void {
    this.buf = Buffer.concat([this.buf, data]);
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.buf.length > 0 && !this.paused) {
        if (this.lineMode) {
          const i = this.buf.indexOf(this.delimiter);
          if (i < 0) {
            if (this.buf.length >= this.MAX_LENGTH + this.delimiter.length) {
              onExceeded(this, this.clearLineBuffer());
            }
            return;
          }
          if (i > this.MAX_LENGTH) {
            onExceeded(this, this.clearLineBuffer());
            return;
          }
          const line = this.buf.subarray(0, i);
          this.buf = this.buf.subarray(i + this.delimiter.length);
          onLine(this, line);
        } else {
          onRaw(this, this.clearLineBuffer());
        }
      }
    } finally {
      this.busy = false;
    }
  }
}

class Scripted extends LineReceiver implements Receiver {
  log: string[] = [];
  override lineReceived(line: Uint8Array): void {
    onLine(this, line);
  }
  override rawDataReceived(data: Uint8Array): void {
    onRaw(this, data);
  }
  override lineLengthExceeded(data: Uint8Array): void {
    onExceeded(this, data);
  }
}

describe("LineReceiver = naive model of Twisted's loop", () => {
  for (const delim of ["\n", "\r\n", "XYZ"]) {
    it(`same events for any bytes and chunking (delimiter ${JSON.stringify(delim)})`, () => {
      const d = Buffer.from(delim);
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 10 }),
          chunkedScript(d, [0x72, 0x63, 0x69, 0x6b, 0x70, 0x61, 0x62]),
          (max, chunks) => {
            const model = new Model(d, max);
            const real = new Scripted();
            real.delimiter = delim;
            real.MAX_LENGTH = max;
            real.makeConnection(new MemoryTransport());
            for (const c of chunks) {
              model.dataReceived(c.slice());
              real.dataReceived(c.slice());
              expect(real.paused).toBe(model.paused);
              // Like a clock running the resume a handler scheduled (it may pause again).
              for (let i = 0; i < 3 && real.paused; i++) {
                model.resumeProducing();
                real.resumeProducing();
                expect(real.paused).toBe(model.paused);
              }
            }
            expect(real.log).toEqual(model.log);
            expect(real.bufferedBytes).toBe(model.buf.length);
            expect(latin1(real.clearLineBuffer())).toBe(latin1(model.buf));
          },
        ),
        { numRuns: 200 },
      );
    });
  }
});

/**
 * LineOnlyReceiver model (section 1.6): split everything on the delimiter, keep the last piece;
 * stop (dropping the remaining lines) once disconnecting; a complete line over M gets
 * lineLengthExceeded(that line) and ends the call; a partial line over M gets
 * lineLengthExceeded(partial). weft's documented divergences: nothing is processed once
 * disconnecting, and a partial line over M is dropped once reported (or once an earlier line was).
 */
class LineOnlyModel {
  log: string[] = [];
  buf: Buffer = Buffer.alloc(0);
  disconnecting = false;
  constructor(
    readonly delimiter: Buffer,
    readonly max: number,
  ) {}
  dataReceived(data: Uint8Array): void {
    if (this.disconnecting) return;
    let all = Buffer.concat([this.buf, data]);
    const lines: Buffer[] = [];
    for (let i = all.indexOf(this.delimiter); i >= 0; i = all.indexOf(this.delimiter)) {
      lines.push(all.subarray(0, i));
      all = all.subarray(i + this.delimiter.length);
    }
    this.buf = all;
    for (const line of lines) {
      if (this.disconnecting) break;
      if (line.length > this.max) {
        if (this.buf.length > this.max) this.buf = Buffer.alloc(0);
        this.log.push(`X:${latin1(line)}`);
        return;
      }
      this.log.push(`L:${latin1(line)}`);
      if (line[0] === 0x71 /* q */) this.disconnecting = true;
    }
    if (this.disconnecting) return;
    if (this.buf.length > this.max) {
      this.log.push(`X:${latin1(this.buf)}`);
      this.buf = Buffer.alloc(0);
    }
  }
}

class ScriptedLineOnly extends LineOnlyReceiver {
  log: string[] = [];
  override lineReceived(line: Uint8Array): void {
    this.log.push(`L:${latin1(line)}`);
    if (line[0] === 0x71 /* q */) this.transport.loseConnection();
  }
  override lineLengthExceeded(line: Uint8Array): void {
    this.log.push(`X:${latin1(line)}`);
  }
}

describe("LineOnlyReceiver = model of Twisted's LineOnlyReceiver", () => {
  for (const delim of ["\n", "\r\n", "XYZ"]) {
    it(`same events for any bytes and chunking (delimiter ${JSON.stringify(delim)})`, () => {
      const d = Buffer.from(delim);
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 10 }),
          chunkedScript(d, [0x71, 0x61, 0x62]),
          (max, chunks) => {
            const model = new LineOnlyModel(d, max);
            const real = new ScriptedLineOnly();
            real.delimiter = delim;
            real.MAX_LENGTH = max;
            const t = new MemoryTransport();
            real.makeConnection(t);
            for (const c of chunks) {
              model.dataReceived(c.slice());
              real.dataReceived(c.slice());
              expect(t.disconnecting).toBe(model.disconnecting);
            }
            expect(real.log).toEqual(model.log);
            if (!model.disconnecting) expect(real.bufferedBytes).toBe(model.buf.length);
          },
        ),
        { numRuns: 200 },
      );
    });
  }
});
