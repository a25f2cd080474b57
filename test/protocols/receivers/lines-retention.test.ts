// The line decoder and receivers let go of every fed chunk and of every assembled line once it is
// delivered (STYLE.md example 3, anti-pattern C): checked with WeakRefs and a forced GC.
import { describe, expect, it } from "vitest";
import { LineDecoder, LineReceiver } from "../../../src/protocols/receivers/index.js";
import { MemoryTransport } from "../../../src/testing/memory.js";
import { collectGarbage } from "../../helpers/gc.js";

const MiB = 1 << 20;

/** A 1 MiB chunk: one complete line, then the start of the next one. */
function bigChunk(): Uint8Array {
  const c = new Uint8Array(MiB).fill(0x61);
  c[1000] = 0x0d;
  c[1001] = 0x0a;
  return c;
}

describe("line decoder and receivers keep no consumed input", () => {
  it("LineDecoder: a fed chunk is collectable once feed returns (its tail was copied)", async () => {
    const lines: number[] = [];
    const d = new LineDecoder(
      { onFrame: (f) => lines.push(f.length), onError: () => {} },
      { maxLength: 2 * MiB },
    );
    const ref = ((): WeakRef<ArrayBufferLike> => {
      const c = bigChunk();
      d.feed(c);
      return new WeakRef(c.buffer);
    })();
    await collectGarbage();
    expect(ref.deref()).toBeUndefined();
    expect(lines).toEqual([1000]);
    expect(d.bufferedBytes).toBe(MiB - 1002);
  });

  it("LineDecoder: a line assembled across chunks is not kept after delivery", async () => {
    let ref: WeakRef<ArrayBufferLike> | null = null;
    const d = new LineDecoder(
      {
        onFrame: (f) => {
          ref = new WeakRef(f.buffer);
        },
        onError: () => {},
      },
      { maxLength: 2 * MiB },
    );
    (() => {
      const a = new Uint8Array(MiB).fill(0x62);
      d.feed(a);
      d.feed(Uint8Array.of(0x62, 0x0d, 0x0a));
    })();
    expect(ref).not.toBeNull();
    expect(d.bufferedBytes).toBe(0);
    await collectGarbage();
    expect(ref!.deref()).toBeUndefined();
  });

  it("LineReceiver: chunks are not kept, whether parsing, paused or in raw mode", async () => {
    class R extends LineReceiver {
      count = 0;
      override lineReceived(): void {
        this.count++;
        if (this.count === 1) this.pauseProducing();
      }
      override rawDataReceived(): void {}
    }
    const p = new R();
    p.MAX_LENGTH = 2 * MiB;
    p.makeConnection(new MemoryTransport({ lenient: true }));
    const refs = ((): WeakRef<ArrayBufferLike>[] => {
      const c1 = bigChunk(); // one line, then paused with the rest buffered
      p.dataReceived(c1);
      const c2 = bigChunk(); // arrives while paused: only buffered
      p.dataReceived(c2);
      return [new WeakRef(c1.buffer), new WeakRef(c2.buffer)];
    })();
    await collectGarbage();
    expect(refs.map((r) => r.deref())).toEqual([undefined, undefined]);
    expect(p.count).toBe(1);
    p.resumeProducing();
    expect(p.count).toBe(2);
    p.setRawMode();
    const raw = ((): WeakRef<ArrayBufferLike> => {
      const c3 = bigChunk();
      p.dataReceived(c3);
      return new WeakRef(c3.buffer);
    })();
    await collectGarbage();
    expect(raw.deref()).toBeUndefined();
    expect(p.bufferedBytes).toBe(0);
  });
});
