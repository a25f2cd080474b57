import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Clock } from "../../../src/core/clock.js";
import { FileFibonacciStore } from "../../../src/services/fibonacci/file-store.js";
import { MemoryFibonacciStore } from "../../../src/services/fibonacci/memory-store.js";
import { FibonacciService } from "../../../src/services/fibonacci/service.js";
import type { FibonacciStore } from "../../../src/services/fibonacci/store.js";
import {
  StateCorruptError,
  StateDirectory,
  StateVersionError,
} from "../../../src/services/state/index.js";

let dir = "";
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "weft-fib-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const saved = async (): Promise<unknown> =>
  JSON.parse(await readFile(join(dir, "fibonacci.json"), "utf8")).data;
const tick = () => new Promise((r) => setTimeout(r, 30));

describe("FileFibonacciStore", () => {
  it("strict: each claim is on disk before it resolves", async () => {
    const state = await StateDirectory.open(dir);
    const store = await FileFibonacciStore.open(state, { strict: true, clock: new Clock() });
    expect(await store.claim(3)).toBe(0n);
    expect(await saved()).toEqual({ next: "3" });
    const [a, b] = await Promise.all([store.claim(1), store.claim(2)]);
    expect([a, b]).toEqual([3n, 4n]);
    expect(await saved()).toEqual({ next: "6" });
    await store.close();
    await state.close();
  });

  it("default: claims from memory, saved every interval when changed and on close", async () => {
    const state = await StateDirectory.open(dir);
    const clock = new Clock();
    const store = await FileFibonacciStore.open(state, { clock, interval: 2 });
    expect(await store.claim(5)).toBe(0n);
    await expect(readFile(join(dir, "fibonacci.json"))).rejects.toThrow(/ENOENT/);
    clock.advance(2);
    await tick();
    expect(await saved()).toEqual({ next: "5" });
    expect(await store.claim(1)).toBe(5n);
    await store.close();
    expect(await saved()).toEqual({ next: "6" });
    await state.close();
    // A restart continues where the saved state says.
    const again = await StateDirectory.open(dir);
    const next = await FileFibonacciStore.open(again, { clock });
    expect(await next.claim(1)).toBe(6n);
    await next.close();
    await again.close();
  });

  it.each([
    ["truncated", (good: string) => good.slice(0, 20)],
    ["empty", () => ""],
    ["bad data", () => '{"format":"weft-state","name":"fibonacci","version":1,"data":{"next":-1}}'],
  ])("refuses a %s state file, naming it (never a silent reset)", async (_what, corrupt) => {
    const state = await StateDirectory.open(dir);
    const store = await FileFibonacciStore.open(state, { strict: true, clock: new Clock() });
    await store.claim(10);
    await store.close();
    await state.close();
    const path = join(dir, "fibonacci.json");
    await writeFile(path, corrupt(await readFile(path, "utf8")));
    const again = await StateDirectory.open(dir);
    const err = await FileFibonacciStore.open(again, { clock: new Clock() }).catch((e) => e);
    expect(err).toBeInstanceOf(StateCorruptError);
    expect((err as Error).message).toContain(path);
    await again.close();
  });

  it("refuses a state file of an unknown version", async () => {
    await writeFile(
      join(dir, "fibonacci.json"),
      '{"format":"weft-state","name":"fibonacci","version":9,"data":{"next":"1"}}',
    );
    const state = await StateDirectory.open(dir);
    const err = await FileFibonacciStore.open(state, { clock: new Clock() }).catch((e) => e);
    expect(err).toBeInstanceOf(StateVersionError);
    await state.close();
  });
});

describe("FibonacciService", () => {
  it("hands out 2, 3, 5, 8, … to concurrent requests, each number once, in request order", async () => {
    const service = new FibonacciService(new MemoryFibonacciStore());
    const got = await Promise.all(Array.from({ length: 8 }, () => service.next()));
    expect(got.map((n) => n.value)).toEqual([2n, 3n, 5n, 8n, 13n, 21n, 34n, 55n]);
    expect(got.map((n) => n.position)).toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n]);
  });

  it("one claim covers all the requests waiting (group commit), at least `block`", async () => {
    const counts: number[] = [];
    const inner = new MemoryFibonacciStore();
    const store: FibonacciStore = {
      claim: (n) => {
        counts.push(n);
        return inner.claim(n);
      },
      close: () => inner.close(),
    };
    const service = new FibonacciService(store, { block: 4 });
    // The first request claims a block of 4; the 9 arriving meanwhile take its rest (3) and 6 more.
    const got = await Promise.all(Array.from({ length: 10 }, () => service.next()));
    expect(counts).toEqual([4, 6]);
    expect(new Set(got.map((n) => n.position)).size).toBe(10);
    await service.next(); // a new block of 4 …
    await service.next(); // … whose rest serves the next requests
    expect(counts).toEqual([4, 6, 4]);
  });

  it("a failing store fails the waiting requests with its error; later ones try again", async () => {
    let fail = true;
    const inner = new MemoryFibonacciStore();
    const store: FibonacciStore = {
      claim: (n) => (fail ? Promise.reject(new Error("disk full")) : inner.claim(n)),
      close: () => inner.close(),
    };
    const service = new FibonacciService(store);
    await expect(service.next()).rejects.toThrow("disk full");
    fail = false;
    expect((await service.next()).value).toBe(2n);
    await service.close();
    await expect(service.next()).rejects.toMatchObject({ code: "ERR_FIBONACCI_CLOSED" });
  });
});
