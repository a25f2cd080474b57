/**
 * The weblog service: tails a web server's access log ({@link LogTailer}, polled on the injected
 * clock — the seed's `updateRecords` every second), parses each hit, numbers it (ids from 1), and keeps
 * the newest in a ring. Front-ends ask it for the hits newer than the ones a client has seen
 * ({@link WeblogService.since}).
 *
 * A client's backlog is bounded without a queue per client: the ring keeps the newest
 * `max(keep, backlog)` hits and a client remembers only the id it has seen; `since(seen, backlog)`
 * returns at most the newest `backlog` hits after it and **counts the older ones as dropped** — so a
 * slow client costs O(1) memory, loses only its own oldest hits, and is told how many. Lines that are
 * not CLF/Combined are counted (`malformed`), not delivered.
 */
import { LoopingCall } from "../../core/clock.js";
import type { ReactorTime } from "../../core/interfaces.js";
import { type ServiceLogger, silentLogger } from "../log.js";
import { type Hit, parseHit } from "./parse.js";
import { LogTailer, type LogTailerStats } from "./tail.js";

/** A hit with its id (1, 2, 3, … in log order, per service). */
export interface NumberedHit extends Hit {
  /** Its id. */
  readonly id: number;
}

/** What {@link WeblogService.since} returns. */
export interface HitsSince {
  /** The hits after the one asked about, oldest first (at most the limit). */
  readonly hits: readonly NumberedHit[];
  /** Hits after it that are no longer (or not) returned: more than the limit, or out of the ring. */
  readonly dropped: number;
  /** The id the caller has now seen (the newest hit's). */
  readonly last: number;
}

/** Options of {@link WeblogService}. */
export interface WeblogServiceOptions {
  /** The access log to follow. */
  path: string;
  /** The clock polls run on. */
  clock: ReactorTime;
  /** Hits kept for `recent()` (the seed: 100). Default 100. */
  keep?: number;
  /** Most hits a client may be behind before its oldest are dropped. Default 1000. */
  backlog?: number;
  /** Seconds between reads of the log. Default 1. */
  pollInterval?: number;
  /** Longest log line read, in bytes. Default 8192. */
  maxLineBytes?: number;
  /** Where errors reading the log go. Default silent. */
  logger?: ServiceLogger;
  /** Called by `stop` (after the log is closed): what the service owns, such as a demo log. */
  onStop?: () => void;
}

/** Tails an access log and hands out its newest hits (see the module comment). */
export class WeblogService {
  /** The log followed. */
  readonly path: string;
  /** Hits kept for `recent()`. */
  readonly keep: number;
  /** Most hits a client may be behind (the per-client bound). */
  readonly backlog: number;
  /** Lines that were not CLF/Combined hits. */
  malformed = 0;
  readonly #tailer: LogTailer;
  readonly #ring: Array<NumberedHit | undefined>;
  #last = 0;
  readonly #loop: LoopingCall;
  readonly #logger: ServiceLogger;
  readonly #listeners = new Set<() => void>();
  readonly #onStop: (() => void) | undefined;

  constructor(options: WeblogServiceOptions) {
    this.path = options.path;
    this.keep = options.keep ?? 100;
    this.backlog = options.backlog ?? 1000;
    this.#ring = new Array(Math.max(this.keep, this.backlog));
    this.#logger = options.logger ?? silentLogger;
    this.#onStop = options.onStop;
    this.#tailer = new LogTailer(options.path, (line) => this.#line(line), {
      ...(options.maxLineBytes !== undefined ? { maxLineBytes: options.maxLineBytes } : {}),
    });
    this.#tailer.start();
    this.#loop = new LoopingCall(() => this.poll());
    this.#loop.clock = options.clock;
    this.#loop.start(options.pollInterval ?? 1, false);
  }

  /** The tailer's counters (lines, oversized, rotations, truncations). */
  get tailStats(): Readonly<LogTailerStats> {
    return this.#tailer.stats;
  }

  /** The newest hit's id (0 before the first). */
  get lastId(): number {
    return this.#last;
  }

  /** Read the log now (the poll loop does it every `pollInterval`); tells listeners when hits came. */
  poll(): void {
    const before = this.#last;
    try {
      this.#tailer.poll();
    } catch (err) {
      this.#logger.error({ service: "weblog", path: this.path, err }, "reading the log failed");
    }
    if (this.#last !== before) for (const l of this.#listeners) l();
  }

  /** Call `listener` after each poll that brought new hits; returns the unsubscribe function. */
  onHits(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #line(line: string): void {
    const hit = parseHit(line);
    if (hit === null) {
      this.malformed++;
      return;
    }
    const id = ++this.#last;
    this.#ring[id % this.#ring.length] = { id, ...hit };
  }

  /** The newest `n` (default `keep`) hits, oldest first. */
  recent(n = this.keep): NumberedHit[] {
    return [...this.since(Math.max(0, this.#last - Math.min(n, this.keep)), n).hits];
  }

  /** The hits after id `seen`, at most the newest `limit` (default `backlog`); see {@link HitsSince}. */
  since(seen: number, limit = this.backlog): HitsSince {
    const last = this.#last;
    if (seen >= last) return { hits: [], dropped: 0, last: Math.max(seen, last) };
    const oldest = Math.max(1, last - this.#ring.length + 1);
    const from = Math.max(seen + 1, last - limit + 1, oldest);
    const hits: NumberedHit[] = new Array(last - from + 1);
    for (let id = from; id <= last; id++)
      hits[id - from] = this.#ring[id % this.#ring.length] as NumberedHit;
    return { hits, dropped: from - (seen + 1), last };
  }

  /** Stop polling and close the log. */
  stop(): void {
    if (this.#loop.running) this.#loop.stop();
    this.#tailer.close();
    this.#listeners.clear();
    this.#onStop?.();
  }
}
