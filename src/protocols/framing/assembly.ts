/** {@link FrameAssembly}: one frame of announced length assembled across chunks. */
import { Buffer } from "node:buffer";

/** Frames assembled across chunks at least this big skip the zero-fill of `new Uint8Array`. */
const UNSAFE_ALLOC_MIN = 1024;

/** Frames up to this length get their whole buffer as soon as the length is known. */
const EAGER_MAX = 16 * 1024 * 1024;
/** Bigger frames start with this much and grow by doubling as their bytes arrive. */
const GROW_START = 1024 * 1024;
const EMPTY = new Uint8Array(0);

/** Frames at least this big get their buffer aligned with the chunks they are copied from. */
const ALIGN_MIN = 256 * 1024;

/**
 * @internal One frame being assembled across chunks. Up to 16 MiB the buffer is sized from the
 * announced length at once (one copy of each byte); beyond, it starts at 1 MiB and doubles as bytes
 * arrive, so a peer announcing a huge (allowed) length without sending it does not get it
 * allocated.
 *
 * Big frames are placed at an offset (under 64 bytes) that gives the destination of each copy the
 * same alignment as its source chunk: memcpy between differently aligned addresses is about 25%
 * slower. The offset is guessed from the first chunk and corrected once, at the second.
 */
export class FrameAssembly {
  buf: Uint8Array = EMPTY;
  filled = 0;
  length = 0;
  #pad = 0;
  #aligned = true;

  /** Starts a frame of `length` bytes whose first byte is `c[i]` (or the next chunk's first). */
  start(length: number, c: Uint8Array, i: number): void {
    this.length = length;
    this.filled = 0;
    const big = length >= ALIGN_MIN;
    this.#pad = big ? (c.byteOffset + i) & 63 : 0;
    this.#aligned = !big;
    this.buf = this.#alloc(length <= EAGER_MAX ? length : GROW_START);
  }

  #alloc(capacity: number): Uint8Array {
    if (capacity < UNSAFE_ALLOC_MIN) return new Uint8Array(capacity);
    const raw = Buffer.allocUnsafeSlow(capacity + this.#pad);
    return new Uint8Array(raw.buffer, raw.byteOffset + this.#pad, capacity);
  }

  #realloc(capacity: number): void {
    const grown = this.#alloc(capacity);
    if (this.filled > 0) grown.set(this.buf.subarray(0, this.filled), 0);
    this.buf = grown;
  }

  /** Copies as many of the missing bytes as `c[i..]` holds; returns how many it took. */
  take(c: Uint8Array, i: number): number {
    const filled = this.filled;
    const want = Math.min(this.length - filled, c.length - i);
    if (!this.#aligned && filled > 0) {
      // Second chunk: from now on chunks are assumed to keep this one's alignment.
      this.#aligned = true;
      const pad = (c.byteOffset + i - filled) & 63;
      if (pad !== this.#pad) {
        this.#pad = pad;
        this.#realloc(this.buf.length);
      }
    }
    let buf = this.buf;
    if (filled + want > buf.length) {
      this.#realloc(Math.min(this.length, Math.max(filled + want, buf.length * 2)));
      buf = this.buf;
    }
    if (want < 32) {
      // Tiny chunks: a plain loop beats creating a subarray.
      for (let k = 0; k < want; k++) buf[filled + k] = c[i + k]!;
    } else if (i === 0 && want === c.length) {
      buf.set(c, filled); // the whole chunk: no subarray (a Buffer's goes through its species)
    } else {
      buf.set(c.subarray(i, i + want), filled);
    }
    this.filled = filled + want;
    return want;
  }

  get complete(): boolean {
    return this.filled === this.length;
  }

  /** Hands the finished frame out and forgets it. */
  finish(): Uint8Array {
    const b = this.buf;
    this.reset();
    return b;
  }

  reset(): void {
    this.buf = EMPTY;
    this.filled = 0;
    this.length = 0;
    this.#pad = 0;
    this.#aligned = true;
  }
}
