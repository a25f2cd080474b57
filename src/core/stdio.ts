/**
 * Any weft Protocol over this process's standard input and output (Twisted's `StandardIO`): a
 * LineReceiver in a shell pipeline, a protocol spoken to a parent process.
 *
 * stdin's bytes go to `dataReceived`; `write` goes to stdout. At stdin's end the transport loses
 * the connection (Twisted's behaviour for a protocol that is not half-closeable): what was written
 * is flushed, then `connectionLost(ConnectionDone)`. Backpressure: while stdout's buffer is full,
 * stdin is not read (and a registered streaming producer is paused) until it drains.
 */
import type { Readable, Writable } from "node:stream";
import { ConnectionDone, ConnectionLost } from "./errors.js";
import type { Address, Producer, Transport } from "./interfaces.js";
import { ProducerSlot } from "./producer-slot.js";
import type { Protocol } from "./protocol.js";
import { consoleErrorLogger, type ErrorLogger } from "./transport.js";

const PIPE_ADDRESS: Address = Object.freeze({ type: "PIPE", host: "", port: 0 });

/** Options of {@link StandardIO}. */
export interface StandardIOOptions {
  /** Default `process.stdin`. */
  stdin?: Readable;
  /** Default `process.stdout` (never ended: the process keeps its stdout). */
  stdout?: Writable;
  /** Where errors thrown by the protocol go. Default `console.error`. */
  logger?: ErrorLogger;
}

/** See the module documentation. The protocol is connected by the constructor. */
export class StandardIO implements Transport {
  /** The protocol connected to this process's stdin and stdout. */
  readonly protocol: Protocol;
  readonly #stdin: Readable;
  readonly #stdout: Writable;
  readonly #ownStdout: boolean;
  readonly #logger: ErrorLogger;
  #closing = false;
  #lost = false;
  #pausedByProtocol = false;
  #pausedForBuffer = false;
  readonly #producer = new ProducerSlot();

  constructor(protocol: Protocol, options: StandardIOOptions = {}) {
    this.protocol = protocol;
    this.#stdin = options.stdin ?? process.stdin;
    this.#stdout = options.stdout ?? process.stdout;
    this.#ownStdout = options.stdout === undefined;
    this.#logger = options.logger ?? consoleErrorLogger;
    this.#stdin.on("data", this.#onData);
    this.#stdin.once("end", () => this.loseConnection());
    this.#stdin.on("error", (err) => this.#lose(new ConnectionLost(`stdin: ${err.message}`)));
    this.#stdout.on("error", (err) => this.#lose(new ConnectionLost(`stdout: ${err.message}`)));
    this.#stdout.on("drain", this.#onDrain);
    try {
      protocol.makeConnection(this);
    } catch (err) {
      this.#logger("Unhandled error in connectionMade:", err);
      this.loseConnection();
    }
  }

  readonly #onData = (chunk: Buffer | string): void => {
    if (this.#closing) return;
    try {
      this.protocol.dataReceived(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
    } catch (err) {
      this.#logger("Unhandled error in dataReceived; closing standard I/O:", err);
      this.loseConnection();
    }
  };

  readonly #onDrain = (): void => {
    if (this.#pausedForBuffer) {
      this.#pausedForBuffer = false;
      this.#updateReading();
    }
    this.#producer.drained();
  };

  #updateReading(): void {
    if (this.#closing) return;
    if (this.#pausedByProtocol || this.#pausedForBuffer) this.#stdin.pause();
    else this.#stdin.resume();
  }

  get disconnecting(): boolean {
    return this.#closing;
  }

  write(data: Uint8Array | string): void {
    if (this.#lost || data.length === 0) return;
    if (!this.#stdout.write(data) && !this.#pausedForBuffer) {
      this.#pausedForBuffer = true;
      this.#updateReading();
      this.#producer.bufferFull();
    }
  }

  writeSequence(data: Iterable<Uint8Array | string>): void {
    for (const d of data) this.write(d);
  }

  /** Stops reading stdin, flushes stdout (ending it unless it is `process.stdout`), then `connectionLost`. */
  loseConnection(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#releaseStdin();
    const done = (): void => this.#lose(new ConnectionDone());
    if (this.#ownStdout) this.#stdout.write("", done);
    else this.#stdout.end(done);
  }

  abortConnection(): void {
    this.#closing = true;
    this.#releaseStdin();
    this.#lose(new ConnectionLost("Standard I/O was aborted locally."));
  }

  #releaseStdin(): void {
    this.#stdin.off("data", this.#onData);
    this.#stdin.pause();
    // An stdin nobody reads any more must not keep the process alive.
    if (!this.#stdin.readableEnded) this.#stdin.destroy();
  }

  #lose(reason: Error): void {
    if (this.#lost) return;
    this.#lost = true;
    this.#closing = true;
    this.#stdout.off("drain", this.#onDrain);
    this.#producer.stop();
    try {
      this.protocol.connectionLost(reason);
    } catch (err) {
      this.#logger("Unhandled error in connectionLost:", err);
    }
  }

  getPeer(): Address {
    return PIPE_ADDRESS;
  }

  getHost(): Address {
    return PIPE_ADDRESS;
  }

  pauseProducing(): void {
    this.#pausedByProtocol = true;
    this.#updateReading();
  }

  resumeProducing(): void {
    this.#pausedByProtocol = false;
    this.#updateReading();
  }

  stopProducing(): void {
    this.loseConnection();
  }

  registerProducer(producer: Producer, streaming: boolean): void {
    this.#producer.register(producer, streaming, this.#lost, this.#pausedForBuffer);
  }

  unregisterProducer(): void {
    this.#producer.unregister();
  }
}
