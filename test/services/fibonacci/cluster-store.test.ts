/**
 * The cluster Fibonacci store in-process: worker ends and the primary's `serveClaims` joined by
 * EventEmitter channels that copy each message through JSON (as the cluster IPC channel does).
 * Concurrent claims from several workers get disjoint blocks; the primary's store error reaches the
 * worker typed, with its code; a claim in flight when the primary goes away, or when the store
 * closes, is rejected rather than left hanging.
 */
import { EventEmitter } from "node:events";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { WeftError } from "../../../src/core/errors.js";
import {
  ClusterFibonacciStore,
  ClusterStoreError,
  serveClaims,
} from "../../../src/services/fibonacci/cluster-store.js";
import { MemoryFibonacciStore } from "../../../src/services/fibonacci/memory-store.js";
import type { FibonacciStore } from "../../../src/services/fibonacci/store.js";

/** A worker's `process` and the primary's `Worker`, joined (messages copied through JSON). */
function pair() {
  const workerSide = new EventEmitter();
  const primarySide = new EventEmitter();
  let connected = true;
  const deliver = (to: EventEmitter, m: unknown) =>
    setImmediate(() => {
      if (connected) to.emit("message", JSON.parse(JSON.stringify(m)));
    });
  const worker = Object.assign(workerSide, {
    connected: true,
    send: (m: unknown) => {
      deliver(primarySide, m);
      return true;
    },
  });
  const primary = Object.assign(primarySide, {
    send: (m: unknown) => {
      deliver(workerSide, m);
      return true;
    },
    isConnected: () => connected,
  });
  return {
    worker,
    primary,
    disconnect() {
      connected = false;
      worker.connected = false;
      workerSide.emit("disconnect");
    },
  };
}

describe("ClusterFibonacciStore", () => {
  it("claims from several workers at once never overlap (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 }), {
          minLength: 1,
          maxLength: 4,
        }),
        async (perWorker) => {
          const real = new MemoryFibonacciStore();
          const queue = { tail: Promise.resolve() };
          const stores = perWorker.map(() => {
            const p = pair();
            serveClaims(p.primary, real, queue);
            return new ClusterFibonacciStore(p.worker);
          });
          const ranges = (
            await Promise.all(
              perWorker.flatMap((counts, w) =>
                counts.map(async (count) => {
                  const first = await (stores[w] as ClusterFibonacciStore).claim(count);
                  return [first, first + BigInt(count)] as const;
                }),
              ),
            )
          ).sort((a, b) => (a[0] < b[0] ? -1 : 1));
          for (let i = 1; i < ranges.length; i++)
            expect((ranges[i] as readonly [bigint, bigint])[0]).toBeGreaterThanOrEqual(
              (ranges[i - 1] as readonly [bigint, bigint])[1],
            );
          const total = perWorker.flat().reduce((a, b) => a + b, 0);
          expect(real.next).toBe(BigInt(total));
          await Promise.all(stores.map((s) => s.close()));
        },
      ),
      { numRuns: 30 },
    );
  });

  it("a failing primary store reaches the worker as a typed error with the store's code", async () => {
    const failing: FibonacciStore = {
      claim: () => Promise.reject(new WeftError("ERR_STATE_IO", "disk full")),
      close: async () => {},
    };
    const p = pair();
    serveClaims(p.primary, failing);
    const store = new ClusterFibonacciStore(p.worker);
    await expect(store.claim(3)).rejects.toMatchObject({
      code: "ERR_CLUSTER_STORE",
      remoteCode: "ERR_STATE_IO",
      message: expect.stringContaining("disk full"),
    });
  });

  it("claims in flight are rejected when the primary goes away or the store closes", async () => {
    const silent: FibonacciStore = { claim: () => new Promise(() => {}), close: async () => {} };
    const p = pair();
    serveClaims(p.primary, silent);
    const store = new ClusterFibonacciStore(p.worker);
    const inFlight = store.claim(1);
    p.disconnect();
    await expect(inFlight).rejects.toBeInstanceOf(ClusterStoreError);
    await expect(store.claim(1)).rejects.toThrow(/no channel to the primary/);

    const q = pair();
    serveClaims(q.primary, silent);
    const other = new ClusterFibonacciStore(q.worker);
    const pending = other.claim(2);
    await other.close();
    await expect(pending).rejects.toThrow(/closed/);
    await expect(other.claim(1)).rejects.toThrow(/closed/);
    await expect(other.claim(0)).rejects.toBeInstanceOf(RangeError);
  });
});
