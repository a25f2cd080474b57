/**
 * The stream transport over a `node:net` Socket (TCP, Unix sockets, and TLS: a `tls.TLSSocket` is a
 * `net.Socket`). It drives one {@link Protocol}: `makeConnection` once, `dataReceived` per chunk read,
 * exactly one `connectionLost` at the end.
 *
 * Why one file over ~600 lines: it is one state machine (reading paused by the protocol or by a
 * full buffer, writes held during `dataReceived`, producers, the close sequence); its flags are
 * read together on every event, so splitting it would only spread one concern over files.
 */
import type { Socket } from "node:net";
import { ConnectionDone, ConnectionLost, WeftError } from "./errors.js";
import type { Address, Producer, Transport } from "./interfaces.js";
import type { Protocol } from "./protocol.js";

/** Receives errors that weft catches but cannot hand to anyone (e.g. thrown from `dataReceived`). */
export type ErrorLogger = (message: string, error: unknown) => void;

/** The default {@link ErrorLogger}: `console.error`. */
export const consoleErrorLogger: ErrorLogger = (message, error) => {
  console.error(message, error);
};

/** Written with a callback to learn when everything written before it has left. */
const EMPTY = new Uint8Array(0);

/**
 * Builds an error without capturing a stack trace. The reasons handed to `connectionLost` are
 * created from inside Node's event dispatch, where a stack says nothing useful, and capturing one
 * was a measurable part of every connection's teardown. Each call still makes a new instance, so
 * a protocol may keep or modify its reason.
 */
