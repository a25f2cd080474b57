/**
 * The shape every sans-I/O stream decoder in weft shares, so that one set of adapters (Node
 * Transform, Web TransformStream, async iterator) and one set of property tests fit them all.
 *
 * A decoder is fed chunks and reports, synchronously and in order, whole frames to `onFrame` and at
 * most one typed error to `onError`; after an error it is `failed` and ignores further input.
 * Frames may be zero-copy views into the chunk that was fed: valid only until `feed` returns unless
 * the decoder documents otherwise (copy with `Uint8Array.prototype.slice.call(frame)` or
 * `new Uint8Array(frame)` to keep one: `Buffer#slice` returns a view, not a copy).
 */
export interface DecoderSink<F> {
  /** Called with each whole frame, in order (a view valid until `feed` returns, unless documented otherwise). */
  onFrame(frame: F): void;
  /** Called at most once, with the typed error that ends the stream; nothing follows it. */
  onError(error: Error): void;
}

/** A sans-I/O stream decoder: fed chunks, it reports frames and at most one error to its sink. */
export interface Decoder {
  /** Feed one chunk of bytes. Never throws because of the bytes' content. */
  feed(chunk: Uint8Array): void;
  /** End of input: a partially received frame is reported as a typed error. */
  end(): void;
  /** True once an error was reported. */
  readonly failed: boolean;
  /** Bytes held that are not yet part of a delivered frame. */
  readonly bufferedBytes: number;
}

/** Makes a decoder that reports to `sink` (what the stream adapters take). */
export type DecoderFactory<F> = (sink: DecoderSink<F>) => Decoder;
