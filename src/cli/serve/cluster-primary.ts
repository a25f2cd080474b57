/**
 * The primary of `weft serve --workers N` (node:cluster). It forks N workers, each running the whole
 * suite; node:cluster binds each listening address once in the primary and shares it, so all
 * workers accept on the same ports. The primary owns what must exist once: the pidfile, the log file
 * (workers send their lines here), the state (the Fibonacci store, see
 * `services/fibonacci/cluster-store.ts`) and the manhole.
 *
 * Port 0: each worker asks the primary for `127.0.0.1:0`, and node:cluster hands every worker the
 * handle it bound for that key, so all workers share one random port — but only a worker learns
 * it. The table is printed from worker 1's report once every worker reported; a worker that
 * reports another address is logged as an error.
 *
 * A worker that dies is forked again after a delay that doubles on each quick death (0.5 s up to
 * 30 s, back to 0.5 s once a worker lived a minute), so a crash loop never spins. A worker that fails
 * to start in the first round stops the whole server with its exit code (a bad config is not
 * retried). SIGINT/SIGTERM: the primary passes SIGTERM to every worker (each runs its own lossless
 * stop), waits for them — SIGKILL after the grace period plus 10 s — and exits 0 when every worker
 * exited 0.
 */
import cluster, { type Worker } from "node:cluster";
import { serveClaims } from "../../services/fibonacci/cluster-store.js";
import type { FibonacciStore } from "../../services/fibonacci/store.js";
import { startManhole } from "../../services/manhole/server.js";
import { type CliIO, type CommandOutput, EXIT_FAILURE, EXIT_OK } from "../common.js";
import { alignTable } from "./check.js";
import { WORKER_ENV } from "./cluster-worker.js";
import { isListening, isStartFailed, type ReportedFrontEnd } from "./ipc.js";
import { isLogLineMessage, type ServeLog } from "./log-file.js";
import type { ServeOptions } from "./options.js";
import { dropPrivileges } from "./privileges.js";

/** What the primary is handed by `serve`. */
export interface PrimaryContext {
  options: ServeOptions;
  io: CliIO;
  log: ServeLog;
  signals: NodeJS.Process;
  held: { manhole: Awaited<ReturnType<typeof startManhole>> | null };
  out: CommandOutput;
  /** The real Fibonacci store the workers claim from (when the suite serves fibonacci). */
  fibonacciStore?: FibonacciStore;
}

/** Delay before forking again a worker that died after living `livedMs`, given the last delay. */
export function restartDelay(previousMs: number, livedMs: number): number {
  if (livedMs >= 60_000) return 500;
  return Math.min(30_000, Math.max(500, previousMs * 2));
}

interface Slot {
  index: number;
  worker: Worker | null;
  startedAt: number;
  delayMs: number;
  timer: NodeJS.Timeout | null;
  report: ReportedFrontEnd[] | null;
}