function withoutStack<E extends Error>(make: () => E): E {
  const limit = Error.stackTraceLimit;
  try {
    Error.stackTraceLimit = 0;
  } catch {
    return make(); // not writable (frozen intrinsics): an ordinary error, with its stack
  }
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

const makeConnectionDone = (): ConnectionDone => new ConnectionDone();
const makeAborted = (): ConnectionLost => new ConnectionLost("Connection was aborted locally.");

/** The key under which a socket knows its transport (for the listeners shared by all sockets). */
const kTransport: unique symbol = Symbol("weft.transport");

/** A socket driven by a {@link SocketTransport}. */
interface OwnedSocket extends Socket {
  [kTransport]: SocketTransport;
}

/**
 * The socket listeners, shared by every connection: Node calls them with the socket as `this`,
 * and the socket knows its transport. Assigned in {@link SocketTransport}'s static block (which
 * may reach its private members).
 */
let socketListeners: {
  data: (this: Socket, chunk: Buffer) => void;
  error: (this: Socket, err: Error) => void;
  close: (this: Socket) => void;
  drain: (this: Socket) => void;
};

/** `registerProducer` was called while another producer is registered (Twisted's RuntimeError). */
export class ProducerAlreadyRegisteredError extends WeftError {
  constructor(message = "Cannot register producer: another producer is already registered.") {
    super("ERR_PRODUCER_ALREADY_REGISTERED", message);
  }
}

/**
 * What a listening port's guard (see `port-guard.ts`) needs from a transport: a transport counts the
 * bytes it received and wrote, and calls `grew` once they pass `granule` since it last did (so the
 * guard accounts memory on growth, never per byte).
 */
export interface TransportGuard {
  /** Bytes after which the transport reports. */
  readonly granule: number;
  /** The transport received or wrote `granule` bytes since it last reported. */
  grew(transport: SocketTransport): void;
}

/** Options of a {@link SocketTransport}. */
export interface SocketTransportOptions {
  /** Where errors thrown by the protocol go. Default: `console.error`. */
  logger?: ErrorLogger;
  /**
   * The peer's address; when omitted, computed from the socket on first use of `getPeer()` (TCP/
   * TCP6) and cached.
   */
  peer?: Address;
  /** This end's address; computed from the socket on first use when omitted (TCP/TCP6). */
  host?: Address;
  /** Called once after `protocol.connectionLost(reason)` (used by ports and connectors). */
  onLost?: (reason: Error, transport: SocketTransport) => void;
  /**
   * Stop reading from the peer while the write buffer is above {@link highWaterMark}, and read
   * again once it has drained. This bounds the memory of request/response servers whose peer
   * pipelines requests but does not read the replies (the incoming data is the producer of the
   * outgoing data). Independent of {@link SocketTransport.pauseProducing}: a pause the protocol
   * asked for survives a drain. Default true.
   */
  pauseReadingOnFullBuffer?: boolean;
  /**
   * The write buffer level (bytes buffered in Node, not yet handed to the kernel) at or above which
   * the buffer counts as full: reading pauses (see {@link pauseReadingOnFullBuffer}) and a
   * registered streaming producer is paused, until the buffer has drained. Default the socket's
   * `writableHighWaterMark` (16 KiB on Node 20).
   */
  highWaterMark?: number;
  /** The guard of the port that accepted the connection (memory accounting). */
  guard?: TransportGuard;
}

/** The Address of a TCP socket end (`TCP` or `TCP6` by address family). */
export function tcpAddress(
  address: string | undefined,
  family: string | undefined,
  port: number | undefined,
): Address {
  return {
    type: family === "IPv6" || family === "6" || (address?.includes(":") ?? false) ? "TCP6" : "TCP",
    host: address ?? "",
    port: port ?? 0,
  };
}

/**
 * The peer address of a TCP socket, looked up only when one of its fields is first read (the
 * lookup is a system call, and most servers never ask). Given to `buildProtocol`. Its fields are
 * getters: read them (or `toJSON()`); spreading it or `Object.keys` sees none. Once the socket is
 * closed, an address never read is unknown (`host` "" and `port` 0), as with Node's
 * `socket.remoteAddress`.
 */
export class SocketPeerAddress implements Address {
  readonly #socket: Socket;
  #resolved: Address | undefined;

  constructor(socket: Socket) {
    this.#socket = socket;
  }

  get #address(): Address {
    const s = this.#socket;
    this.#resolved ??= tcpAddress(s.remoteAddress, s.remoteFamily, s.remotePort);
    return this.#resolved;
  }

  get type(): "TCP" | "TCP6" {
    return this.#address.type as "TCP" | "TCP6";
  }

  get host(): string {
    return this.#address.host;
  }

  get port(): number {
    return this.#address.port;
  }

  /** The address as a plain object. */
  toJSON(): Address {
    return this.#address;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): Address {
    return this.#address;
  }
}

/** The Address of a Unix socket end. */
export function unixAddress(path: string): Address {
  return { type: "UNIX", host: "", port: 0, path };
}

/**
 * A {@link Transport} over a connected `net.Socket` (TCP, Unix, TLS).
 *
 * Writes made while one incoming chunk is being handled leave in a single socket write (writev), so
 * replies to pipelined requests cost one syscall per read; a write made anywhere else goes out
 * directly.
 *
 * Backpressure: when the write buffer reaches its high-water mark
 * ({@link SocketTransportOptions.highWaterMark}), the transport stops reading from the peer (so a
 * peer that sends requests but never reads the replies cannot make it buffer replies without bound;
 * see {@link SocketTransportOptions.pauseReadingOnFullBuffer}) and pauses a registered streaming
 * producer; both resume once the buffer has drained. Reading stays paused while the protocol's own
 * {@link SocketTransport.pauseProducing} is in effect. A pull producer gets `resumeProducing()`
 * whenever the buffer empties. While reading is paused for a full buffer, the peer's FIN is seen
 * only after the buffer drains; a peer that goes away makes the pending write fail, which ends the
 * connection with `ConnectionLost`.
 *
 * Construct it with an already connected socket, then call {@link SocketTransport.start}.
 */
