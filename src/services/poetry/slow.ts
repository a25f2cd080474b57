/**
 * The slow poetry front-end (the Twisted tutorial's slowpoetry, default port 10010): writes the poem
 * `bytesPerTick` bytes at a time every `interval` seconds, timed by the injected clock, then closes.
 * A client that leaves mid-poem stops its timer at once (no call stays scheduled).
 */
import { InvalidArgumentError } from "../../core/errors.js";
import { ServerFactory } from "../../core/factory.js";
import type { DelayedCall, ReactorTime } from "../../core/interfaces.js";
import { Protocol } from "../../core/protocol.js";
import { logConnection, type ServiceLogger, silentLogger } from "../log.js";
import type { PoemFrontEndOptions } from "./fast.js";
import type { Poem, PoetryService } from "./service.js";

/** Sends the poem in timed slices. */
export class SlowPoetryProtocol extends Protocol<SlowPoetryFactory> {
  #offset = 0;
  #timer: DelayedCall | null = null;

  override connectionMade(): void {
    super.connectionMade();
    const f = this.#factory();
    logConnection(f.logger, "connection made", "poetry", "slow", this);
    this.#tick();
  }

  override connectionLost(reason: Error): void {
    super.connectionLost(reason);
    if (this.#timer?.active()) this.#timer.cancel();
    this.#timer = null;
    logConnection(this.#factory().logger, "connection lost", "poetry", "slow", this, reason);
  }

  /** A poem still being sent is pending work (a graceful stop waits for it, up to its grace). */
  override pendingWork(): string | null {
    if (this.#timer === null) return null;
    return `poem being sent (${this.#offset} of ${this.#factory().poem.bytes.length} bytes)`;
  }

  /** The pending timer, if any (tests check none is left behind). */
  get timer(): DelayedCall | null {
    return this.#timer;
  }

  #tick(): void {
    this.#timer = null;
    if (!this.connected || this.transport.disconnecting) return;
    const f = this.#factory();
    const bytes = f.poem.bytes;
    const end = Math.min(bytes.length, this.#offset + f.bytesPerTick);
    if (end > this.#offset) this.transport.write(bytes.subarray(this.#offset, end));
    this.#offset = end;
    if (end >= bytes.length) {
      this.transport.loseConnection();
      return;
    }
    this.#timer = f.clock.callLater(f.interval, () => this.#tick());
  }

  #factory(): SlowPoetryFactory {
    return this.factory;
  }
}

/** Options of {@link SlowPoetryFactory}. */
export interface SlowPoetryOptions extends PoemFrontEndOptions {
  /** The clock that times the slices (the reactor, or a manual Clock in tests). Required. */
  clock: ReactorTime;
  /** Bytes per slice. Default 10 (the tutorial's `--num-bytes`). */
  bytesPerTick?: number;
  /** Seconds between slices. Default 0.1 (the tutorial's `--delay`). */
  interval?: number;
}

/** Serves one poem slowly. */
export class SlowPoetryFactory extends ServerFactory<SlowPoetryProtocol> {
  /** The poem served (the `poem` option; default the service's default poem). */
  readonly poem: Poem;
  /** Where the front-end logs (the `logger` option; default silent). */
  readonly logger: ServiceLogger;
  /** The clock that times the slices. */
  readonly clock: ReactorTime;
  /** Bytes per slice (default 10). */
  readonly bytesPerTick: number;
  /** Seconds between slices (default 0.1). */
  readonly interval: number;

  constructor(service: PoetryService, options: SlowPoetryOptions) {
    super();
    this.protocol = SlowPoetryProtocol;
    this.poem = service.getPoem(options.poem);
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock;
    this.bytesPerTick = options.bytesPerTick ?? 10;
    this.interval = options.interval ?? 0.1;
    if (!Number.isInteger(this.bytesPerTick) || this.bytesPerTick < 1) {
      throw new InvalidArgumentError(
        `bytesPerTick must be an integer >= 1, got ${this.bytesPerTick}`,
      );
    }
    if (!Number.isFinite(this.interval) || this.interval < 0) {
      throw new InvalidArgumentError(`interval must be >= 0 seconds, got ${this.interval}`);
    }
  }
}
