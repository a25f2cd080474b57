/**
 * The reactor's lifecycle (Twisted's IReactorCore): system event triggers in three phases,
 * `callWhenRunning`, and the startup / shutdown sequence that `run()` and `stop()` drive.
 *
 * Node's event loop is always turning, so a weft reactor starts on its own: at the first turn of
 * the loop after it was created (unless created with `autoStart: false`; then `run()` starts it).
 * Starting fires the `"startup"` event; `stop()` fires `"shutdown"`. Each event runs its triggers
 * phase by phase, in the order they were added within a phase:
 *
 * 1. `before`: every trigger is called; a trigger may return a Deferred or a Promise, and the event
 *    waits until all of them have settled (Twisted). A failure is logged and does not stop the rest.
 * 2. `during`: the same, and the event also waits for what they return (a weft extension: releasing
 *    Node resources, e.g. terminating worker threads, is asynchronous, and `await reactor.stop()`
 *    should mean they are released). The reactor's own `during` triggers come first: `running`
 *    becomes true during startup and false during shutdown.
 * 3. `after`: the same; for `startup` this is where `callWhenRunning` callbacks run.
 *
 * A trigger added to the phase being fired runs in that same pass (the phases are drained as
 * queues). Differences from Twisted, on purpose: `stop()` is idempotent (a second call returns the
 * same Promise instead of raising ReactorNotRunning, so a repeated SIGINT is harmless), and a
 * `stop()` before the reactor started cancels the start (the startup triggers never run, the
 * shutdown triggers do). A stopped reactor cannot be started again (ReactorNotRestartableError).
 */
import { InvalidArgumentError, WeftError } from "./errors.js";
import type { ErrorLogger } from "./transport.js";

/** The three phases of a system event. */
export type TriggerPhase = "before" | "during" | "after";

/** The system events the reactor fires itself; any other name can be fired with `fireSystemEvent`. */
export type SystemEventType = "startup" | "shutdown" | (string & {});

/** What `addSystemEventTrigger` returns: pass it to `removeSystemEventTrigger`. */
export interface SystemEventTrigger {
  /** The event the trigger was added to (`"startup"`, `"shutdown"`, …). */
  readonly event: string;
  /** The phase it runs in. */
  readonly phase: TriggerPhase;
}

/** The state of a reactor's lifecycle. */
export type ReactorState = "idle" | "starting" | "running" | "stopping" | "stopped";

/** `run()` was called on a reactor that has already stopped (Twisted's ReactorNotRestartable). */
export class ReactorNotRestartableError extends WeftError {
  constructor(message = "A stopped reactor cannot be restarted.") {
    super("ERR_REACTOR_NOT_RESTARTABLE", message);
  }
}

class Trigger implements SystemEventTrigger {
  constructor(
    readonly event: string,
    readonly phase: TriggerPhase,
    readonly fn: (...args: never[]) => unknown,
    readonly args: readonly unknown[],
  ) {}
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

const PHASES: readonly TriggerPhase[] = ["before", "during", "after"];

/** The triggers of one event type, by phase. */
class ThreePhaseEvent {
  readonly before: Trigger[] = [];
  readonly during: Trigger[] = [];
  readonly after: Trigger[] = [];
}

/**
 * System event triggers and the running state of one reactor. The {@link Reactor} owns one and
 * delegates its lifecycle methods to it.
 */
export class Lifecycle {
  readonly #events = new Map<string, ThreePhaseEvent>();
  readonly #logger: ErrorLogger;
  #state: ReactorState = "idle";
  #running = false;
  #stopped: Promise<void> | null = null;
  readonly #whenStopped: Promise<void>;
  #resolveStopped!: () => void;
  #autoStart: NodeJS.Immediate | null = null;