export class SocketTransport implements Transport {
  /** The Node socket underneath (for options weft does not wrap). */
  readonly socket: Socket;
  /** The protocol this transport delivers to. */
  readonly protocol: Protocol;
  /** True once the connection is gone (`connectionLost` delivered). */
  disconnected = false;

  readonly #logger: ErrorLogger;
  #peer: Address | undefined;
  #host: Address | undefined;
  readonly #onLost: ((reason: Error, transport: SocketTransport) => void) | undefined;

  #producer: Producer | null = null;
  #streaming = false;
  #producerPaused = false;

  readonly #pauseReadingOnFullBuffer: boolean;
  readonly #highWaterMark: number;
  /** Reading is paused because the protocol called `pauseProducing()`. */
  #readPausedByProtocol = false;
  /** Reading is paused because the write buffer is full (until it drains). */
  #readPausedForBuffer = false;
  /** The buffer reached the high-water mark; `roomAgain` runs once it has drained. */
  #awaitingRoom = false;

  /** Inside `dataReceived`: writes are held and leave together when it returns. */
  #receiving = false;
  /** The first write held during `dataReceived` (sent directly if it stays the only one). */
  #held: Uint8Array | string | null = null;
  /** A second write arrived during `dataReceived`: the socket is corked until it returns. */
  #corked = false;
  /** `loseConnection` was called during `dataReceived`: end once the held writes are out. */
  #endAfterReceive = false;
  #aborted = false;
  /** `loseConnection`/`abortConnection` was called, or the connection is gone. */
  #closing = false;
  /** The 'drain' listener is attached (only once backpressure or a pull producer needs it). */
  #drainWatched = false;
  /** The write callbacks, bound on first use (most connections never need them). */
  #flushedCallback: (() => void) | null = null;
  #pullWrittenCallback: (() => void) | null = null;
  /** `loseConnection` was called with a producer registered: end once it is unregistered. */
  #endWhenUnregistered = false;
  #reason: Error | null = null;
  #socketError: Error | null = null;
  readonly #guard: TransportGuard | undefined;
  /** Bytes received and written since the guard was last told. */
  #unreported = 0;

  constructor(socket: Socket, protocol: Protocol, options: SocketTransportOptions = {}) {
    this.socket = socket;
    this.protocol = protocol;
    this.#logger = options.logger ?? consoleErrorLogger;
    this.#peer = options.peer;
    this.#host = options.host;
    this.#onLost = options.onLost;
    this.#guard = options.guard;
    this.#pauseReadingOnFullBuffer = options.pauseReadingOnFullBuffer ?? true;
    const hwm = options.highWaterMark;
    this.#highWaterMark =
      hwm !== undefined && hwm >= 1 ? Math.floor(hwm) : socket.writableHighWaterMark;
  }

  static {
    // One set of listeners for every socket (no closures per connection): `this` is the socket.
    socketListeners = {
      data(chunk) {
        (this as OwnedSocket)[kTransport].#onData(chunk);
      },
      error(err) {
        const t = (this as OwnedSocket)[kTransport];
        t.#socketError ??= err;
      },
      close() {
        (this as OwnedSocket)[kTransport].#onClose();
      },
      drain() {
        (this as OwnedSocket)[kTransport].#onDrain();
      },
    };
  }

  /**
   * True from the moment `loseConnection`/`abortConnection` was called or the peer ended (as in
   * Twisted, writes are dropped from then on).
   */
  get disconnecting(): boolean {
    // The peer's FIN needs no listener of its own: the socket knows it has seen the end.
    return this.#closing || this.socket.readableEnded;
  }

  /** Wires the socket's events and calls `protocol.makeConnection(this)`. */
  start(): void {
    const socket = this.socket as OwnedSocket;
    socket[kTransport] = this;
    socket.on("data", socketListeners.data);
    socket.on("error", socketListeners.error);
    socket.on("close", socketListeners.close);
    try {
      this.protocol.makeConnection(this);
    } catch (err) {
      this.#failWith("Unhandled error in connectionMade; aborting the connection:", err);
    }
  }

