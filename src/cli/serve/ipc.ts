/**
 * Messages between the primary and the workers of `weft serve --workers N` (over node:cluster's IPC
 * channel; the Fibonacci claims are in `services/fibonacci/cluster-store.ts`, the log lines in
 * `log-file.ts`). Every message carries
 * `weft: KIND`; the guards check the shape of what arrives, since a user module could send its own
 * messages on the same channel.
 */

/** A front-end as a worker reports it. */
export interface ReportedFrontEnd {
  service: string;
  protocol: string;
  address: string;
}

/** Worker → primary: the suite is listening. */
export interface ListeningMessage {
  weft: "listening";
  frontEnds: ReportedFrontEnd[];
}

/** Worker → primary: the suite could not start (`code` is the exit code the worker will use). */
export interface StartFailedMessage {
  weft: "start-failed";
  code: number;
  message: string;
}

function kind(m: unknown): unknown {
  return typeof m === "object" && m !== null ? (m as { weft?: unknown }).weft : undefined;
}

/** Whether `m` is a {@link ListeningMessage}. */
export function isListening(m: unknown): m is ListeningMessage {
  return kind(m) === "listening" && Array.isArray((m as { frontEnds?: unknown }).frontEnds);
}

/** Whether `m` is a {@link StartFailedMessage}. */
export function isStartFailed(m: unknown): m is StartFailedMessage {
  return kind(m) === "start-failed" && typeof (m as { code?: unknown }).code === "number";
}
