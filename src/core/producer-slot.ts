/**
 * The producer registered with a pipe transport (child process stdin, standard I/O): Twisted's
 * `registerProducer` rules in one place. A streaming producer is paused when the pipe's buffer is
 * full and resumed when it drains; a pull producer is asked for more at registration and at each
 * drain. (The TCP transport keeps its own, interleaved with its write path.)
 */
import type { Producer } from "./interfaces.js";
import { ProducerAlreadyRegisteredError } from "./transport.js";

/** One transport's registered producer, if any. */
export class ProducerSlot {
  #producer: Producer | null = null;
  #streaming = false;
  #paused = false;

  /**
   * Registers `producer`. Throws {@link ProducerAlreadyRegisteredError} when one is registered;
   * stops it at once when the transport is `closed`; a streaming producer starts paused when the
   * buffer is `full`, a pull producer is asked for data at once.
   */
  register(producer: Producer, streaming: boolean, closed: boolean, full: boolean): void {
    if (this.#producer !== null) throw new ProducerAlreadyRegisteredError();
    if (closed) {
      producer.stopProducing();
      return;
    }
    this.#producer = producer;
    this.#streaming = streaming;
    this.#paused = false;
    if (!streaming) producer.resumeProducing();
    else if (full) {
      this.#paused = true;
      producer.pauseProducing();
    }
  }

  unregister(): void {
    this.#producer = null;
    this.#paused = false;
  }

  /** The buffer is full: pause a streaming producer. */
  bufferFull(): void {
    if (this.#producer !== null && this.#streaming && !this.#paused) {
      this.#paused = true;
      this.#producer.pauseProducing();
    }
  }

  /** The buffer drained: ask a pull producer for more, resume a paused streaming one. */
  drained(): void {
    const p = this.#producer;
    if (p === null) return;
    if (!this.#streaming) p.resumeProducing();
    else if (this.#paused) {
      this.#paused = false;
      p.resumeProducing();
    }
  }

  /** The transport is gone: unregister the producer and stop it. */
  stop(): void {
    const p = this.#producer;
    this.#producer = null;
    p?.stopProducing();
  }
}