  #onData(chunk: Buffer): void {
    if (this.#closing) return; // loseConnection stops reading: the rest is discarded.
    this.#receiving = true;
    try {
      this.protocol.dataReceived(chunk);
    } catch (err) {
      this.#receiving = false;
      this.#held = null;
      this.#failWith("Unhandled error in dataReceived; aborting the connection:", err);
      return;
    }
    this.#receiving = false;
    if (this.#aborted) {
      this.#held = null;
      return;
    }
    if (this.#held !== null) {
      const data = this.#held;
      this.#held = null;
      this.#send(data);
    } else if (this.#corked) {
      this.#corked = false;
      this.socket.uncork();
      if (this.socket.writableLength >= this.#highWaterMark) this.#bufferFull();
    }
    if (this.#endAfterReceive) {
      this.#endAfterReceive = false;
      this.socket.end();
    }
    const guard = this.#guard;
    if (guard !== undefined && (this.#unreported += chunk.length) >= guard.granule) {
      this.#unreported = 0;
      guard.grew(this);
    }
  }

  #onClose(): void {
    if (this.disconnected) return;
    this.disconnected = true;
    this.#closing = true;
    let reason = this.#reason;
    if (reason === null) {
      const err = this.#socketError;
      reason =
        err !== null
          ? new ConnectionLost(`Connection to the other side was lost: ${err.message}`, {
              cause: err,
            })
          : withoutStack(makeConnectionDone);
    }
    const producer = this.#producer;
    if (producer !== null) {
      this.#producer = null;
      try {
        producer.stopProducing();
      } catch (err) {
        this.#logger("Unhandled error in producer.stopProducing:", err);
      }
    }
    try {
      this.protocol.connectionLost(reason);
    } catch (err) {
      this.#logger("Unhandled error in connectionLost:", err);
    }
    this.#onLost?.(reason, this);
  }

  #onDrain(): void {
    if (this.#awaitingRoom) {
      this.#roomAgain();
      return;
    }
    // A pull producer is also asked for more on every drain.
    if (this.#producer !== null && !this.#streaming) this.#producer.resumeProducing();
  }

  /** Attaches the 'drain' listener, once: only connections that meet backpressure need it. */
  #watchDrain(): void {
    if (!this.#drainWatched) {
      this.#drainWatched = true;
      this.socket.on("drain", socketListeners.drain);
    }
  }

