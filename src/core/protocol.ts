import type { Factory } from "./factory.js";
import type { Transport } from "./interfaces.js";

/**
 * The base of every protocol (Twisted's `Protocol`), generic in the factory that builds it. A transport calls `makeConnection` once,
 * `dataReceived` for every chunk read, and `connectionLost` once at the end.
 *
 * `dataReceived` must never throw: a transport that catches an exception from it logs it and tears
 * the connection down at once (Twisted's behaviour), but every weft receiver handles bad input
 * itself with a typed error and `loseConnection()`.
 */
export class Protocol<F extends object = object> {
  /** Set by `makeConnection`; using it before the connection is made is a programming error. */
  transport!: Transport;
  /**
   * The factory that built this protocol, typed by the class's type parameter
   * (`class Echo extends Protocol<EchoFactory>` makes `this.factory` an `EchoFactory`). Set by
   * {@link Factory.buildProtocol} before `makeConnection`; a protocol made without a factory (for
   * example by `connectProtocol`) has none, and reading it then is a programming error.
   */
  factory!: F;
  /** True between `makeConnection` and `connectionLost`. */
  connected = false;

  /**
   * Called by the transport once the connection is up: sets `transport` and `connected`, then calls
   * `connectionMade` (Twisted's `makeConnection`).
   */
  makeConnection(transport: Transport): void {
    this.connected = true;
    this.transport = transport;
    this.connectionMade();
  }

  /** Called once the connection is up and `this.transport` is set. */
  connectionMade(): void {}

  /** Called with each chunk of bytes received. Chunks are views the protocol must not keep. */
  dataReceived(_data: Uint8Array): void {}

  /**
   * What this connection still has to do before it can be closed without losing anything (a
   * partial frame received, replies outstanding, a response being streamed), as a short
   * description, or null when it is quiescent. A graceful stop (`closeConnections`) closes a
   * connection only once this is null, its writes are flushed and no data is arriving, and names
   * it in the log when it has to cut it. The default is null: only those transport-level checks.
   */
  pendingWork(): string | null {
    return null;
  }

  /**
   * Called once when the connection ends: `ConnectionDone` for a clean close, `ConnectionLost` (or
   * the error that broke it) otherwise.
   */
  connectionLost(_reason: Error): void {
    this.connected = false;
  }
}
