/**
 * Connection policies. For now: the idle timeout (Twisted's `policies.TimeoutMixin`), as a small
 * object any Protocol can own ({@link IdleTimeout}) and as a wrapper that adds it to an existing
 * protocol instance ({@link withIdleTimeout}).
 */
import type { DelayedCall, ReactorTime } from "./interfaces.js";
import type { Protocol } from "./protocol.js";

/**
 * One resettable countdown (Twisted's `TimeoutMixin` state, as a composable object).
 *
 * Typical use in a protocol: `setTimeout(period)` in `connectionMade`, `resetTimeout()` in
 * `dataReceived` (whenever the peer shows it is alive), `setTimeout(null)` in `connectionLost`.
 * When the countdown expires, `onTimeout` runs (usually `transport.loseConnection()`).
 */
export class IdleTimeout {
  /**
   * The period in seconds, or null for no timeout. Assigning it does not start or stop the
   * countdown (as Twisted's `timeOut` attribute); `setTimeout` does.
   */
  timeOut: number | null;

  readonly #clock: ReactorTime;
  readonly #onTimeout: () => void;
  #call: DelayedCall | null = null;

  /**
   * @param clock where the countdown is scheduled (a `NodeClock`, or a test `Clock`).
   * @param onTimeout called once when the countdown expires.
   * @param timeOut initial period in seconds (null = off). Default null. Not started until
   *   `setTimeout` is called.
   */
  constructor(clock: ReactorTime, onTimeout: () => void, timeOut: number | null = null) {
    this.#clock = clock;
    this.#onTimeout = onTimeout;
    this.timeOut = timeOut;
  }

  /** True while a countdown is pending. */
  get pending(): boolean {
    return this.#call?.active() ?? false;
  }

  /**
   * Change the period and return the previous one. `null` cancels the countdown (no error if it
   * already ran or was cancelled elsewhere); a number (seconds) restarts it from now with that
   * period, starting it if none was pending.
   */
  setTimeout(period: number | null): number | null {
    const previous = this.timeOut;
    this.timeOut = period;
    const call = this.#call;
    if (call !== null) {
      if (period === null) {
        if (call.active()) call.cancel();
        this.#call = null;
      } else if (call.active()) {
        call.reset(period);
      } else {
        // Cancelled from outside (e.g. a clock shutdown): start afresh rather than throw.
        this.#call = this.#clock.callLater(period, () => this.#timedOut());
      }
    } else if (period !== null) {
      this.#call = this.#clock.callLater(period, () => this.#timedOut());
    }
    return previous;
  }

  /**
   * Restart the countdown from now with the current period. No-op when no countdown is pending
   * (never started, cancelled with `setTimeout(null)`, or already expired).
   */
  resetTimeout(): void {
    const call = this.#call;
    if (call !== null && this.timeOut !== null && call.active()) call.reset(this.timeOut);
  }

  #timedOut(): void {
    this.#call = null;
    this.#onTimeout();
  }
}

/** Options of {@link withIdleTimeout}. */
export interface IdleTimeoutOptions {
  /** What to do on expiry. Default: `protocol.transport.loseConnection()`. */
  onTimeout?: () => void;
}

/**
 * Give an existing protocol instance an idle timeout of `seconds`: the countdown starts when the
 * connection is made (or now, if it already is), restarts on every `dataReceived`, stops on
 * `connectionLost`, and on expiry closes the connection with `transport.loseConnection()` (or calls
 * `options.onTimeout`). Returns the {@link IdleTimeout} so the period can be changed later.
 *
 * It wraps the instance's own `connectionMade`, `dataReceived` and `connectionLost` (Twisted's
 * `TimeoutProtocol` wraps the protocol; unlike it, writes do not restart the countdown).
 */
export function withIdleTimeout<P extends Protocol>(
  protocol: P,
  clock: ReactorTime,
  seconds: number,
  options: IdleTimeoutOptions = {},
): IdleTimeout {
  const onTimeout = options.onTimeout ?? (() => protocol.transport.loseConnection());
  const timeout = new IdleTimeout(clock, onTimeout, seconds);
  const connectionMade = protocol.connectionMade;
  const dataReceived = protocol.dataReceived;
  const connectionLost = protocol.connectionLost;
  protocol.connectionMade = function (this: P): void {
    timeout.setTimeout(timeout.timeOut);
    connectionMade.call(this);
  };
  protocol.dataReceived = function (this: P, data: Uint8Array): void {
    timeout.resetTimeout();
    dataReceived.call(this, data);
  };
  protocol.connectionLost = function (this: P, reason: Error): void {
    timeout.setTimeout(null);
    connectionLost.call(this, reason);
  };
  if (protocol.connected) timeout.setTimeout(seconds);
  return timeout;
}
