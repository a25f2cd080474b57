/**
 * Where the Fibonacci service keeps its place in the sequence: the one contract shared by the file
 * store (one process, the default), the cluster store (workers of `weft serve --workers N` claiming
 * from the primary) and the database store (`weft/db`: processes and hosts sharing one PostgreSQL).
 *
 * The service hands out the number at sequence position `p` (position 0 is the first number the
 * article's server hands out). Positions are claimed from a store in blocks; a claimed position is
 * never claimed again by any process sharing that store, across restarts, so two clients never get
 * the same number. Positions claimed but never handed out (a block in use when the process stops or
 * dies) are gaps: allowed, and documented by each store.
 */
export interface FibonacciStore {
  /**
   * Claim `count` (≥ 1) consecutive positions; resolves with the first. When the promise resolves,
   * the claim is as durable as the store promises (the strict file store: written and fsynced).
   * Rejects with a typed error when the store cannot be read or written.
   */
  claim(count: number): Promise<bigint>;
  /** Save what must be saved and release the store (its lock, its connection). Idempotent. */
  close(): Promise<void>;
}
