/** {@link FramingDecoder}: the pause/queue/stop machinery of weft's binary framing decoders. */
import type { WeftError } from "../../core/errors.js";
import type { Decoder, DecoderSink } from "./decoder.js";

/**
 * Base of weft's binary framing decoders: the queueing that makes them pausable and re-entrant.
 *
 * - `pause()` stops delivery after the current frame; what is left of the current chunk and every
 *   chunk fed meanwhile is copied and kept until `resume()` (the caller is expected to stop reading
 *   while paused: input fed during a pause is buffered without limit).
 * - A `feed` from inside `onFrame` (re-entrant) is queued and parsed after the current chunk.
 * - `stop()` drops everything and ignores all further input, reporting nothing.
 * - After `onError` the decoder is `failed`, holds no input and ignores everything.
 *
 * Subclasses implement {@link FramingDecoder.parse} and {@link FramingDecoder.partialBytes}.
 */
export abstract class FramingDecoder<F = Uint8Array> implements Decoder {
  /** Where frames and the error go. */
  protected readonly sink: DecoderSink<F>;
  /** True when `parse` must return after the frame it just delivered (paused, stopped or failed). */
  protected halted = false;
  /** Stream offset of the first byte of the chunk `parse` is working on. */
  protected base = 0;
  #failed = false;
  #stopped = false;
  #paused = false;
  #busy = false;
  #ended = false;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #processed = 0;

  constructor(sink: DecoderSink<F>) {
    this.sink = sink;
  }

  /**
   * Parses `chunk` from its start, delivering frames to `this.sink`; returns how many bytes it
   * consumed. It may stop early only when `this.halted` became true after a delivery or an error.
   * Bytes of a frame that is not complete are copied into the decoder's own buffer (consumed).
   */
  protected abstract parse(chunk: Uint8Array): number;

  /** Bytes of an incomplete frame held by the subclass. */
  protected abstract partialBytes(): number;

  /** Forget the subclass's partial frame (called on stop and after an error). */
  protected abstract resetPartial(): void;

  /** The error reported when input ends inside a frame, at stream offset `offset`. */
  protected abstract truncatedError(offset: number): WeftError;

  /**
   * @internal Whether a subclass with a fast path for whole frames lying in a chunk takes it (read
   * once, in its constructor). Only a test overrides it (to `false`): the differential properties in
   * `test/protocols/receivers/fast-paths.test.ts` pin each fast path to its general loop.
   */
  protected usesFastPath(): boolean {
    return true;
  }

  get failed(): boolean {
    return this.#failed;
  }

  /** True while paused with `pause()`. */
  get paused(): boolean {
    return this.#paused;
  }

  /** True after `stop()`. */
  get stopped(): boolean {
    return this.#stopped;
  }

  get bufferedBytes(): number {
    return this.#queued + this.partialBytes();
  }

  /** Total bytes parsed so far (the stream offset of the next byte to parse). */
  get offset(): number {
    return this.#processed;
  }

  feed(chunk: Uint8Array): void {
    if (this.#failed || this.#stopped || chunk.length === 0) return;
    if (this.#busy || this.#paused) {
      this.#queue.push(chunk.slice());
      this.#queued += chunk.length;
      return;
    }
    this.#busy = true;
    try {
      this.#process(chunk, false);
      this.#drain();
    } finally {
      this.#busy = false;
    }
    if (this.#ended) this.#finish();
  }

  end(): void {
    if (this.#failed || this.#stopped || this.#ended) return;
    this.#ended = true;
    if (!this.#busy && !this.#paused) this.#finish();
  }

  /** Stop delivering frames (after the current one) until `resume()`. */
  pause(): void {
    if (this.#failed || this.#stopped) return;
    this.#paused = true;
    this.halted = true;
  }

  /** Deliver what was held back by `pause()` and carry on. */
  resume(): void {
    if (this.#failed || this.#stopped || !this.#paused) return;
    this.#paused = false;
    this.halted = false;
    if (this.#busy) return; // the running loop carries on by itself
    this.#busy = true;
    try {
      this.#drain();
    } finally {
      this.#busy = false;
    }
    if (this.#ended && !this.#paused) this.#finish();
  }

  /** Drop all buffered input and ignore everything fed from now on; nothing more is reported. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.halted = true;
    this.#release();
  }

  /** Report `error` once, then hold nothing and ignore all further input. */
  protected fail(error: WeftError): void {
    if (this.#failed || this.#stopped) return;
    this.#failed = true;
    this.halted = true;
    this.#release();
    this.sink.onError(error);
  }

  #release(): void {
    this.#queue = [];
    this.#queued = 0;
    this.resetPartial();
  }

  #process(chunk: Uint8Array, owned: boolean): void {
    this.base = this.#processed;
    const used = this.parse(chunk);
    this.#processed += used;
    if (used < chunk.length && this.#paused && !this.#failed && !this.#stopped) {
      // Paused mid-chunk: keep the rest (copied unless it already is our own copy).
      const rest = owned ? chunk.subarray(used) : chunk.slice(used);
      this.#queue.unshift(rest);
      this.#queued += rest.length;
    }
  }

  #drain(): void {
    while (this.#queue.length > 0 && !this.halted) {
      const next = this.#queue.shift()!;
      this.#queued -= next.length;
      this.#process(next, true);
    }
  }

  #finish(): void {
    if (this.#failed || this.#stopped || this.#paused) return;
    if (this.#queue.length === 0 && this.partialBytes() === 0 && !this.inFrame()) return;
    this.fail(this.truncatedError(this.#processed));
  }

  /** True when the decoder is in the middle of a frame (even with no payload byte held yet). */
  protected abstract inFrame(): boolean;
}
