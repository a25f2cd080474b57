/**
 * Periodic saving on the injected clock: {@link AutoSaver} saves a service's state every interval
 * when it changed, and once more on stop (the last step of a graceful stop).
 */
import { LoopingCall } from "../../core/clock.js";
import type { ReactorTime } from "../../core/interfaces.js";
import { type ServiceLogger, silentLogger } from "../log.js";
import type { StateFile } from "./directory.js";

/** Options of {@link AutoSaver}. */
export interface AutoSaverOptions<T> {
  /** Where to save. */
  readonly file: StateFile<T>;
  /** The current value, or `undefined` when nothing changed since the last save. */
  snapshot(): T | undefined;
  /** Called with each value once it is saved (to track what is on disk). */
  saved?(value: T): void;
  /** Seconds between saves (> 0). */
  readonly interval: number;
  /** The clock the interval runs on. */
  readonly clock: ReactorTime;
  /** Where a failed interval save is logged (it is retried at the next interval). Default silent. */
  readonly logger?: ServiceLogger;
}

/** Saves a snapshot every interval (when it changed) and on {@link AutoSaver.stop}. */
export class AutoSaver<T> {
  readonly #options: AutoSaverOptions<T>;
  readonly #loop: LoopingCall;
  #stopped = false;

  constructor(options: AutoSaverOptions<T>) {
    this.#options = options;
    this.#loop = new LoopingCall(() => this.#tick());
    this.#loop.clock = options.clock;
    this.#loop.start(options.interval, false);
  }

  /** Save now if the state changed (rejects with the save's StateError). */
  async saveNow(): Promise<void> {
    const value = this.#options.snapshot();
    if (value === undefined) return;
    await this.#options.file.save(value);
    this.#options.saved?.(value);
  }

  async #tick(): Promise<void> {
    try {
      await this.saveNow();
    } catch (err) {
      (this.#options.logger ?? silentLogger).error(
        { path: this.#options.file.path, err },
        "saving state failed (retried at the next interval)",
      );
    }
  }

  /** Stop the interval and save a last time (rejects if that save fails). Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#loop.running) this.#loop.stop();
    await this.saveNow();
  }
}
