/**
 * The file store: the Fibonacci sequence's place kept in the suite's state directory
 * (`fibonacci.json`, `{"next": "<first unclaimed position>"}`, through the state API: atomic,
 * versioned, refused when corrupt).
 *
 * Two modes, by what `kill -9` (or a power loss) may cost:
 * - **strict** (write-ahead): `claim` resolves only after the new `next` is written and fsynced, so
 *   a number is never handed out before its position is durably claimed. After `kill -9` **no
 *   number is ever handed out twice**; positions claimed but not yet handed out are skipped (gaps:
 *   at most the claims in flight plus the unused part of the service's block). Costs one fsync per
 *   claim (the service claims for all requests waiting at once, so many requests share one).
 * - **default** (interval): `claim` answers from memory; `next` is saved every `interval` seconds
 *   (when it changed) and on `close`. After a clean stop (SIGTERM) nothing repeats and nothing is
 *   skipped. After `kill -9` the process restarts from the last completed save: **the numbers
 *   handed out after it — at most those of one interval plus the save then in progress — are handed
 *   out again**; nothing is skipped.
 */
import type { ReactorTime } from "../../core/interfaces.js";
import type { ServiceLogger } from "../log.js";
import { AutoSaver } from "../state/autosave.js";
import type { StateDirectory, StateFile, StateSpec } from "../state/directory.js";
import { checkCount } from "./memory-store.js";
import type { FibonacciStore } from "./store.js";

/** What `fibonacci.json` holds. */
export interface FibonacciState {
  /** The first position not claimed yet. */
  readonly next: bigint;
}

/** Version 1 of the Fibonacci state: `{"next": "<decimal position>"}` (a string: BigInt). */
export const FIBONACCI_STATE: StateSpec<FibonacciState> = {
  version: 1,
  parse(data: unknown): FibonacciState {
    const next = (data as { next?: unknown } | null)?.next;
    if (typeof next !== "string" || !/^(0|[1-9][0-9]{0,99})$/.test(next))
      throw new Error(`"next" must be a decimal position, got ${JSON.stringify(next)}`);
    return { next: BigInt(next) };
  },
  serialize: (value) => ({ next: value.next.toString() }),
};

/** Options of {@link FileFibonacciStore.open}. */
export interface FileFibonacciStoreOptions {
  /** Write-ahead every claim (see the module comment). Default false. */
  strict?: boolean;
  /** Default mode: seconds between saves (> 0). Default 1. */
  interval?: number;
  /** The clock the interval runs on. */
  clock: ReactorTime;
  /** Where a failed interval save is logged. */
  logger?: ServiceLogger;
  /** The state file's name in the directory. Default `"fibonacci"`. */
  name?: string;
}

/** A {@link FibonacciStore} kept in a state directory (see the module comment for the modes). */
export class FileFibonacciStore implements FibonacciStore {
  /** The state file. */
  readonly file: StateFile<FibonacciState>;
  /** Whether claims are written ahead. */
  readonly strict: boolean;
  #next: bigint;
  #saved: bigint;
  #claims: Promise<unknown> = Promise.resolve();
  readonly #saver: AutoSaver<FibonacciState> | null;
  #closed: Promise<void> | null = null;

  /** Use {@link FileFibonacciStore.open} (which loads the file). */
  constructor(file: StateFile<FibonacciState>, next: bigint, options: FileFibonacciStoreOptions) {
    this.file = file;
    this.strict = options.strict ?? false;
    this.#next = next;
    this.#saved = next;
    this.#saver = this.strict
      ? null
      : new AutoSaver({
          file,
          clock: options.clock,
          interval: options.interval ?? 1,
          ...(options.logger !== undefined ? { logger: options.logger } : {}),
          snapshot: () => (this.#next === this.#saved ? undefined : { next: this.#next }),
          saved: (value) => {
            if (value.next > this.#saved) this.#saved = value.next;
          },
        });
  }

  /** Load (or start at position 0) from `state`; rejects with a StateError for a bad file. */
  static async open(
    state: StateDirectory,
    options: FileFibonacciStoreOptions,
  ): Promise<FileFibonacciStore> {
    const file = state.file(options.name ?? "fibonacci", FIBONACCI_STATE);
    const saved = await file.load();
    return new FileFibonacciStore(file, saved?.next ?? 0n, options);
  }

  /** The first position not claimed yet. */
  get next(): bigint {
    return this.#next;
  }

  claim(count: number): Promise<bigint> {
    checkCount(count);
    if (this.#closed !== null) return Promise.reject(new Error("the Fibonacci store is closed"));
    if (!this.strict) {
      const first = this.#next;
      this.#next += BigInt(count);
      return Promise.resolve(first);
    }
    // Write-ahead, one claim after another: `next` moves only once the file says so.
    const claimed = this.#claims.then(async () => {
      const first = this.#next;
      const next = first + BigInt(count);
      await this.file.save({ next });
      this.#next = next;
      this.#saved = next;
      return first;
    });
    this.#claims = claimed.catch(() => undefined);
    return claimed;
  }

  /** Wait for claims in flight, save (default mode), stop the interval. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.#claims;
      await this.#saver?.stop();
    })();
    return this.#closed;
  }
}
