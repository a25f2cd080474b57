/**
 * `ReconnectingClientFactory` (Twisted's): reconnects after a failed or lost connection with an
 * exponentially growing, jittered delay.
 */
import { NodeClock } from "./clock.js";
import { ClientFactory } from "./factory.js";
import type { Connector, DelayedCall, ReactorTime } from "./interfaces.js";
import type { Protocol } from "./protocol.js";

/** Options of {@link ReconnectingClientFactory}; each is also a public property. */
export interface ReconnectingOptions {
  /** Time source for the retry timer. Default a real-time NodeClock (pass a `Clock` in tests). */
  clock?: ReactorTime;
  /** Uniform [0, 1) random source for the jitter. Default `Math.random`. */
  random?: () => number;
}

/** A normal variate (mean `mu`, standard deviation `sigma`) by Box–Muller from `random`. */
function normalVariate(mu: number, sigma: number, random: () => number): number {
  let u = 0;
  while (u === 0) u = random();
  const v = random();
  return mu + sigma * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/**
 * A ClientFactory that reconnects whenever a connection attempt fails or a connection is lost,
 * waiting longer each time: `delay = min(delay × factor, maxDelay)`, then a normal jitter of
 * standard deviation `delay × jitter`. As in Twisted, the first retry already waits
 * `initialDelay × factor` (≈ 2.718 s by default). Call {@link resetDelay} from your protocol's
 * `connectionMade` so that the next loss starts over, and {@link stopTrying} to give up.
 */
export class ReconnectingClientFactory<P extends Protocol = Protocol> extends ClientFactory<P> {
  /** Upper bound of the delay, in seconds. Default 3600. */
  maxDelay = 3600;
  /** The starting delay, in seconds. Default 1.0. */
  initialDelay = 1.0;
  /** Multiplier applied before each retry. Default e (2.7182818284590451). */
  factor = Math.E;
  /** Standard deviation of the jitter, as a fraction of the delay. Default 0.119626565582; 0 disables. */
  jitter = 0.119626565582;
  /** Give up after this many consecutive retries; `null` (default) never gives up. */
  maxRetries: number | null = null;
  /** False after `stopTrying()`: no more retries. */
  continueTrying = true;
  /** The current delay, in seconds. */
  delay: number;
  /** Retries since the last `resetDelay()`. */
  retries = 0;
  /** The connector of the last failed/lost connection. */
  connector: Connector | null = null;
  /** The retry timer's source of time. */
  clock: ReactorTime;
  /** Uniform [0, 1) random source of the jitter. */
  random: () => number;
  #callID: DelayedCall | null = null;

  constructor(options: ReconnectingOptions = {}) {
    super();
    this.delay = this.initialDelay;
    this.clock = options.clock ?? new NodeClock();
    this.random = options.random ?? Math.random;
  }

  override clientConnectionFailed(connector: Connector, _reason: Error): void {
    if (this.continueTrying) {
      this.connector = connector;
      this.retry();
    }
  }

  override clientConnectionLost(connector: Connector, _reason: Error): void {
    if (this.continueTrying) {
      this.connector = connector;
      this.retry();
    }
  }

  /** Schedules the next `connector.connect()` (after growing the delay). */
  retry(connector: Connector | null = this.connector): void {
    if (!this.continueTrying || connector === null) return;
    this.retries += 1;
    if (this.maxRetries !== null && this.retries > this.maxRetries) return;
    this.delay = Math.min(this.delay * this.factor, this.maxDelay);
    if (this.jitter) this.delay = normalVariate(this.delay, this.delay * this.jitter, this.random);
    this.#callID = this.clock.callLater(this.delay, () => {
      this.#callID = null;
      connector.connect();
    });
  }

  /** The pending retry, if one is scheduled. */
  get pendingRetry(): DelayedCall | null {
    return this.#callID;
  }

  /** Gives up: cancels the pending retry and abandons an attempt in progress. */
  stopTrying(): void {
    if (this.#callID !== null) {
      if (this.#callID.active()) this.#callID.cancel();
      this.#callID = null;
    }
    this.continueTrying = false;
    this.connector?.stopConnecting();
  }

  /** Starts over after a successful connection: `delay = initialDelay`, `retries = 0`. */
  resetDelay(): void {
    this.delay = this.initialDelay;
    this.retries = 0;
    this.#callID = null;
    this.continueTrying = true;
  }
}