/** Run the primary until a signal stops it; resolves with the exit code. */
export function runPrimary(ctx: PrimaryContext): Promise<number> {
  const { options, io, log, signals } = ctx;
  const { logger } = log;
  const count = options.workers ?? 1;
  const slots: Slot[] = Array.from({ length: count }, (_, index) => ({
    index,
    worker: null,
    startedAt: 0,
    delayMs: 0,
    timer: null,
    report: null,
  }));
  const claims = { tail: Promise.resolve() };
  let stopping = false;
  let serving = false;

  return new Promise<number>((resolveExit) => {
    let finished = false;
    const finish = (code: number): void => {
      if (finished) return;
      finished = true;
      signals.off("SIGINT", onSignal);
      signals.off("SIGTERM", onSignal);
      logger.info({ code }, "stopped");
      resolveExit(code);
    };
    const live = (): Worker[] =>
      slots.flatMap((s) => (s.worker !== null && !s.worker.isDead() ? [s.worker] : []));
    let stopCode = EXIT_OK;

    const stopAll = (why: string, code: number): void => {
      if (stopping) return;
      stopping = true;
      stopCode = code;
      logger.info({ why }, "stopping every worker");
      for (const s of slots) if (s.timer !== null) clearTimeout(s.timer);
      const workers = live();
      if (workers.length === 0) {
        finish(stopCode);
        return;
      }
      for (const w of workers)
        if (w.process.pid !== undefined) process.kill(w.process.pid, "SIGTERM");
      setTimeout(
        () => {
          for (const w of live()) {
            logger.error(
              { worker: w.process.pid },
              "worker still running after the grace period: killing it",
            );
            w.process.kill("SIGKILL");
          }
        },
        ((options.grace ?? 5) + 10) * 1000,
      ).unref();
    };

    const onAllListening = async (): Promise<void> => {
      const first = slots[0]?.report ?? [];
      for (const s of slots.slice(1)) {
        if (JSON.stringify(s.report) !== JSON.stringify(first))
          logger.error(
            { worker: s.index + 1, report: s.report },
            "worker listens elsewhere than worker 1",
          );
      }
      try {
        if (options.manhole !== undefined)
          ctx.held.manhole = await startManhole({
            endpoint: options.manhole,
            ...(options.manholeTokenFile !== undefined
              ? { tokenFile: options.manholeTokenFile }
              : {}),
            namespace: () => ({
              workers: () => live().map((w) => ({ id: w.id, pid: w.process.pid })),
              cluster,
              fibonacciStore: ctx.fibonacciStore,
              logger,
              options,
            }),
            logger,
          });
        if (options.uid !== undefined || options.gid !== undefined)
          logger.info(
            dropPrivileges({
              ...(options.uid !== undefined ? { uid: options.uid } : {}),
              ...(options.gid !== undefined ? { gid: options.gid } : {}),
            }),
            "dropped privileges",
          );
      } catch (err) {
        ctx.out.failed(err);
        stopAll("the primary could not finish starting", EXIT_FAILURE);
        return;
      }
      serving = true;
      io.stdout(
        alignTable(
          ["SERVICE", "PROTOCOL", "ADDRESS"],
          first.map((f) => [f.service, f.protocol, f.address]),
        ),
      );
      logger.info({ workers: count, pids: live().map((w) => w.process.pid) }, "serving");
    };

    const fork = (slot: Slot): void => {
      slot.timer = null;
      slot.report = null;
      slot.startedAt = Date.now();
      const worker = cluster.fork({ [WORKER_ENV]: "1" });
      slot.worker = worker;
      if (ctx.fibonacciStore !== undefined)
        serveClaims(
          {
            send: (m) => worker.send(m),
            isConnected: () => worker.isConnected(),
            on: (e, l) => worker.on(e, l),
            off: (e, l) => worker.off(e, l),
          },
          ctx.fibonacciStore,
          claims,
        );
      worker.on("message", (m: unknown) => {
        if (isLogLineMessage(m)) log.writeLine(m.line);
        else if (isListening(m)) {
          slot.report = m.frontEnds;
          if (!serving && !stopping && slots.every((s) => s.report !== null)) void onAllListening();
        } else if (isStartFailed(m)) {
          logger.error({ worker: slot.index + 1, reason: m.message }, "worker failed to start");
          if (!serving) stopAll("a worker failed to start", m.code);
        }
      });
      worker.on("exit", (code, signal) => {
        const lived = Date.now() - slot.startedAt;
        if (stopping) {
          // A worker forked again just before the stop may die of the SIGTERM before its handler
          // is installed: it served nothing, so that is a clean stop too.
          const clean = code === 0 || (slot.report === null && signal === "SIGTERM");
          if (!clean) {
            stopCode = EXIT_FAILURE;
            logger.error({ worker: slot.index + 1, code, signal }, "worker did not stop cleanly");
          }
          if (live().length === 0) finish(stopCode);
          return;
        }
        if (!serving) {
          logger.error({ worker: slot.index + 1, code, signal }, "worker exited before listening");
          stopAll(
            "a worker exited before listening",
            code !== null && code !== 0 ? code : EXIT_FAILURE,
          );
          if (live().length === 0) finish(stopCode);
          return;
        }
        slot.delayMs = restartDelay(slot.delayMs, lived);
        logger.warn(
          {
            worker: slot.index + 1,
            pid: worker.process.pid,
            code,
            signal,
            restartInMs: slot.delayMs,
          },
          "worker died: restarting it",
        );
        slot.timer = setTimeout(() => {
          if (!stopping) fork(slot);
        }, slot.delayMs);
      });
    };

    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        logger.info({ signal }, "already shutting down");
        return;
      }
      stopAll(`${signal}: draining the workers`, EXIT_OK);
    };
    signals.on("SIGINT", onSignal);
    signals.on("SIGTERM", onSignal);
    for (const s of slots) fork(s);
  });
}
