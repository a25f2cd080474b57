/**
 * `--corpus <dir>`: cases saved between campaigns. Every file in the directory is one case's bytes;
 * the generators replay and mutate them. A case is saved when its outcome is new — a combination of
 * what the request was (frames, error kind, unfinished) and what the target did (reply frames,
 * closed, reset, timed out) not seen before — as AFLNet learns from the server's responses.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Analysis } from "./framing.js";
import type { Outcome } from "./outcome.js";

/** Largest case file loaded (bigger files are skipped). */
const MAX_ENTRY = 1024 * 1024;

/** A corpus directory: its loaded cases, and the outcome classes seen so far. */
export class Corpus {
  readonly dir: string;
  readonly entries: Uint8Array[] = [];
  readonly #seen = new Set<string>();
  saved = 0;

  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      try {
        const st = statSync(path);
        if (!st.isFile() || st.size > MAX_ENTRY) continue;
        this.entries.push(new Uint8Array(readFileSync(path)));
      } catch {
        // unreadable: skip
      }
    }
  }

  /** Saves `bytes` if its (request, outcome) class is new. */
  consider(a: Analysis, o: Outcome, bytes: Uint8Array): void {
    const replyBucket = o.reply.length === 0 ? 0 : Math.ceil(Math.log2(o.reply.length + 1));
    const key = `${Math.min(a.frames, 4)}:${a.error}:${a.partial}|${o.closed}:${o.reset}:${o.timedOut}:${replyBucket}`;
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    this.save(bytes);
  }

  /** Writes `bytes` as `<sha1>.bin` (idempotent). */
  save(bytes: Uint8Array): void {
    const name = `${createHash("sha1").update(bytes).digest("hex").slice(0, 16)}.bin`;
    try {
      writeFileSync(join(this.dir, name), bytes, { flag: "wx" });
      this.saved++;
    } catch {
      // already saved
    }
  }
}
