/**
 * What the CRLF line front-ends (transform, calculator) share: {@link LineFrontEnd}, a
 * `LineReceiver` whose replies leave in request order and, for the requests of one received chunk,
 * in one write; and the reply-line helpers ({@link errorLine}).
 *
 * Framing is `LineReceiver`'s (CRLF only; a lone CR or LF is part of the line), so the front-ends
 * have no line scanner of their own.
 */
import { WeftError } from "../core/errors.js";
import { LineReceiver } from "../protocols/receivers/lines/receiver.js";
import { escapeLine } from "./transform/line-codec.js";

/** `ERROR CODE MESSAGE` for any error (non-WeftErrors are reported as `ERR_TRANSFORM_FAILED`). */
export function errorLine(err: unknown): string {
  const code = err instanceof WeftError ? err.code : "ERR_TRANSFORM_FAILED";
  const message = err instanceof Error ? err.message : String(err);
  return `ERROR ${code} ${escapeLine(message)}`;
}

/** A reply waiting for an asynchronous answer (or ready behind one that is). */
interface Slot {
  line: string | null;
}

/**
 * A line protocol answering each request line with one reply line, in request order, even when
 * some answers are asynchronous (later replies wait for earlier ones). The replies to the requests
 * of one received chunk leave in ONE write: for pipelined requests many small writes cost the
 * transport (and the peer) far more per reply than one concatenated string.
 *
 * Subclasses implement `lineReceived` and answer with {@link LineFrontEnd.reply} (ready now) or
 * {@link LineFrontEnd.replyLater} (a Promise of the reply line).
 */
export abstract class LineFrontEnd<F extends object = object> extends LineReceiver<F> {
  /** Replies waiting behind an asynchronous one; null when none is waiting. */
  #queue: Slot[] | null = null;
  /** Replies produced while a chunk is handled (sent as one write at its end); null outside. */
  #batch: string | null = null;

  /** Handles the lines in `data`, sending the replies ready by its end as one write. */
  override dataReceived(data: Uint8Array): void {
    if (this.#batch !== null) {
      super.dataReceived(data); // re-entrant: the outer call sends the batch
      return;
    }
    this.#batch = "";
    try {
      super.dataReceived(data);
    } finally {
      this.flushReplies();
    }
  }

  /** Sends `line` (without CRLF) now, in this chunk's batch, or behind the replies still waiting. */
  protected reply(line: string): void {
    if (this.#queue !== null) this.#queue.push({ line });
    else if (this.#batch !== null) this.#batch += `${line}\r\n`;
    else if (this.connected) this.transport.write(`${line}\r\n`);
  }

  /** Reserves the next reply's place; it is sent once `line` resolves (and those before it left). */
  protected replyLater(line: Promise<string>): void {
    const slot: Slot = { line: null };
    if (this.#queue === null) this.#queue = [];
    this.#queue.push(slot);
    line.then(
      (text) => {
        slot.line = text;
        this.#flushQueue();
      },
      (err: unknown) => {
        slot.line = errorLine(err);
        this.#flushQueue();
      },
    );
  }

  /** Writes the replies batched so far (done at the end of every chunk). */
  protected flushReplies(): void {
    const out = this.#batch;
    this.#batch = null;
    if (out !== null && out.length > 0 && this.connected) this.transport.write(out);
  }

  /** Every reply that became ready, in order, in one write. */
  #flushQueue(): void {
    const q = this.#queue;
    if (q === null || !this.connected) return;
    let n = 0;
    while (n < q.length && (q[n] as Slot).line !== null) n++;
    if (n === 0) return;
    let out = "";
    for (let i = 0; i < n; i++) out += `${(q[i] as Slot).line}\r\n`;
    this.#queue = n === q.length ? null : q.slice(n);
    this.transport.write(out);
  }

  /** Replies waiting for an asynchronous answer, or an unfinished line, are pending work. */
  override pendingWork(): string | null {
    const q = this.#queue;
    if (q !== null) return `${q.length} replies outstanding`;
    return super.pendingWork();
  }

  /** Drops the replies still waiting. */
  override connectionLost(reason: Error): void {
    this.#queue = null;
    super.connectionLost(reason);
  }
}
