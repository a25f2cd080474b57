/**
 * The receiver bases shared by the framed protocols (Twisted's `_PauseableMixin` idea):
 *
 * - {@link PausableReceiver}: a protocol that is the `Producer` of the frames it delivers:
 *   `pauseProducing()` holds frames back and pauses the transport, `resumeProducing()` resumes the
 *   transport and delivers what was held, `stopProducing()` delivers nothing more and stops the
 *   transport. Subclasses say how frames are held, released and dropped. `LineReceiver` extends it.
 * - {@link FramedReceiver}: a {@link PausableReceiver} over a {@link FramingDecoder} made lazily
 *   at the first `dataReceived` (so the class fields that configure it may be set until then),
 *   delivering each frame to `stringReceived`. `NetstringReceiver` and `LengthPrefixedReceiver`
 *   extend it.
 */
import type { Producer } from "../../core/interfaces.js";
import { Protocol } from "../../core/protocol.js";
import type { DecoderSink } from "./decoder.js";
import type { FramingDecoder } from "./framing-decoder.js";
import { keepShape, keepShapesOnce } from "./v8.js";

/** A protocol that is the producer of the frames it delivers (see the module comment). */
export abstract class PausableReceiver<F extends object = object>
  extends Protocol<F>
  implements Producer
{
  /** True while paused by `pauseProducing` (or after `stopProducing`). */
  paused = false;

  /** Stop delivering frames (after the current one) and pause the transport. */
  pauseProducing(): void {
    this.paused = true;
    this.holdFrames();
    this.transport.pauseProducing();
  }

  /** Resume the transport and deliver the frames held back. */
  resumeProducing(): void {
    this.paused = false;
    this.transport.resumeProducing();
    this.releaseFrames();
  }

  /** Deliver nothing more and stop the transport. */
  stopProducing(): void {
    this.paused = true;
    this.dropFrames();
    this.transport.stopProducing();
  }

  /** Called by `pauseProducing` (with `paused` already true): stop delivering frames. */
  protected abstract holdFrames(): void;
  /** Called by `resumeProducing` (with `paused` false): deliver what was held back. */
  protected abstract releaseFrames(): void;
  /** Called by `stopProducing`: deliver nothing more, ever. */
  protected abstract dropFrames(): void;
}

/**
 * A {@link PausableReceiver} over a {@link FramingDecoder}: each frame goes to `stringReceived` (a
 * view valid only during the call); once `transport.disconnecting` is true no further frame is
 * delivered; a decoding error goes to {@link FramedReceiver.decodeFailed}, after which nothing more
 * is delivered.
 */
export abstract class FramedReceiver<F extends object = object> extends PausableReceiver<F> {
  #decoder: FramingDecoder<Uint8Array> | null = null;

  /**
   * The decoder's sink: one small object per connection whose `onFrame`/`onError` are prototype
   * methods, the same for every connection and every framing (see `v8.ts`, section 1).
   */
  static readonly #Sink = class implements DecoderSink<Uint8Array> {
    readonly owner: FramedReceiver;
    constructor(owner: FramedReceiver) {
      this.owner = owner;
    }
    onFrame(frame: Uint8Array): void {
      const r = this.owner;
      r.stringReceived(frame);
      if (r.transport.disconnecting) r.#decoder?.stop();
    }
    onError(error: Error): void {
      this.owner.decodeFailed(error);
    }
  };

  /** Makes this connection's decoder (called once, at the first `dataReceived`). */
  protected abstract makeDecoder(sink: DecoderSink<Uint8Array>): FramingDecoder<Uint8Array>;

  /** Called once with the decoder's error; nothing more is delivered afterwards. */
  protected abstract decodeFailed(error: Error): void;

  #getDecoder(): FramingDecoder<Uint8Array> {
    let d = this.#decoder;
    if (d === null) {
      const Sink = FramedReceiver.#Sink;
      keepShapesOnce(Sink, () => keepShape(new Sink(new ShapeKeeperReceiver())));
      d = this.#decoder = this.makeDecoder(new Sink(this));
      if (this.paused) d.pause();
    }
    return d;
  }

  /** Bytes received and not yet delivered (partial frame plus frames held while paused). */
  get bufferedBytes(): number {
    return this.#decoder?.bufferedBytes ?? 0;
  }

  override dataReceived(data: Uint8Array): void {
    this.#getDecoder().feed(data);
  }

  /** A partial frame (or frames held while paused) is pending work. */
  override pendingWork(): string | null {
    const n = this.bufferedBytes;
    return n > 0 ? `${n} bytes of unfinished frames` : null;
  }

  /** Called with each frame's payload (a view valid only during the call). Override it. */
  stringReceived(_data: Uint8Array): void {}

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

/** The owner of the kept sink: never connected, never fed. */
class ShapeKeeperReceiver extends FramedReceiver {
  protected makeDecoder(): never {
    throw new Error("unreachable: the shape keeper is never fed");
  }
  protected decodeFailed(): void {}
}
