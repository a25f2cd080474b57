/**
 * The contracts the core layer is built on. Implementations live beside them in `src/core`
 * (real TCP/Unix/TLS transports, the Node clock) and in `src/testing` (memory transport, manual Clock).
 */

/**
 * Where a transport's end is. `port` is 0 and `path` set for Unix sockets; `UDP`/`UDP6` for
 * datagram ports; `PIPE` (host "" and port 0) for a child process's pipes and standard I/O.
 */
export interface Address {
  /** The address family: stream (`TCP`, `TCP6`, `UNIX`), datagram (`UDP`, `UDP6`) or `PIPE`. */
  readonly type: "TCP" | "TCP6" | "UNIX" | "UDP" | "UDP6" | "PIPE";
  /** The IP address (or host name as given); "" for Unix sockets and pipes. */
  readonly host: string;
  /** The port number; 0 for Unix sockets and pipes. */
  readonly port: number;
  /** The socket path, for `UNIX` addresses only. */
  readonly path?: string;
}

/** Something that produces data and can be flow-controlled (Twisted's IPushProducer). */
export interface Producer {
  /** Stop producing data until `resumeProducing` is called. */
  pauseProducing(): void;
  /** Start producing again after `pauseProducing` (or, for a pull producer, produce one more chunk). */
  resumeProducing(): void;
  /** Stop for good: the consumer is going away; no more data may be written. */
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
  /** Queue `data` (a string is UTF-8 encoded) for sending; a no-op once the connection is gone. */
  write(data: Uint8Array | string): void;
  /** Write each chunk of `data` in order, as one call (Twisted's `writeSequence`). */
  writeSequence(data: Iterable<Uint8Array | string>): void;
  /** Close after pending writes are flushed; idempotent. `connectionLost` follows with `ConnectionDone`. */
  loseConnection(): void;
  /** Close at once, dropping pending writes; `connectionLost` follows with `ConnectionAborted`. */
  abortConnection(): void;
  /** The remote end's address. */
  getPeer(): Address;
  /** The local end's address. */
  getHost(): Address;
  /** True from the moment `loseConnection`/`abortConnection` was called (or the peer left). */
  readonly disconnecting: boolean;
  /**
   * Attach a producer that feeds this transport: a streaming (push) producer is paused and resumed with
   * the write buffer; a pull producer (`streaming` false) is asked for more whenever the buffer is empty.
   * Throws `ProducerAlreadyRegisteredError` if a producer is already registered.
   */
  registerProducer(producer: Producer, streaming: boolean): void;
  /** Detach the registered producer (a no-op when there is none). */
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
  /** True once the call has run. */
  readonly called: boolean;
  /** True once the call was cancelled. */
  readonly cancelled: boolean;
}

/** The time interface everything time-dependent takes (Twisted's IReactorTime). Seconds, floats. */
export interface ReactorTime {
  /** The current time in seconds (a float); only differences between two readings are meaningful. */
  seconds(): number;
  /** Run `fn(...args)` after `delay` seconds (Twisted's `callLater`); returns the handle to cancel or move it. */
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
  /** The address this connector connects to. */
  getDestination(): Address;
}
