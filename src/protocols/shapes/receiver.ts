/**
 * `ShapeReceiver`: a protocol receiving frames of a declared {@link Shape}, with Twisted's hooks
 * (`lengthLimitExceeded`, pause/resume) and a mid-stream shape switch (`setShape`), as
 * `LineReceiver` switches to raw mode.
 *
 * The shape is a class field holding an object made by `defineShape`, so a subclass declares it
 * without the literal-widening trap of `override prefix = 2` (TS2416): `override shape = kv;`.
 */
import { SMALL_WRITE } from "../framing/bytes.js";
import { PausableReceiver } from "../framing/receiver.js";
import { ShapeDecoder, type ShapeSink } from "./decoder.js";
import { encodeFrame, encodeFrameParts, type FrameInputBase } from "./encoder.js";
import type { ShapeError } from "./errors.js";
import type { Shape, ShapeFrame, ShapeInput } from "./shape.js";

/**
 * A protocol receiving shaped frames. Declare `shape` (one shape, or a union for a protocol that
 * switches) and override `frameReceived`:
 *
 * ```ts
 * const kv = defineShape({ before: [uint("op")], length: { bytes: 2, endian: "little" } });
 * class KvServer extends ShapeReceiver<typeof kv> {
 *   override shape = kv;
 *   override frameReceived(frame: ShapeFrame<typeof kv>): void { … }
 * }
 * ```
 *
 * - `frameReceived(frame)` gets each frame; its `payload` (and `bytes` fields) are views valid
 *   only during the call (`.slice()` to keep them).
 * - A length above the shape's `maxLength` calls `lengthLimitExceeded(length)` as soon as the
 *   length field is in (default: `loseConnection()`); any other malformation calls
 *   `framingError(error)` (default: `loseConnection()`). Either way nothing more is delivered.
 *   With `tooLong: "discard"`, a too-long frame calls `frameDiscarded(error)` and decoding goes on.
 * - Once `transport.disconnecting` is true, no further frame of the same chunk is delivered.
 * - Pausable ({@link PausableReceiver}): `pauseProducing()` holds buffered frames (and pauses the
 *   transport) until `resumeProducing()`.
 */
export abstract class ShapeReceiver<
  S extends Shape = Shape,
  F extends object = object,
> extends PausableReceiver<F> {
  /** The shape incoming frames have. Read when the first bytes arrive; change it with `setShape`. */
  abstract shape: S;
  #decoder: ShapeDecoder | null = null;

  /** The decoder's sink: prototype methods, so the decoder's call site sees one function pair. */
  static readonly #Sink = class implements ShapeSink<object> {
    readonly owner: ShapeReceiver;
    constructor(owner: ShapeReceiver) {
      this.owner = owner;
    }
    onFrame(frame: object): void {
      const r = this.owner;
      r.frameReceived(frame);
      if (r.transport.disconnecting) r.#decoder?.stop();
    }
    onError(error: Error): void {
      const e = error as ShapeError;
      if (e.kind === "length too long") this.owner.lengthLimitExceeded(e.length);
      else this.owner.framingError(e);
    }
    onDiscard(error: ShapeError): void {
      this.owner.frameDiscarded(error);
    }
  };

  #getDecoder(): ShapeDecoder {
    if (this.#decoder === null) {
      this.#decoder = new ShapeDecoder(new ShapeReceiver.#Sink(this), this.shape);
      if (this.paused) this.#decoder.pause();
    }
    return this.#decoder;
  }

  /**
   * Decode the next frames with `shape`. Call it from `frameReceived` (the rest of the chunk is
   * decoded with the new shape) or before the next frame's bytes arrive.
   */
  setShape(shape: S): void {
    this.shape = shape;
    this.#decoder?.setShape(shape);
  }

  /** Bytes received and not yet delivered (partial frame plus input held while paused). */
  get bufferedBytes(): number {
    return this.#decoder?.bufferedBytes ?? 0;
  }

  override dataReceived(data: Uint8Array): void {
    this.#getDecoder().feed(data);
  }

  /** Called with each frame. Override it. */
  frameReceived(_frame: ShapeFrame<S>): void {}

  /** A length above `maxLength` (before the payload arrives). Default: `loseConnection()`. */
  lengthLimitExceeded(_length: number): void {
    this.transport.loseConnection();
  }

  /** Any other framing error (bad magic, checksum, varint, …). Default: `loseConnection()`. */
  framingError(_error: ShapeError): void {
    this.transport.loseConnection();
  }

  /** A too-long frame skipped in `tooLong: "discard"` mode. Default: nothing. */
  frameDiscarded(_error: ShapeError): void {}

  /** Sends a frame of the current shape (see {@link sendFrameWith}). */
  sendFrame(frame: ShapeInput<S> & FrameInputBase): void {
    this.sendFrameWith<object, object>(this.shape, frame);
  }

  /**
   * Sends a frame of `shape` (replies often have another shape than requests): one write for
   * small payloads, header and payload as separate pieces for large ones (no copy).
   */
  sendFrameWith<T extends object, In extends object>(
    shape: Shape<T, In>,
    frame: In & FrameInputBase,
  ): void {
    const p = frame.payload;
    if (typeof p === "string" || p.length <= SMALL_WRITE) {
      this.transport.write(encodeFrame(shape, frame));
    } else {
      this.transport.writeSequence(encodeFrameParts(shape, frame));
    }
  }

  protected holdFrames(): void {
    this.#decoder?.pause();
  }

  protected releaseFrames(): void {
    this.#decoder?.resume();
  }

  protected dropFrames(): void {
    this.#getDecoder().stop();
  }
}
