import { Deferred, fail, succeed } from "../../src/core/deferred.js";
import { CancelledError } from "../../src/core/errors.js";

// A random callback/errback chain on one Deferred, shared by the property test in
// deferred.test.ts and the Twisted interop test (test/interop/core-time.test.ts, whose Python side
// core_time_defer.py mirrors runChain line by line).

export type ChainOp =
  | { kind: "cb"; add: number }
  | { kind: "cbThrow" }
  | { kind: "eb"; value: number }
  | { kind: "ebRethrow" }
  | { kind: "cbFiredDeferred"; add: number }
  | { kind: "cbFailedDeferred" }
  | { kind: "cbLaterDeferred"; add: number }
  | { kind: "both"; add: number }
  | { kind: "cancel" };

export interface ChainScenario {
  start: { ok: true; v: number } | { ok: false; tag: string };
  ops: ChainOp[];
  fireAt: number;
}
export interface ChainOutcome {
  result: { ok: true; v: number } | { ok: false; tag: string } | null;
  paused: number;
}

/** The tag an error carries in an outcome: its message, or "CancelledError". */
export function tagOf(e: Error): string {
  return e instanceof CancelledError ? "CancelledError" : e.message;
}

/** Builds and fires the scenario's chain (settling inner Deferreds in order) and reads its result. */
export function runChain(sc: ChainScenario): ChainOutcome {
  const d = new Deferred<number>();
  const pending: Deferred<number>[] = [];
  const fire = () => {
    if (sc.start.ok) d.callback(sc.start.v);
    else d.errback(new Error(sc.start.tag));
  };
  sc.ops.forEach((op, i) => {
    if (i === sc.fireAt) fire();
    switch (op.kind) {
      case "cb":
        d.addCallback((v) => v + op.add);
        break;
      case "cbThrow":
        d.addCallback(() => {
          throw new Error(`e${i}`);
        });
        break;
      case "eb":
        d.addErrback(() => op.value);
        break;
      case "ebRethrow":
        d.addErrback((e) => {
          throw new Error(`${tagOf(e)}/r${i}`);
        });
        break;
      case "cbFiredDeferred":
        d.addCallback((v) => succeed(v + op.add));
        break;
      case "cbFailedDeferred":
        d.addCallback(() => fail<number>(new Error(`e${i}`)));
        break;
      case "cbLaterDeferred":
        d.addCallback((v) => {
          const later = new Deferred<number>();
          pending.push(later);
          later.addCallback(() => v + op.add);
          return later;
        });
        break;
      case "both":
        d.addBoth((v) => (typeof v === "number" ? v : 1000) + op.add);
        break;
      case "cancel":
        d.cancel();
        break;
    }
  });
  if (sc.fireAt >= sc.ops.length) fire();
  while (pending.length > 0) pending.shift()!.callback(0);
  let result: ChainOutcome["result"] = null;
  d.addCallbacks(
    (v) => {
      result = { ok: true, v };
    },
    (e) => {
      result = { ok: false, tag: tagOf(e) };
    },
  );
  return { result, paused: d.paused };
}
