/**
 * The Fibonacci store of `weft serve --workers N`: each worker's service claims its blocks of
 * positions from the primary over the cluster IPC channel, and the primary claims them from the one
 * real store (the file store in the state folder) and answers. So the whole cluster hands out one
 * sequence, with no duplicate across workers, restarts or a change of N.
 *
 * Why not one file per worker: the file store locks its file to one process, and splitting the
 * sequence between files (worker i takes positions ≡ i mod N) ties the state to N and to worker
 * identities — restart with another N, or a worker restarted under a new id, and the partitions
 * overlap. One store in the primary keeps the single-process file format, the strict mode's
 * write-ahead (the primary answers only after the store's claim resolved, fsynced), and the lock.
 *
 * Gaps: positions claimed by a worker that dies (or stops) before handing them out are never
 * handed out, as with any store. A claim in flight when the primary goes away is rejected
 * ({@link ClusterStoreError}); the worker's service then reports the failure to its client.
 */
import { WeftError } from "../../core/errors.js";
import type { FibonacciStore } from "./store.js";

/** Worker → primary: claim `count` positions. */
export interface ClaimMessage {
  weft: "fib-claim";
  id: number;
  count: number;
}

/** Primary → worker: the first position of claim `id` (a decimal string), or why it failed. */
export interface ClaimedMessage {
  weft: "fib-claimed";
  id: number;
  first?: string;
  error?: { code: string; message: string };
}

/** A claim failed in the primary, or the channel to it is gone. */
export class ClusterStoreError extends WeftError {
  /** The code of the primary's error (e.g. the file store's), when it had one. */
  readonly remoteCode: string | undefined;
  constructor(message: string, options?: { remoteCode?: string; cause?: unknown }) {
    super("ERR_CLUSTER_STORE", message, options);
    this.remoteCode = options?.remoteCode;
  }
}

function kind(m: unknown): unknown {
  return typeof m === "object" && m !== null ? (m as { weft?: unknown }).weft : undefined;
}

/** Whether `m` is a {@link ClaimMessage}. */
export function isClaimMessage(m: unknown): m is ClaimMessage {
  if (kind(m) !== "fib-claim") return false;
  const { id, count } = m as { id?: unknown; count?: unknown };
  return Number.isSafeInteger(id) && Number.isSafeInteger(count) && (count as number) >= 1;
}

/** Whether `m` is a {@link ClaimedMessage}. */
export function isClaimedMessage(m: unknown): m is ClaimedMessage {
  return kind(m) === "fib-claimed" && Number.isSafeInteger((m as { id?: unknown }).id);
}

/** The worker's end of the channel (a cluster worker's `process`). */
export interface WorkerChannel {
  send?: ((message: ClaimMessage) => boolean) | undefined;
  readonly connected?: boolean;
  on(event: "message", listener: (message: unknown) => void): unknown;
  on(event: "disconnect", listener: () => void): unknown;
  off(event: "message", listener: (message: unknown) => void): unknown;
  off(event: "disconnect", listener: () => void): unknown;
}

/** The primary's end for one worker (a `cluster.Worker`). */
export interface PrimaryChannel {
  send(message: ClaimedMessage): boolean;
  isConnected(): boolean;
  on(event: "message", listener: (message: unknown) => void): unknown;
  off(event: "message", listener: (message: unknown) => void): unknown;
}

/** A worker's store: every claim is asked of the primary. */
export class ClusterFibonacciStore implements FibonacciStore {
  readonly #channel: WorkerChannel;
  readonly #pending = new Map<
    number,
    { resolve: (v: bigint) => void; reject: (e: Error) => void }
  >();
  #nextId = 1;
  #closed = false;

  constructor(channel: WorkerChannel = process) {
    this.#channel = channel;
    channel.on("message", this.#onMessage);
    channel.on("disconnect", this.#onDisconnect);
  }

  claim(count: number): Promise<bigint> {
    if (!Number.isSafeInteger(count) || count < 1)
      return Promise.reject(new RangeError(`claim count must be an integer ≥ 1, got ${count}`));
    if (this.#closed) return Promise.reject(new ClusterStoreError("the store is closed"));
    const send = this.#channel.send;
    if (send === undefined || this.#channel.connected === false)
      return Promise.reject(new ClusterStoreError("no channel to the primary"));
    const id = this.#nextId++;
    return new Promise<bigint>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      send.call(this.#channel, { weft: "fib-claim", id, count });
    });
  }

  readonly #onMessage = (m: unknown): void => {
    if (!isClaimedMessage(m)) return;
    const waiter = this.#pending.get(m.id);
    if (waiter === undefined) return;
    this.#pending.delete(m.id);
    if (m.first !== undefined && /^\d+$/.test(m.first)) waiter.resolve(BigInt(m.first));
    else
      waiter.reject(
        new ClusterStoreError(`the primary's store: ${m.error?.message ?? "no answer"}`, {
          ...(m.error !== undefined ? { remoteCode: m.error.code } : {}),
        }),
      );
  };

  readonly #onDisconnect = (): void => {
    this.#failPending("the primary went away");
  };

  #failPending(why: string): void {
    for (const w of this.#pending.values()) w.reject(new ClusterStoreError(why));
    this.#pending.clear();
  }

  /** Stops listening to the channel; claims still waiting are rejected. The primary's store stays. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#channel.off("message", this.#onMessage);
    this.#channel.off("disconnect", this.#onDisconnect);
    this.#failPending("the store was closed");
  }
}

/**
 * The primary's side for one worker: answers its claims from `store`, one claim at a time in the
 * order they arrive across all workers that share `queue`. Returns what detaches it.
 */
export function serveClaims(
  worker: PrimaryChannel,
  store: FibonacciStore,
  queue: { tail: Promise<void> } = { tail: Promise.resolve() },
): () => void {
  const onMessage = (m: unknown): void => {
    if (!isClaimMessage(m)) return;
    queue.tail = queue.tail.then(async () => {
      let answer: ClaimedMessage;
      try {
        answer = { weft: "fib-claimed", id: m.id, first: (await store.claim(m.count)).toString() };
      } catch (err) {
        const code = err instanceof WeftError ? err.code : "ERR_STORE";
        answer = { weft: "fib-claimed", id: m.id, error: { code, message: String(err) } };
      }
      if (worker.isConnected()) worker.send(answer);
    });
  };
  worker.on("message", onMessage);
  return () => worker.off("message", onMessage);
}
