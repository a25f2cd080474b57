/**
 * The line-splitting engine shared by {@link LineDecoder}, `LineReceiver` and `LineOnlyReceiver`.
 * Internal: not exported from the package barrel.
 *
 * Unparsed bytes are an *owned* buffer (`own[start..end)`, always first) followed by *foreign*
 * segments (chunks handed to `push`, never copied until they must outlive the call that fed them).
 *
 * Cost is linear in the bytes fed, whatever the chunking:
 * - lines that lie inside one chunk come out as zero-copy views of it;
 * - a line that spans chunks is assembled once in `own`, which grows by doubling;
 * - `scanned` remembers how far `own` was searched, so a long line in tiny chunks is never
 *   rescanned; only the last `L - 1` bytes are re-checked for a delimiter split across chunks.
 * Limits are checked before bytes are copied into `own`, so it never holds more than
 * `unterminatedLimit + L` bytes while lines are being parsed.
 */
import { Buffer } from "node:buffer";
import { InvalidArgumentError } from "../../../core/errors.js";
import { asBuffer } from "../../framing/bytes.js";

/** `next()` outcomes. */
export const MORE = 0;
export const LINE = 1;
export const EXCEEDED = 2;
export const STOP = 3;
export type ScanResult = typeof MORE | typeof LINE | typeof EXCEEDED | typeof STOP;

const EMPTY = new Uint8Array(0);
const EMPTY_BUF = Buffer.alloc(0);
/** Below this many bytes a JS loop beats the native `indexOf` call overhead. */
const SMALL_SEARCH = 24;
/** Below this many bytes a JS loop beats `Buffer#copy`. */
const SMALL_COPY = 32;
const MIN_OWN = 256;
/** Past this many bytes the owned buffer grows in big steps (see `capacityFor`). */
const LARGE_OWN = 64 * 1024;
const HUGE_OWN = 64 * 1024 * 1024;

const encoder = new TextEncoder();

/** Converts a delimiter option to bytes; throws InvalidArgumentError for an empty one. */
export function delimiterBytes(delimiter: Uint8Array | string): Buffer {
  const b =
    typeof delimiter === "string" ? Buffer.from(encoder.encode(delimiter)) : asBuffer(delimiter);
  if (b.length === 0) throw new InvalidArgumentError("The line delimiter must not be empty.");
  return b;
}

/**
 * Where {@link LineScanner.run} delivers lines: `lineFound` returns true to stop the scan. A
 * prototype method on a small per-owner object, not a per-instance closure: V8 inlines the target
 * of the hot call into the scanner's optimised code as a constant, and a closure per connection
 * would make every closed connection discard that code ("weak objects" in `--trace-deopt`).
 */
export interface LineTarget {
  lineFound(line: Uint8Array): boolean;
}

export class LineScanner {
  #delim: Buffer;
  #L: number;
  #d0: number;
  /** Longest acceptable line (delimiter excluded). */
  max: number;
  /** An unterminated buffer of at least this many bytes exceeds the limit. */
  unterminatedLimit: number;
  readonly #extra: number;

  // Owned bytes: own[start..end); own[start..scanned) holds no delimiter start.
  #own: Buffer | null = null;
  #start = 0;
  #end = 0;
  #scanned = 0;
  /** A view of `own` was handed out: never move bytes inside it again. */
  #lent = false;

  // Foreign segments: cur[pos..], then rest[restHead..].
  #cur: Buffer | null = null;
  #pos = 0;
  #rest: Buffer[] = [];
  #restHead = 0;
  /**
   * Bumped by every public call that moves the read position other than `push` (which only
   * queues): `run` compares it after each callback to see whether the callback disturbed the scan.
   */
  #gen = 0;

  /** The line found by the last `next()` that returned LINE (a view; valid until the next call). */
  line: Uint8Array = EMPTY;
  /** After EXCEEDED: the over-long line's length (terminated) or the bytes buffered (unterminated). */
  exceededLength = 0;
  /** After EXCEEDED: whether a delimiter ended the over-long line. */
  exceededTerminated = false;

