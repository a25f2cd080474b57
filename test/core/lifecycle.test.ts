import { describe, expect, it } from "vitest";
import { Deferred } from "../../src/core/deferred.js";
import { InvalidArgumentError } from "../../src/core/errors.js";
import { ReactorNotRestartableError } from "../../src/core/lifecycle.js";
import { createReactor } from "../../src/core/reactor.js";

const logs: unknown[] = [];
const logger = (_m: string, e: unknown): void => {
  logs.push(e);
};
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe("reactor lifecycle", () => {
  it("starts at the first turn of the loop and runs callWhenRunning callbacks in order", async () => {
    const reactor = createReactor({ logger });
    const seen: string[] = [];
    reactor.callWhenRunning((a: string) => seen.push(a), "one");
    reactor.addSystemEventTrigger("before", "startup", () => seen.push("before"));
    reactor.addSystemEventTrigger("during", "startup", () =>
      seen.push(`during ${reactor.running}`),
    );
    reactor.callWhenRunning(() => seen.push("two"));
    expect(reactor.running).toBe(false);
    expect(reactor.state).toBe("idle");
    await turn();
    await turn();
    expect(seen).toEqual(["before", "during true", "one", "two"]);
    expect(reactor.state).toBe("running");
    // Once running, callWhenRunning calls at once and returns null.
    expect(reactor.callWhenRunning(() => seen.push("now"))).toBeNull();
    expect(seen.at(-1)).toBe("now");
    await reactor.stop();
  });

  it("runs shutdown triggers before → during → after, waiting for a slow before trigger", async () => {
    const reactor = createReactor({ logger, autoStart: false });
    const seen: string[] = [];
    const slow = new Deferred<void>();
    reactor.addSystemEventTrigger("after", "shutdown", () => seen.push("after"));
    reactor.addSystemEventTrigger("during", "shutdown", () =>
      seen.push(`during ${reactor.running}`),
    );
    reactor.addSystemEventTrigger("before", "shutdown", () => {
      seen.push("before-slow");
      return slow;
    });
    reactor.addSystemEventTrigger("before", "shutdown", () => {
      seen.push("before-promise");
      return new Promise<void>((r) => setTimeout(r, 5));
    });
    const running = reactor.run();
    await turn();
    expect(reactor.running).toBe(true);
    const stopped = reactor.stop();
    expect(reactor.stop()).toBe(stopped); // idempotent
    await turn();
    await new Promise((r) => setTimeout(r, 20));
    // Both before triggers ran; nothing else until the slow one fires.
    expect(seen).toEqual(["before-slow", "before-promise"]);
    expect(reactor.state).toBe("stopping");
    slow.callback(undefined);
    await stopped;
    await running;
    expect(seen).toEqual(["before-slow", "before-promise", "during false", "after"]);
    expect(reactor.state).toBe("stopped");
    await expect(reactor.run()).rejects.toBeInstanceOf(ReactorNotRestartableError);
  });

  it("waits for during triggers, logs failing triggers and goes on", async () => {
    logs.length = 0;
    const reactor = createReactor({ logger });
    const seen: string[] = [];
    reactor.addSystemEventTrigger("before", "shutdown", () => {
      throw new Error("sync failure");
    });
    reactor.addSystemEventTrigger("before", "shutdown", () => Promise.reject(new Error("async")));
    reactor.addSystemEventTrigger("during", "shutdown", async () => {
      await new Promise((r) => setTimeout(r, 5));
      seen.push("during done");
    });
    reactor.addSystemEventTrigger("after", "shutdown", () => seen.push("after"));
    await reactor.stop();
    expect(seen).toEqual(["during done", "after"]);
    expect(logs.map((e) => (e as Error).message)).toEqual(["sync failure", "async"]);
  });

  it("runs a trigger added to the phase being fired in the same pass; removal works", async () => {
    const reactor = createReactor({ logger });
    const seen: string[] = [];
    const removed = reactor.addSystemEventTrigger("before", "shutdown", () => seen.push("removed"));
    reactor.addSystemEventTrigger("before", "shutdown", () => {
      seen.push("first");
      reactor.addSystemEventTrigger("before", "shutdown", () => seen.push("added"));
    });
    reactor.removeSystemEventTrigger(removed);
    reactor.removeSystemEventTrigger(removed); // a second removal is a no-op
    await reactor.stop();
    expect(seen).toEqual(["first", "added"]);
  });

  it("a stop before the start cancels the start; the shutdown triggers still run", async () => {
    const reactor = createReactor({ logger });
    const seen: string[] = [];
    reactor.callWhenRunning(() => seen.push("running"));
    reactor.addSystemEventTrigger("before", "shutdown", () => seen.push("shutdown"));
    await reactor.stop();
    await turn();
    expect(seen).toEqual(["shutdown"]);
  });

  it("fires events of your own and rejects bad phases", async () => {
    const reactor = createReactor({ logger });
    const seen: string[] = [];
    reactor.addSystemEventTrigger("during", "persist", (x: number) => seen.push(`p${x}`), 1);
    await reactor.fireSystemEvent("persist");
    await reactor.fireSystemEvent("nothing-registered");
    expect(seen).toEqual(["p1"]);
    expect(() =>
      reactor.addSystemEventTrigger("sometime" as "before", "shutdown", () => undefined),
    ).toThrow(InvalidArgumentError);
    await reactor.stop();
  });
});
