/**
 * The limits shared by every listening port of a process: a memory budget for the bytes all their
 * connections hold, and a number of connections (by default derived from the fd limit, so accept
 * never runs out of fds: when it does, Node closes new connections without any event). Ports use
 * {@link defaultProcessLimits} unless given their own (a suite makes one from its config).
 */
import { DEFAULT_PROCESS_MEMORY_BUDGET, derivedMaxConnections } from "./connection-limits.js";
import { InvalidArgumentError } from "./errors.js";
import type { LimitReporter } from "./limit-log.js";
import { type ConnectionRecord, type MemoryAccount, mib, shedLargest } from "./memory-budget.js";

/** Options of {@link ProcessLimits}. */
export interface ProcessLimitsOptions {
  /** Bytes all ports' connections may hold together. Default 256 MiB. `null`: no budget. */
  memoryBudget?: number | null;
  /** Connections all ports may hold together. Default derived from the fd limit. `null`: none. */
  maxConnections?: number | null;
}

/** A port's part in the process limits (see `port-guard.ts`). */
export interface GuardedPort {
  /** The port's watched connections. */
  readonly records: readonly ConnectionRecord[];
  /** Where the port reports limit events. */
  readonly reporter: LimitReporter;
}

/** The process-wide limits and sums (see the module comment). */
export class ProcessLimits implements MemoryAccount {
  readonly memoryBudget: number | null;
  readonly maxConnections: number | null;
  /** Bytes held by all connections, as last counted. */
  total = 0;
  /** Connections open (or handshaking) on the guarded ports. */
  connections = 0;
  readonly #ports = new Set<GuardedPort>();

  constructor(options: ProcessLimitsOptions = {}) {
    const budget =
      options.memoryBudget === undefined ? DEFAULT_PROCESS_MEMORY_BUDGET : options.memoryBudget;
    const max =
      options.maxConnections === undefined ? derivedMaxConnections() : options.maxConnections;
    for (const [name, v] of [
      ["memoryBudget", budget],
      ["maxConnections", max],
    ] as const) {
      if (v !== null && !(Number.isFinite(v) && v >= 1)) {
        throw new InvalidArgumentError(
          `Invalid process limit ${name}: ${String(v)} (a finite number >= 1 or null expected).`,
        );
      }
    }
    this.memoryBudget = budget;
    this.maxConnections = max;
  }

  /** @internal A port starts or stops counting here. */
  add(port: GuardedPort): void {
    this.#ports.add(port);
  }

  /** @internal */
  remove(port: GuardedPort): void {
    this.#ports.delete(port);
  }

  /** True when the process holds as many connections as it may. */
  get full(): boolean {
    return this.maxConnections !== null && this.connections >= this.maxConnections;
  }

  /**
   * @internal Called when the sum went over the budget: recounts every connection of every port
   * and aborts the ones holding the most, with one (rate-limited) line on the port that grew.
   */
  overBudget(reporter: LimitReporter): void {
    const budget = this.memoryBudget;
    if (budget === null) return;
    const all: ConnectionRecord[] = [];
    for (const p of this.#ports) all.push(...p.records);
    const { closed, freed, largest } = shedLargest(all, budget);
    if (closed === 0) return;
    reporter(
      "process-memory",
      `process memory budget of ${mib(budget)} for protocol buffers exceeded: aborted the ${closed} connection(s) holding the most (${mib(freed)}, largest ${mib(largest)})`,
    );
  }
}

let shared: ProcessLimits | null = null;

/** The process limits ports use by default (made with the defaults on first use). */
export function defaultProcessLimits(): ProcessLimits {
  shared ??= new ProcessLimits();
  return shared;
}
