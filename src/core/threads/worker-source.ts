/**
 * The program every pool worker runs, as source text for `new Worker(source, { eval: true })`.
 *
 * Why a string: a worker needs a file it can load, and weft is published as bundles (tsup) and
 * tested from TypeScript sources (vitest); neither can hand a Worker a `.ts` file on Node 20, and a
 * separate `.js` entry would have to be kept in step with both. The program is small, plain
 * JavaScript, and depends on nothing but Node.
 *
 * Protocol (every message carries `weft: 1` so that a task's own `parentPort` messages are not
 * taken for ours):
 * - main → worker `{ t: "run", id, module, name, args }`: import `module` (once), call its export
 *   `name` with `args`, await the result;
 * - worker → main `{ t: "ready" }` once the bootstrap module (if any) is imported;
 *   `{ t: "ok", id, value }`; `{ t: "err", id, error }` with the error serialized (see
 *   `errors.ts`: name, message, stack, code, own properties, cause); `{ t: "fatal", error }` when
 *   the bootstrap fails; `{ t: "call", name, args }` from `callFromThread` in task code.
 */
export const WORKER_SOURCE = `
"use strict";
const { parentPort, workerData } = require("node:worker_threads");
const modules = new Map();
function load(spec) {
  let p = modules.get(spec);
  if (p === undefined) {
    p = import(spec);
    modules.set(spec, p);
  }
  return p;
}
function serialize(err, depth) {
  if (!(err instanceof Error)) {
    try {
      return { nonError: structuredClone(err) };
    } catch {
      return { nonError: String(err) };
    }
  }
  const out = { name: err.name, message: err.message, stack: err.stack, props: {} };
  for (const key of Object.keys(err)) {
    if (key === "cause") continue;
    try {
      out.props[key] = structuredClone(err[key]);
    } catch {
      // a property that cannot cross threads is left out
    }
  }
  if ("cause" in err && depth < 8) out.cause = serialize(err.cause, depth + 1);
  return out;
}
const ready = (async () => {
  if (workerData.bootstrap !== null) await import(workerData.bootstrap);
})();
ready.then(
  () => parentPort.postMessage({ weft: 1, t: "ready" }),
  (err) => {
    parentPort.postMessage({ weft: 1, t: "fatal", error: serialize(err, 0) });
    process.exit(1);
  },
);
parentPort.on("message", async (msg) => {
  if (msg === null || typeof msg !== "object" || msg.weft !== 1 || msg.t !== "run") return;
  try {
    await ready;
    const mod = await load(msg.module);
    const fn = mod[msg.name];
    if (typeof fn !== "function") {
      const e = new Error(msg.module + " has no exported function " + JSON.stringify(msg.name) + ".");
      e.name = "TaskNotFoundError";
      e.code = "ERR_TASK_NOT_FOUND";
      throw e;
    }
    const value = await fn(...msg.args);
    parentPort.postMessage({ weft: 1, t: "ok", id: msg.id, value });
  } catch (err) {
    parentPort.postMessage({ weft: 1, t: "err", id: msg.id, error: serialize(err, 0) });
  }
});
`;