  constructor(logger: ErrorLogger, autoStart = true) {
    this.#logger = logger;
    this.#whenStopped = new Promise<void>((resolve) => {
      this.#resolveStopped = resolve;
    });
    this.addTrigger("during", "startup", () => {
      this.#running = true;
    });
    this.addTrigger("during", "shutdown", () => {
      this.#running = false;
    });
    if (autoStart) {
      this.#autoStart = setImmediate(() => {
        this.#autoStart = null;
        if (this.#state === "idle") void this.start();
      });
    }
  }

  /** True from the `during` phase of startup to the `during` phase of shutdown. */
  get running(): boolean {
    return this.#running;
  }

  get state(): ReactorState {
    return this.#state;
  }

  /** Resolves once the shutdown sequence has finished. */
  get whenStopped(): Promise<void> {
    return this.#whenStopped;
  }

  /**
   * Adds `fn(...args)` to `phase` of `event`. Throws InvalidArgumentError for an unknown phase or a
   * `fn` that is not a function.
   */
  addTrigger<A extends unknown[]>(
    phase: TriggerPhase,
    event: SystemEventType,
    fn: (...args: A) => unknown,
    ...args: A
  ): SystemEventTrigger {
    if (!PHASES.includes(phase)) {
      throw new InvalidArgumentError(
        `Invalid trigger phase ${JSON.stringify(phase)} (before, during or after expected).`,
      );
    }
    if (typeof fn !== "function") {
      throw new InvalidArgumentError("A system event trigger must be a function.");
    }
    let e = this.#events.get(event);
    if (e === undefined) this.#events.set(event, (e = new ThreePhaseEvent()));
    const trigger = new Trigger(event, phase, fn as (...args: never[]) => unknown, args);
    e[phase].push(trigger);
    return trigger;
  }

  /**
   * Removes a trigger that has not run yet. Removing one that already ran, or removing twice, is a
   * no-op (Twisted only warns for the former). Throws InvalidArgumentError for a foreign handle.
   */
  removeTrigger(handle: SystemEventTrigger): void {
    if (!(handle instanceof Trigger)) {
      throw new InvalidArgumentError("Not a system event trigger handle.");
    }
    const list = this.#events.get(handle.event)?.[handle.phase];
    const i = list?.indexOf(handle) ?? -1;
    if (list !== undefined && i >= 0) list.splice(i, 1);
  }

  /** Runs `fn(...args)` now if running, else as an `after startup` trigger (returned). */
  callWhenRunning<A extends unknown[]>(
    fn: (...args: A) => unknown,
    ...args: A
  ): SystemEventTrigger | null {
    if (this.#running) {
      fn(...args);
      return null;
    }
    return this.addTrigger("after", "startup", fn, ...args);
  }

  /** Fires every trigger of `event`, phase by phase; resolves once the last phase is done. */
  async fire(event: SystemEventType, abandonIf?: () => boolean): Promise<void> {
    const e = this.#events.get(event);
    if (e === undefined) return;
    for (const phase of PHASES) {
      if (abandonIf?.() === true) return;
      await this.#firePhase(e[phase], event, phase);
    }
  }

  async #firePhase(list: Trigger[], event: string, phase: TriggerPhase): Promise<void> {
    // Drained as a queue: a trigger added to this phase while it fires runs in the same pass,
    // including one added while the phase waits for what earlier triggers returned.
    while (list.length > 0) {
      const pending: Array<PromiseLike<unknown>> = [];
      while (list.length > 0) {
        const t = list.shift() as Trigger;
        try {
          const out = (t.fn as (...args: unknown[]) => unknown)(...t.args);
          if (isThenable(out)) pending.push(out);
        } catch (err) {
          this.#logger(`Error in a "${phase} ${event}" trigger:`, err);
        }
      }
      const results = await Promise.allSettled(pending);
      for (const r of results) {
        if (r.status === "rejected") {
          this.#logger(`Error in a "${phase} ${event}" trigger:`, r.reason);
        }
      }
    }
  }

  /**
   * Fires the startup event (if the reactor has not started) and resolves once the reactor has
   * stopped. Throws ReactorNotRestartableError on a stopped reactor.
   */
  run(): Promise<void> {
    if (this.#state === "stopped") return Promise.reject(new ReactorNotRestartableError());
    if (this.#state === "idle") void this.start();
    return this.#whenStopped;
  }

  /** Fires the startup event now. */
  async start(): Promise<void> {
    if (this.#state !== "idle") return;
    if (this.#autoStart !== null) {
      clearImmediate(this.#autoStart);
      this.#autoStart = null;
    }
    this.#state = "starting";
    await this.fire("startup", () => this.#state !== "starting");
    if (this.#state === "starting") this.#state = "running";
  }

  /**
   * Fires the shutdown event: resolves once every trigger has run and what the `before` and
   * `during` ones returned has settled. Idempotent: later calls return the same Promise.
   */
  stop(): Promise<void> {
    if (this.#stopped !== null) return this.#stopped;
    if (this.#autoStart !== null) {
      clearImmediate(this.#autoStart);
      this.#autoStart = null;
    }
    this.#state = "stopping";
    this.#stopped = this.fire("shutdown").then(() => {
      this.#state = "stopped";
      this.#running = false;
      this.#resolveStopped();
    });
    return this.#stopped;
  }
}
