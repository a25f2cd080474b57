/**
 * The contracts the core layer is built on. Implementations live beside them in `src/core`
 * (real TCP/Unix/TLS transports, the Node clock) and in `src/testing` (memory transport, manual Clock).
 */

/**
 * Where a transport's end is. `port` is 0 and `path` set for Unix sockets; `UDP`/`UDP6` for
 * datagram ports; `PIPE` (host "" and port 0) for a child process's pipes and standard I/O.
 */
export interface Address {
  readonly type: "TCP" | "TCP6" | "UNIX" | "UDP" | "UDP6" | "PIPE";
  readonly host: string;
  readonly port: number;
  readonly path?: string;
}

/** Something that produces data and can be flow-controlled (Twisted's IPushProducer). */
export interface Producer {
  pauseProducing(): void;
  resumeProducing(): void;
  stopProducing(): void;
}

/**
 * A connection's transport (Twisted's ITransport + IConsumer + IPushProducer of incoming data).
 *
 * - `write` accepts bytes or a string (UTF-8 encoded); after the connection is gone it is a no-op.
 * - `loseConnection` is idempotent: stops reading, flushes pending writes, then closes.
 * - `abortConnection` closes at once and drops pending writes.
 * - `pauseProducing`/`resumeProducing` stop and restart reading from the peer.
 * - `registerProducer(p, true)`: the transport pauses `p` when its write buffer passes the high-water
 *   mark and resumes it once drained; `streaming=false` (pull) producers get `resumeProducing` whenever
 *   the buffer is empty.
 */
export interface Transport extends Producer {
  write(data: Uint8Array | string): void;
  writeSequence(data: Iterable<Uint8Array | string>): void;
  loseConnection(): void;
  abortConnection(): void;
  getPeer(): Address;
  getHost(): Address;
  /** True from the moment `loseConnection`/`abortConnection` was called (or the peer left). */
  readonly disconnecting: boolean;
  registerProducer(producer: Producer, streaming: boolean): void;
  unregisterProducer(): void;
}

/** A call scheduled for later (Twisted's IDelayedCall). */
export interface DelayedCall {
  /** Absolute time (in the clock's seconds) at which the call will run. */
  getTime(): number;
  /** Unschedule. Throws AlreadyCancelledError / AlreadyCalledError. */
  cancel(): void;
  /** Reschedule to `now + secondsFromNow`. Same errors as `cancel`. */
  reset(secondsFromNow: number): void;
  /** Push back by `secondsLater` from the current schedule. Same errors as `cancel`. */
  delay(secondsLater: number): void;
  /** Neither called nor cancelled. */
  active(): boolean;
  readonly called: boolean;
  readonly cancelled: boolean;
}

/** The time interface everything time-dependent takes (Twisted's IReactorTime). Seconds, floats. */
export interface ReactorTime {
  seconds(): number;
  callLater<A extends unknown[]>(delay: number, fn: (...args: A) => void, ...args: A): DelayedCall;
}

/** An outgoing connection attempt that can be retried (Twisted's IConnector). */
export interface Connector {
  /** Start (or restart, after a failure or loss) the connection attempt. */
  connect(): void;
  /** Abandon an attempt that is in progress. */
  stopConnecting(): void;
  /** Disconnect the current connection, or stop connecting. */
  disconnect(): void;
  getDestination(): Address;
}