  /**
   * @param extra how far past `max` an unterminated buffer may grow: `L` gives Twisted's
   *   LineReceiver rule (exceeded at `max + L`), `1` its LineOnlyReceiver rule (exceeded past `max`).
   */
  constructor(delimiter: Buffer, max: number, extra: "delimiter" | 1) {
    this.#delim = delimiter;
    this.#L = delimiter.length;
    this.#d0 = delimiter[0]!;
    this.max = max;
    this.#extra = extra === 1 ? 1 : -1;
    this.unterminatedLimit = max + (this.#extra === 1 ? 1 : this.#L);
  }

  /** Changes the delimiter and/or the limit; buffered bytes are searched again. */
  configure(delimiter: Buffer, max: number): void {
    this.#gen++;
    if (delimiter !== this.#delim) {
      this.#delim = delimiter;
      this.#L = delimiter.length;
      this.#d0 = delimiter[0]!;
      this.#scanned = this.#start;
    }
    this.max = max;
    this.unterminatedLimit = max + (this.#extra === 1 ? 1 : this.#L);
  }

  get delimiter(): Buffer {
    return this.#delim;
  }

  /** Bytes not yet part of a delivered line. */
  get bufferedBytes(): number {
    let n = this.#end - this.#start;
    if (this.#cur !== null) n += this.#cur.length - this.#pos;
    for (let i = this.#restHead; i < this.#rest.length; i++) n += this.#rest[i]!.length;
    return n;
  }

  /** True while some fed chunk is still referenced (only inside a feeding call). */
  get holdsForeign(): boolean {
    return this.#cur !== null;
  }

  /** Queue a chunk after everything buffered. Not copied: call `settle()` before the chunk may change. */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const b = asBuffer(chunk);
    if (this.#cur === null) {
      this.#cur = b;
      this.#pos = 0;
    } else {
      this.#rest.push(b);
    }
  }

  /**
   * Finds the next line. LINE: `this.line` is set and consumed. MORE: no complete line is buffered.
   * EXCEEDED: the next line is too long; nothing was consumed (see `exceededLength`).
   */
  next(): ScanResult {
    this.#gen++;
    const L = this.#L;
    for (;;) {
      const own = this.#own;
      if (own !== null && this.#start < this.#end) {
        const start = this.#start;
        const end = this.#end;
        const from = this.#scanned < start ? start : this.#scanned;
        if (end - from >= L) {
          const p = this.#findIn(own, from, end);
          if (p >= 0) {
            const len = p - start;
            if (len > this.max) return this.#exceeded(len, true);
            this.line = new Uint8Array(own.buffer, own.byteOffset + start, len);
            this.#start = this.#scanned = p + L;
            this.#lendOwn();
            return LINE;
          }
          this.#scanned = end - L + 1;
        }
        const s = this.#cur;
        if (s === null) {
          if (end - start >= this.unterminatedLimit) return this.#exceeded(end - start, false);
          return MORE;
        }
        const pos = this.#pos;
        const avail = s.length - pos;
        if (L > 1) {
          if (avail < L - 1) {
            // Too short to tell whether a delimiter straddles: absorb it (fewer than L bytes).
            this.#appendOwn(s, pos, avail);
            this.#advance();
            continue;
          }
          // A delimiter that starts in own's last L-1 bytes and ends in s.
          for (let c = end - L + 1 > start ? end - L + 1 : start; c < end; c++) {
            if (this.#straddles(own, c, end, s, pos)) {
              const len = c - start;
              if (len > this.max) return this.#exceeded(len, true);
              this.line = new Uint8Array(own.buffer, own.byteOffset + start, len);
              this.#start = this.#end;
              this.#lendOwn();
              this.#pos = pos + L - (end - c);
              if (this.#pos === s.length) this.#advance();
              return LINE;
            }
          }
        }
        const q = this.#find(s, pos);
        if (q >= 0) {
          const len = end - start + (q - pos);
          if (len > this.max) return this.#exceeded(len, true);
          this.#appendOwn(s, pos, q - pos);
          const o = this.#own!;
          this.line = new Uint8Array(o.buffer, o.byteOffset + this.#start, len);
          this.#start = this.#end;
          this.#lendOwn();
          this.#pos = q + L;
          if (this.#pos === s.length) this.#advance();
          return LINE;
        }
        const total = end - start + avail;
        if (total >= this.unterminatedLimit) return this.#exceeded(total, false);
        this.#appendOwn(s, pos, avail);
        this.#scanned = this.#end - L + 1;
        this.#advance();
        continue;
      }
      const s = this.#cur;
      if (s === null) return MORE;
      const pos = this.#pos;
      const q = this.#find(s, pos);
      if (q >= 0) {
        const len = q - pos;
        if (len > this.max) return this.#exceeded(len, true);
        this.line = new Uint8Array(s.buffer, s.byteOffset + pos, len);
        this.#pos = q + L;
        if (this.#pos === s.length) this.#advance();
        return LINE;
      }
      const avail = s.length - pos;
      if (avail >= this.unterminatedLimit) return this.#exceeded(avail, false);
      this.#appendOwn(s, pos, avail);
      this.#scanned = this.#end - L + 1;
      this.#advance();
    }
  }

  /**
   * Delivers every complete line to `target.lineFound` until no complete line is buffered (MORE) or
   * a line is too long (EXCEEDED, nothing consumed), or `lineFound` returns true (STOP). Equivalent to calling
   * `next()` in a loop (the one grammar), with a fast path for the lines lying inside one chunk;
   * the differential property in `test/protocols/receivers/fast-paths.test.ts` pins the two.
   */
  run(target: LineTarget): ScanResult {
    for (;;) {
      const s = this.#cur;
      if (s !== null && this.#start === this.#end) {
        const L = this.#L;
        const max = this.max;
        const n = s.length;
        const ab = s.buffer;
        const bo = s.byteOffset;
        const d0 = this.#d0;
        let pos = this.#pos;
        let disturbed = false;
        const gen = this.#gen;
        if (L === 1) {
          // One-byte delimiter (the common case): the native search straight away, the JS loop
          // only for a short tail.
          let q = n - pos < SMALL_SEARCH ? this.#scanLoop(s, pos, n) : s.indexOf(d0, pos);
          while (q >= 0) {
            const len = q - pos;
            if (len > max) return this.#exceeded(len, true);
            const line = new Uint8Array(ab, bo + pos, len);
            pos = q + 1;
            this.#pos = pos;
            if (target.lineFound(line)) {
              if (this.#gen === gen && pos === n) this.#advance();
              return STOP;
            }
            // The callback cleared, consumed or settled the buffer: take the general path.
            if (this.#gen !== gen) {
              disturbed = true;
              break;
            }
            q = n - pos < SMALL_SEARCH ? this.#scanLoop(s, pos, n) : s.indexOf(d0, pos);
          }
        } else {
          for (;;) {
            const q = n - pos < SMALL_SEARCH ? this.#scanLoop(s, pos, n) : this.#search(s, pos, n);
            if (q < 0) break;
            const len = q - pos;
            if (len > max) return this.#exceeded(len, true);
            const line = new Uint8Array(ab, bo + pos, len);
            pos = q + L;
            this.#pos = pos;
            if (target.lineFound(line)) {
              if (this.#gen === gen && pos === n) this.#advance();
              return STOP;
            }
            if (this.#gen !== gen) {
              disturbed = true;
              break;
            }
          }
        }
        if (disturbed) continue;
        if (pos === n) {
          this.#advance();
          continue;
        }
        const avail = n - pos;
        if (avail >= this.unterminatedLimit) return this.#exceeded(avail, false);
        this.#appendOwn(s, pos, avail);
        this.#scanned = this.#end - L + 1;
        this.#advance();
        continue;
      }
      const r = this.next();
      if (r !== LINE) return r;
      const line = this.line;
      this.line = EMPTY; // keep no reference to a delivered line
      if (target.lineFound(line)) return STOP;
    }
  }

  /**
   * Everything buffered, as one array, and the buffer emptied. A view when the bytes lie in one
   * piece (of a fed chunk, or of a buffer the scanner gives up), a fresh copy otherwise.
   */
  takeAll(): Uint8Array {
    const ownLen = this.#end - this.#start;
    const hasRest = this.#restHead < this.#rest.length;
    let out: Uint8Array;
    if (this.#cur === null) {
      out =
        ownLen === 0
          ? EMPTY
          : new Uint8Array(this.#own!.buffer, this.#own!.byteOffset + this.#start, ownLen);
    } else if (ownLen === 0 && !hasRest) {
      const s = this.#cur;
      out = new Uint8Array(s.buffer, s.byteOffset + this.#pos, s.length - this.#pos);
    } else {
      out = this.take(this.bufferedBytes);
    }
    this.clear();
    return out;
  }

  /** A fresh copy of the next `n` buffered bytes (n ≤ bufferedBytes), consumed. */
  take(n: number): Uint8Array {
    this.#gen++;
    const out = new Uint8Array(n);
    let o = 0;
    const ownLen = this.#end - this.#start;
    if (ownLen > 0) {
      const k = ownLen < n ? ownLen : n;
      out.set(this.#own!.subarray(this.#start, this.#start + k), 0);
      o = k;
    }
    while (o < n && this.#cur !== null) {
      const s = this.#cur;
      const k = Math.min(n - o, s.length - this.#pos);
      out.set(s.subarray(this.#pos, this.#pos + k), o);
      o += k;
      this.#pos += k;
      if (this.#pos === s.length) this.#advance();
    }
    this.#skipOwn(ownLen < n ? ownLen : n);
    return out;
  }

  /** Drops the next `n` buffered bytes. */
  skip(n: number): void {
    this.#gen++;
    const ownLen = this.#end - this.#start;
    const k = ownLen < n ? ownLen : n;
    this.#skipOwn(k);
    n -= k;
    while (n > 0 && this.#cur !== null) {
      const s = this.#cur;
      const m = Math.min(n, s.length - this.#pos);
      this.#pos += m;
      n -= m;
      if (this.#pos === s.length) this.#advance();
    }
  }

  /** Empties the buffer and lets go of every chunk and of the owned buffer. */
  clear(): void {
    this.#gen++;
    this.line = EMPTY;
    this.#own = null;
    this.#start = this.#end = this.#scanned = 0;
    this.#lent = false;
    this.#cur = null;
    this.#pos = 0;
    this.#rest = [];
    this.#restHead = 0;
  }

  /** Copies whatever is still in fed chunks into the owned buffer, so no chunk is referenced. */
  settle(): void {
    this.#gen++;
    this.line = EMPTY;
    while (this.#cur !== null) {
      const s = this.#cur;
      this.#appendOwn(s, this.#pos, s.length - this.#pos);
      this.#advance();
    }
  }

  #exceeded(length: number, terminated: boolean): ScanResult {
    this.exceededLength = length;
    this.exceededTerminated = terminated;
    return EXCEEDED;
  }

  #skipOwn(k: number): void {
    if (k === 0) return;
    this.#start += k;
    if (this.#scanned < this.#start) this.#scanned = this.#start;
    if (this.#start === this.#end) {
      this.#own = null;
      this.#start = this.#end = this.#scanned = 0;
      this.#lent = false;
    }
  }

  /** A view of own was handed out: give the buffer up once empty, never move its bytes. */
  #lendOwn(): void {
    if (this.#start === this.#end) {
      this.#own = null;
      this.#start = this.#end = this.#scanned = 0;
      this.#lent = false;
    } else {
      this.#lent = true;
    }
  }

  #advance(): void {
    if (this.#restHead < this.#rest.length) {
      this.#cur = this.#rest[this.#restHead]!;
      this.#rest[this.#restHead++] = EMPTY_BUF;
      if (this.#restHead === this.#rest.length) {
        this.#rest = [];
        this.#restHead = 0;
      }
    } else {
      this.#cur = null;
    }
    this.#pos = 0;
  }

  #appendOwn(src: Buffer, pos: number, n: number): void {
    if (n === 0) return;
    let own = this.#own;
    if (own === null) {
      own = this.#own = Buffer.allocUnsafe(n < MIN_OWN / 2 ? MIN_OWN : this.#capacityFor(n, 0));
      this.#start = this.#end = this.#scanned = 0;
      this.#lent = false;
    } else if (this.#end + n > own.length) {
      const live = this.#end - this.#start;
      if (!this.#lent && live + n <= own.length && this.#start > 0) {
        own.copyWithin(0, this.#start, this.#end);
      } else {
        const grown = Buffer.allocUnsafe(this.#capacityFor(live + n, own.length));
        own.copy(grown, 0, this.#start, this.#end);
        own = this.#own = grown;
        this.#lent = false;
      }
      this.#scanned -= this.#start;
      if (this.#scanned < 0) this.#scanned = 0;
      this.#start = 0;
      this.#end = live;
    }
    const e = this.#end;
    if (n < SMALL_COPY) {
      for (let i = 0; i < n; i++) own[e + i] = src[pos + i]!;
    } else {
      src.copy(own, e, pos, pos + n);
    }
    this.#end = e + n;
  }

  /**
   * Capacity for `needed` bytes. Small buffers double. Past LARGE_OWN the buffer jumps straight to
   * the most the limit lets a partial line hold (when that is at most HUGE_OWN, else 16× steps):
   * large `allocUnsafe` memory is only committed when written, so the headroom costs address space,
   * not memory, while every regrowth would allocate fresh memory and copy the whole line again
   * (doubling made a 16 MiB line 5-20× slower than one `Buffer.concat`).
   */
  #capacityFor(needed: number, current: number): number {
    if (needed * 2 <= LARGE_OWN) return Math.max(current * 2, needed * 2);
    const ceiling = this.unterminatedLimit + this.#L;
    if (ceiling <= HUGE_OWN) return Math.max(needed, ceiling);
    return Math.max(needed, Math.min(ceiling, Math.max(needed * 16, current * 2)));
  }

  /** First delimiter starting at or after `from` in a whole fed chunk. */
  #find(b: Buffer, from: number): number {
    const n = b.length;
    if (n - from < SMALL_SEARCH) return this.#scanLoop(b, from, n);
    return this.#L === 1 ? b.indexOf(this.#d0, from) : this.#search(b, from, n);
  }

  /**
   * First delimiter (of two or more bytes) lying wholly inside `b[from..to)`, `to` being the end
   * of `b`: the native search for its first byte, then the rest compared in JS. Searching for a
   * number (memchr) costs far less per call than searching for a byte string, and a delimiter's
   * first byte is rare in most content (CR in CRLF text).
   */
  #search(b: Buffer, from: number, to: number): number {
    const d = this.#delim;
    const d0 = this.#d0;
    const L = this.#L;
    const last = to - L;
    let i = b.indexOf(d0, from);
    while (i >= 0 && i <= last) {
      let k = 1;
      while (k < L && b[i + k] === d[k]) k++;
      if (k === L) return i;
      i = b.indexOf(d0, i + 1);
    }
    return -1;
  }

  /** First delimiter lying wholly inside b[from..to). */
  #findIn(b: Buffer, from: number, to: number): number {
    if (to - from < SMALL_SEARCH) return this.#scanLoop(b, from, to);
    const sub = b.subarray(from, to);
    const i = this.#L === 1 ? sub.indexOf(this.#d0) : sub.indexOf(this.#delim);
    return i < 0 ? -1 : from + i;
  }

  #scanLoop(b: Buffer, from: number, to: number): number {
    const d0 = this.#d0;
    const L = this.#L;
    const last = to - L;
    if (L === 1) {
      for (let i = from; i <= last; i++) if (b[i] === d0) return i;
      return -1;
    }
    const d = this.#delim;
    outer: for (let i = from; i <= last; i++) {
      if (b[i] !== d0) continue;
      for (let k = 1; k < L; k++) if (b[i + k] !== d[k]) continue outer;
      return i;
    }
    return -1;
  }

  /** Whether a delimiter starts at own[c] (c < end) and finishes in s[pos..]; s has ≥ L-1 bytes. */
  #straddles(own: Buffer, c: number, end: number, s: Buffer, pos: number): boolean {
    const d = this.#delim;
    const inOwn = end - c;
    for (let k = 0; k < inOwn; k++) if (own[c + k] !== d[k]) return false;
    for (let k = inOwn; k < this.#L; k++) if (s[pos + k - inOwn] !== d[k]) return false;
    return true;
  }
}
