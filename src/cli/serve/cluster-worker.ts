/**
 * The worker side of `weft serve --workers N`: how a process knows it is a worker, and what it tells
 * the primary. A worker runs the whole suite on the ports the primary shares (node:cluster) and
 * nothing else: no pidfile, log file, state folder or manhole of its own.
 */
import cluster from "node:cluster";
import { formatAddress, type RunningSuite } from "../../services/suite/index.js";
import type { ListeningMessage, StartFailedMessage } from "./ipc.js";

/** The variable the primary sets in its workers' environment. */
export const WORKER_ENV = "WEFT_SERVE_WORKER";

/** Whether this process is a worker forked by `weft serve --workers N`. */
export function isWorkerProcess(): boolean {
  return cluster.isWorker && process.env[WORKER_ENV] === "1";
}

function send(message: ListeningMessage | StartFailedMessage): void {
  if (process.send !== undefined && process.connected) process.send(message);
}

/** Tells the primary where the suite listens. */
export function reportListening(suite: RunningSuite): void {
  send({
    weft: "listening",
    frontEnds: suite.frontEnds.map((f) => ({
      service: f.service,
      protocol: f.protocol,
      address: formatAddress(f.address),
    })),
  });
}

/** Tells the primary the suite did not start (it will not restart a worker that never started). */
export function reportStartFailed(code: number, message: string): void {
  send({ weft: "start-failed", code, message });
}

/**
 * A worker whose primary is gone (killed with SIGKILL) gets no more connections: it stops itself
 * as on SIGTERM, through the same handler.
 */
export function stopWhenOrphaned(signals: NodeJS.Process): void {
  process.once("disconnect", () => {
    signals.emit("SIGTERM", "SIGTERM");
  });
}
