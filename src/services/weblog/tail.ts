/**
 * Follows a growing log file, like `tail -F`: delivers each complete line once, survives rotation
 * (rename + new file) and truncation (copytruncate), and never delivers part of a line.
 *
 * The tailer is polled ({@link LogTailer.poll}, on the service's clock); each poll reads what was
 * appended since the last one with synchronous reads at a known offset (bounded per poll, so one poll
 * never blocks long; the rest is read at the next).
 * - **Partial lines**: bytes after the last newline wait for the rest of their line; a line longer
 *   than `maxLineBytes` is skipped to its newline and counted (`oversized`).
 * - **Rotation**: when the path names another file (inode) than the one open, the old file is read to
 *   its end first (its last line, even without a newline, is delivered), then the new file is read
 *   from its start. Lines a writer still appends to the old file after that are missed (a web
 *   server reopens its log when told to, right after the rename).
 * - **Truncation** (copytruncate): detected when the file is shorter than the read offset, or when
 *   the bytes just before the offset are no longer the ones read there (the file was truncated and
 *   has grown past the old offset since); the file is then read from its start. A partial line
 *   pending at that moment is dropped (its end went to the copy).
 */
import { closeSync, fstatSync, openSync, readSync, type Stats, statSync } from "node:fs";

/** Options of {@link LogTailer}. */
export interface LogTailerOptions {
  /** Longest line delivered, in bytes (longer ones are skipped and counted). Default 8192. */
  maxLineBytes?: number;
  /** Most bytes read by one poll. Default 4 MiB. */
  maxReadBytes?: number;
}

/** What a tailer saw. */
export interface LogTailerStats {
  /** Lines delivered. */
  lines: number;
  /** Lines skipped for being longer than `maxLineBytes`. */
  oversized: number;
  /** Rotations followed. */
  rotations: number;
  /** Truncations detected. */
  truncations: number;
}

const CHUNK = 64 * 1024;
const CHECK = 64; // bytes before the offset compared to detect a truncation

/** Follows one log file path (see the module comment). */
export class LogTailer {
  /** The path followed. */
  readonly path: string;
  /** Counters. */
  readonly stats: LogTailerStats = { lines: 0, oversized: 0, rotations: 0, truncations: 0 };
  readonly #onLine: (line: string) => void;
  readonly #maxLine: number;
  readonly #maxRead: number;
  readonly #buf = Buffer.allocUnsafe(CHUNK);
  #fd: number | null = null;
  #ino = -1;
  #dev = -1;
  #offset = 0;
  /** Bytes of the line in progress (after the last newline). */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #skipping = false;
  /** The last bytes read before #offset (to recognise the file at the next poll). */
  #tail: Buffer = Buffer.alloc(0);

  constructor(path: string, onLine: (line: string) => void, options: LogTailerOptions = {}) {
    this.path = path;
    this.#onLine = onLine;
    this.#maxLine = options.maxLineBytes ?? 8192;
    this.#maxRead = options.maxReadBytes ?? 4 * 1024 * 1024;
  }

  /** Open the file and skip to its end (what is already there is old); a missing file is waited for. */
  start(): void {
    if (this.#open()) {
      this.#offset = fstatSync(this.#fd as number).size;
      this.#tail = this.#readAt(Math.max(0, this.#offset - CHECK), Math.min(CHECK, this.#offset));
    }
  }

  /** Read and deliver what was appended since the last poll. */
  poll(): void {
    if (this.#fd === null) {
      // No file at start, or rotated away: a file appearing now holds only new lines.
      if (!this.#open()) return;
      this.#offset = 0;
      this.#tail = Buffer.alloc(0);
    }
    const fd = this.#fd as number;
    let current: Stats | null = null;
    try {
      current = statSync(this.path);
    } catch {
      current = null; // renamed away, the new one not created yet
    }
    const open = fstatSync(fd);
    if (current === null || current.ino !== this.#ino || current.dev !== this.#dev) {
      this.#read(open.size, Number.POSITIVE_INFINITY); // the rotated file, to its end
      this.#flushPending();
      closeSync(fd);
      this.#fd = null;
      this.stats.rotations++;
      if (current !== null) this.poll();
      return;
    }
    if (open.size < this.#offset || !this.#tailMatches()) {
      this.stats.truncations++;
      this.#offset = 0;
      this.#tail = Buffer.alloc(0);
      this.#pending = [];
      this.#pendingBytes = 0;
      this.#skipping = false;
    }
    this.#read(open.size, this.#maxRead);
  }

  /** Close the file. */
  close(): void {
    if (this.#fd !== null) closeSync(this.#fd);
    this.#fd = null;
  }

  #open(): boolean {
    try {
      this.#fd = openSync(this.path, "r");
    } catch {
      return false;
    }
    const st = fstatSync(this.#fd);
    this.#ino = st.ino;
    this.#dev = st.dev;
    return true;
  }

  #readAt(position: number, length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const n = readSync(this.#fd as number, out, got, length - got, position + got);
      if (n === 0) break;
      got += n;
    }
    return out.subarray(0, got);
  }

  #tailMatches(): boolean {
    if (this.#tail.length === 0) return true;
    const now = this.#readAt(this.#offset - this.#tail.length, this.#tail.length);
    return now.equals(this.#tail);
  }

  /** Read from #offset up to `size` (at most `budget` bytes), delivering complete lines. */
  #read(size: number, budget: number): void {
    const fd = this.#fd as number;
    let left = Math.min(size - this.#offset, budget);
    while (left > 0) {
      const n = readSync(fd, this.#buf, 0, Math.min(CHUNK, left), this.#offset);
      if (n === 0) break;
      this.#offset += n;
      left -= n;
      this.#consume(this.#buf.subarray(0, n));
      const keep = Math.min(CHECK, n);
      this.#tail =
        keep === CHECK || this.#tail.length === 0
          ? Buffer.from(this.#buf.subarray(n - keep, n))
          : Buffer.concat([this.#tail, this.#buf.subarray(0, n)]).subarray(-CHECK);
    }
  }

  #consume(chunk: Buffer): void {
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl >= 0; nl = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, nl);
      start = nl + 1;
      if (this.#skipping) {
        this.#skipping = false;
        continue;
      }
      if (this.#pendingBytes + piece.length > this.#maxLine) {
        this.#dropPending();
        continue;
      }
      this.#pending.push(piece);
      this.#pendingBytes += piece.length;
      this.#deliver();
    }
    if (start < chunk.length && !this.#skipping) {
      const rest = chunk.subarray(start);
      if (this.#pendingBytes + rest.length > this.#maxLine) {
        this.#dropPending();
        this.#skipping = true;
      } else {
        this.#pending.push(Buffer.from(rest)); // copied: the read buffer is reused
        this.#pendingBytes += rest.length;
      }
    }
  }

  #dropPending(): void {
    this.#pending = [];
    this.#pendingBytes = 0;
    this.stats.oversized++;
  }

  #deliver(): void {
    const bytes =
      this.#pending.length === 1
        ? (this.#pending[0] as Buffer)
        : Buffer.concat(this.#pending, this.#pendingBytes);
    this.#pending = [];
    this.#pendingBytes = 0;
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === 13) end--;
    this.stats.lines++;
    this.#onLine(bytes.toString("utf8", 0, end));
  }

  #flushPending(): void {
    if (this.#pendingBytes > 0 && !this.#skipping) this.#deliver();
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#skipping = false;
  }
}
