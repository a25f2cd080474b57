/** A ProcessProtocol that records every hook, shared by the process tests and the interop test. */

import type { ProcessEndReason } from "../../src/core/process-protocol.js";
import { ProcessProtocol } from "../../src/core/process-protocol.js";

export type HookEvent = [string, ...Array<string | number | null>];

function describe(reason: ProcessEndReason): Array<string | number | null> {
  if (reason.name === "ProcessSpawnError") return [reason.name, null, null];
  const r = reason as { exitCode: number | null; signal: number | null };
  return [reason.name, r.exitCode, r.signal];
}

/** Records hooks as `[name, detail…]`; `ended` resolves with the events after `processEnded`. */
export class Recorder extends ProcessProtocol {
  readonly events: HookEvent[] = [];
  readonly ended: Promise<HookEvent[]>;
  endReason: ProcessEndReason | null = null;
  #resolve!: (events: HookEvent[]) => void;
  constructor(private readonly onData?: (r: Recorder, fd: number, data: Uint8Array) => void) {
    super();
    this.ended = new Promise((r) => (this.#resolve = r));
  }
  override connectionMade(): void {
    this.events.push(["connectionMade"]);
  }
  override childDataReceived(fd: number, data: Uint8Array): void {
    const text = Buffer.from(data).toString();
    if (fd === 1) this.events.push(["outReceived", text]);
    else if (fd === 2) this.events.push(["errReceived", text]);
    else this.events.push(["childDataReceived", fd, text]);
    this.onData?.(this, fd, data);
  }
  override inConnectionLost(): void {
    this.events.push(["inConnectionLost"]);
  }
  override outConnectionLost(): void {
    this.events.push(["outConnectionLost"]);
  }
  override errConnectionLost(): void {
    this.events.push(["errConnectionLost"]);
  }
  override childConnectionLost(fd: number): void {
    if (fd > 2) this.events.push(["childConnectionLost", fd]);
    else super.childConnectionLost(fd);
  }
  override processExited(reason: ProcessEndReason): void {
    this.events.push(["processExited", ...describe(reason)]);
  }
  override processEnded(reason: ProcessEndReason): void {
    this.endReason = reason;
    this.events.push(["processEnded", ...describe(reason)]);
    this.#resolve(this.events);
  }
}

/**
 * The ProcessProtocol hook invariants a run must satisfy (Twisted's too; it races `processExited`
 * against the pipes' hooks and even against the output, so the order between those is not one):
 *
 * 1. `connectionMade` comes first, exactly once.
 * 2. `processEnded` comes last, exactly once.
 * 3. `processExited` comes exactly once.
 * 4. `inConnectionLost`, `outConnectionLost`, `errConnectionLost` each come exactly once.
 * 5. No `outReceived` after `outConnectionLost`, no `errReceived` after `errConnectionLost`.
 * 6. `processExited` and `processEnded` carry the same reason (class, exit code, signal).
 *
 * Returns the violated invariants (empty when all hold) and the run's summary: the collected
 * stdout and stderr and the end reason.
 */
export function checkInvariants(events: HookEvent[]): {
  violations: string[];
  out: string;
  err: string;
  reason: Array<string | number | null>;
} {
  const v: string[] = [];
  const names = events.map((e) => e[0]);
  const count = (n: string): number => names.filter((x) => x === n).length;
  if (names[0] !== "connectionMade" || count("connectionMade") !== 1) v.push("1 connectionMade");
  if (names.at(-1) !== "processEnded" || count("processEnded") !== 1) v.push("2 processEnded");
  if (count("processExited") !== 1) v.push("3 processExited");
  for (const n of ["inConnectionLost", "outConnectionLost", "errConnectionLost"]) {
    if (count(n) !== 1) v.push(`4 ${n}`);
  }
  if (names.lastIndexOf("outReceived") > names.indexOf("outConnectionLost")) v.push("5 out");
  if (names.lastIndexOf("errReceived") > names.indexOf("errConnectionLost")) v.push("5 err");
  const exited = events.find((e) => e[0] === "processExited")?.slice(1) ?? [];
  const ended = events.find((e) => e[0] === "processEnded")?.slice(1) ?? [];
  if (JSON.stringify(exited) !== JSON.stringify(ended)) v.push("6 reasons");
  const text = (n: string): string =>
    events
      .filter((e) => e[0] === n)
      .map((e) => e[1])
      .join("");
  return { violations: v, out: text("outReceived"), err: text("errReceived"), reason: ended };
}