  /**
   * The buffer reached the high-water mark: stop reading and pause a streaming producer until it
   * drains. Runs only when a write leaves the buffer at or above the mark, never per chunk otherwise.
   */
  #bufferFull(): void {
    if (!this.#awaitingRoom) {
      this.#awaitingRoom = true;
      this.#watchDrain();
      this.#watchForRoom();
    }
    if (this.#pauseReadingOnFullBuffer && !this.#readPausedForBuffer) {
      this.#readPausedForBuffer = true;
      this.#updateReading();
    }
    if (this.#producer !== null && this.#streaming && !this.#producerPaused) {
      this.#producerPaused = true;
      this.#producer.pauseProducing();
    }
  }

  /**
   * Arranges for `roomAgain` to run once the buffer empties. Node emits `drain` when a write
   * returned false (always the case at the default mark); below Node's own mark, an empty write's
   * callback tells when everything before it has been handed to the kernel.
   */
  #watchForRoom(): void {
    const socket = this.socket;
    if (!socket.writableNeedDrain && !socket.writableEnded && !socket.destroyed) {
      this.#flushedCallback ??= () => {
        if (this.#awaitingRoom && !this.disconnected) this.#roomAgain();
      };
      socket.write(EMPTY, this.#flushedCallback);
    }
  }

  /** The buffer drained (or may have): resume reading and a paused streaming producer. */
  #roomAgain(): void {
    const socket = this.socket;
    if (socket.destroyed) return; // 'close' follows: nothing to resume
    if (socket.writableLength >= this.#highWaterMark) {
      this.#watchForRoom(); // refilled since (e.g. writes from a timer): wait again
      return;
    }
    this.#awaitingRoom = false;
    if (this.#readPausedForBuffer) {
      this.#readPausedForBuffer = false;
      this.#updateReading();
    }
    const producer = this.#producer;
    if (producer === null) return;
    if (this.#streaming) {
      if (this.#producerPaused) {
        this.#producerPaused = false;
        producer.resumeProducing();
      }
    } else {
      producer.resumeProducing();
    }
  }

  /** Reads from the peer only when no pause reason is set (or once disconnecting: see below). */
  #updateReading(): void {
    // While disconnecting the socket keeps reading (and discarding) so the peer's FIN is seen.
    if (this.#closing || this.socket.readableEnded) return;
    const socket = this.socket;
    if (this.#readPausedByProtocol || this.#readPausedForBuffer) {
      if (!socket.isPaused()) socket.pause();
    } else if (socket.isPaused()) {
      socket.resume();
    }
  }

  /** The write callback of a pull producer's writes (bound on first use). */
  get #onPullWritten(): () => void {
    this.#pullWrittenCallback ??= () => {
      // A pull producer is asked for more once everything written so far has left.
      if (
        this.#producer !== null &&
        !this.#streaming &&
        !this.disconnected &&
        this.socket.writableLength === 0
      ) {
        this.#producer.resumeProducing();
      }
    };
    return this.#pullWrittenCallback;
  }

  #failWith(message: string, err: unknown): void {
    this.#logger(message, err);
    this.#reason ??= new ConnectionLost(
      `Connection aborted after an unhandled error: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
    this.abortConnection();
  }

  /** True when writes can no longer reach the peer. */
  get #writeClosed(): boolean {
    const socket = this.socket;
    // readableEnded: the peer's FIN arrived (allowHalfOpen is false: Node ends our side too).
    return this.#aborted || socket.readableEnded || socket.writableEnded || socket.destroyed;
  }

  /**
   * Sends bytes (a string is UTF-8 encoded). The bytes are not copied: do not modify them after
   * writing (as with `socket.write`). A no-op once the connection is closing for good (after the
   * FIN went out, an abort, or the peer's FIN).
   */
  write(data: Uint8Array | string): void {
    if (data.length === 0 || this.#writeClosed) return;
    if (!this.#receiving) {
      this.#send(data);
    } else if (this.#held === null && !this.#corked) {
      this.#held = data; // probably the only reply to this chunk: sent directly when it returns
    } else {
      if (!this.#corked) {
        // A second write for this chunk: cork, so that all of them leave in one writev.
        this.#corked = true;
        this.socket.cork();
        const first = this.#held;
        this.#held = null;
        if (first !== null) this.#send(first);
      }
      this.#send(data);
    }
  }

  /** One socket write, with the backpressure bookkeeping. */
  #send(data: Uint8Array | string): void {
    const socket = this.socket;
    if (this.#producer !== null && !this.#streaming) socket.write(data, this.#onPullWritten);
    else socket.write(data);
    // While corked, the check happens once at uncork.
    if (!this.#corked && socket.writableLength >= this.#highWaterMark) this.#bufferFull();
    const guard = this.#guard;
    if (guard !== undefined && (this.#unreported += data.length) >= guard.granule) {
      this.#unreported = 0;
      guard.grew(this);
    }
  }

  /** Writes each item in order (as one socket write when called inside `dataReceived`). */
  writeSequence(data: Iterable<Uint8Array | string>): void {
    for (const item of data) this.write(item);
  }

  /**
   * Closes the connection once everything written has been sent. Idempotent; incoming data is
   * no longer delivered from this moment on. As in Twisted, while a producer is registered the
   * connection stays open (and writable) until it is unregistered.
   */
  loseConnection(): void {
    if (this.#closing || this.socket.readableEnded) return;
    this.#closing = true;
    // Keep reading (and discarding) so the peer's FIN is seen and the socket closes cleanly.
    if (this.socket.isPaused()) this.socket.resume();
    if (this.#producer !== null) this.#endWhenUnregistered = true;
    else this.#endSoon();
  }

  #endSoon(): void {
    if (this.#receiving) this.#endAfterReceive = true;
    else this.socket.end();
  }

  /** Closes the connection at once; buffered writes are dropped. */
  abortConnection(): void {
    if (this.#aborted || this.disconnected) return;
    this.#aborted = true;
    this.#closing = true;
    this.#held = null;
    this.#reason ??= withoutStack(makeAborted);
    // Aborts are rare: keep the peer's address for `connectionLost` while the socket still knows it.
    this.getPeer();
    this.socket.destroy();
  }

  /**
   * The peer's address, looked up on first use and cached. Ask for it while the connection is
   * open (e.g. in `connectionMade`) if you will need it after it closed: first asked once the
   * socket is gone, the address is unknown (`host` "" and `port` 0).
   */
  getPeer(): Address {
    if (this.#peer === undefined) {
      const s = this.socket;
      this.#peer = tcpAddress(s.remoteAddress, s.remoteFamily, s.remotePort);
    }
    return this.#peer;
  }

  /** This end's address, looked up on first use and cached (see {@link getPeer}). */
  getHost(): Address {
    if (this.#host === undefined) {
      this.#host = tcpAddress(
        this.socket.localAddress,
        this.socket.localFamily,
        this.socket.localPort,
      );
    }
    return this.#host;
  }

  /** Bytes written but not yet handed to the kernel. */
  get bufferSize(): number {
    return this.socket.writableLength;
  }

  /**
   * Stops reading from the peer (this transport as a producer of incoming data) until
   * {@link resumeProducing}. Independent of the pause for a full write buffer: a drain does not
   * undo it.
   */
  pauseProducing(): void {
    this.#readPausedByProtocol = true;
    this.#updateReading();
  }

  /** Resumes reading from the peer, unless the write buffer is still full (then once it drains). */
  resumeProducing(): void {
    this.#readPausedByProtocol = false;
    this.#updateReading();
  }

  /** True while reading is paused because the write buffer is full (until it drains). */
  get readingPausedForBuffer(): boolean {
    return this.#readPausedForBuffer;
  }

  /** Stops reading for good: closes the connection (Twisted's `stopProducing`). */
  stopProducing(): void {
    this.loseConnection();
  }

  /**
   * Registers the producer of this connection's outgoing data. `streaming` (push) producers are
   * paused and resumed by the buffer level; pull producers get `resumeProducing()` now and whenever
   * the buffer empties. Throws {@link ProducerAlreadyRegisteredError} if one is registered; on a
   * closed connection the producer is stopped at once.
   */
  registerProducer(producer: Producer, streaming: boolean): void {
    if (this.#producer !== null) throw new ProducerAlreadyRegisteredError();
    if (this.disconnected) {
      producer.stopProducing();
      return;
    }
    this.#producer = producer;
    this.#streaming = streaming;
    this.#producerPaused = false;
    if (!streaming) {
      this.#watchDrain();
      producer.resumeProducing();
    } else if (this.#awaitingRoom || this.socket.writableLength >= this.#highWaterMark) {
      this.#bufferFull();
    }
  }

  /** Unregisters the producer; a `loseConnection()` that waited for it takes effect now. */
  unregisterProducer(): void {
    this.#producer = null;
    this.#producerPaused = false;
    if (this.#endWhenUnregistered) {
      this.#endWhenUnregistered = false;
      if (!this.disconnected && !this.#aborted) this.#endSoon();
    }
  }
}
