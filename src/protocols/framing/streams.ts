/**
 * Stream adapters for any sans-I/O decoder ({@link DecoderFactory}): a Node `Transform`, a Web
 * `TransformStream` and an async generator over a socket or any async iterable of chunks. The
 * per-framing helpers (`lineTransform`, `decodeNetstrings`, …) are in `receivers/streams.ts`.
 *
 * Frames and views: decoders hand out zero-copy views of the chunk they were fed. The adapters pass
 * them on as they are (fast, and safe with sockets and streams, which never reuse a chunk once it is
 * handed over), so a frame you keep pins the whole chunk it came from (up to 64 KiB for a socket
 * read). Pass `{ copy: true }` to get frames detached with `.slice()`, or copy the ones you keep.
 * {@link decodeIterable} yields every frame of one chunk before it pulls the next chunk.
 */
import type { Socket } from "node:net";
import { Transform } from "node:stream";
import { TransformStream } from "node:stream/web";
import type { Decoder, DecoderFactory } from "./decoder.js";

/** What the async-iterator adapters read: a socket, any async (or plain) iterable of chunks. */
export type ChunkSource =
  | AsyncIterable<Uint8Array | string>
  | Iterable<Uint8Array | string>
  | Socket;

/** Options of the stream adapters. */
export interface StreamAdapterOptions {
  /**
   * Hand out copies (`.slice()`) of `Uint8Array` frames instead of views of the input chunks.
   * Default `false`.
   */
  copy?: boolean;
}

function detach<F>(frame: F): F {
  return (frame instanceof Uint8Array ? frame.slice() : frame) as F;
}

function toChunk(data: Uint8Array | string): Uint8Array {
  return typeof data === "string" ? Buffer.from(data, "utf8") : data;
}

/**
 * A Node `Transform` decoding bytes written to it into frames on its readable side (object mode).
 * A decode error — including a frame cut short when the writable side ends — destroys the stream
 * with the typed error; no frame is pushed after it.
 */
export function toNodeTransform<F>(
  factory: DecoderFactory<F>,
  options: StreamAdapterOptions = {},
): Transform {
  const copy = options.copy === true;
  let failure: Error | null = null;
  let decoder: Decoder;
  const stream = new Transform({
    readableObjectMode: true,
    transform(chunk: Uint8Array | string, _encoding, callback) {
      decoder.feed(toChunk(chunk));
      callback(failure);
    },
    flush(callback) {
      decoder.end();
      callback(failure);
    },
  });
  decoder = factory({
    onFrame(frame) {
      stream.push(copy ? detach(frame) : frame);
    },
    onError(error) {
      failure = error;
    },
  });
  return stream;
}

/**
 * A Web `TransformStream` from bytes to frames. A decode error (or a frame cut short at the end)
 * errors the stream with the typed error.
 */
export function toWebTransformStream<F>(
  factory: DecoderFactory<F>,
  options: StreamAdapterOptions = {},
): TransformStream<Uint8Array, F> {
  const copy = options.copy === true;
  let failure: Error | null = null;
  let out: TransformStreamDefaultControllerLike<F> | null = null;
  const decoder = factory({
    onFrame(frame) {
      out?.enqueue(copy ? detach(frame) : frame);
    },
    onError(error) {
      failure = error;
    },
  });
  return new TransformStream<Uint8Array, F>({
    start(controller) {
      out = controller;
    },
    transform(chunk) {
      decoder.feed(chunk);
      if (failure !== null) throw failure;
    },
    flush() {
      decoder.end();
      if (failure !== null) throw failure;
    },
  });
}

interface TransformStreamDefaultControllerLike<F> {
  enqueue(chunk: F): void;
}

/**
 * Decodes an async iterable of chunks (a `net.Socket`, any Node `Readable`, a Web
 * `ReadableStream`, an async generator, …) into frames:
 * `for await (const frame of decodeIterable(factory, socket))`.
 *
 * Every frame of one chunk is yielded before the next chunk is pulled. A decode error, or the input
 * ending inside a frame, is thrown from the loop after the frames before it. Leaving the loop early
 * (break/throw) ends the iteration of the source too, which destroys a socket.
 */
export async function* decodeIterable<F>(
  factory: DecoderFactory<F>,
  source: ChunkSource,
  options: StreamAdapterOptions = {},
): AsyncGenerator<F, void, undefined> {
  const copy = options.copy === true;
  let frames: F[] = [];
  let failure: Error | null = null;
  const decoder = factory({
    onFrame(frame) {
      frames.push(copy ? detach(frame) : frame);
    },
    onError(error) {
      failure = error;
    },
  });
  for await (const chunk of source as AsyncIterable<Uint8Array | string>) {
    decoder.feed(toChunk(chunk));
    if (frames.length > 0) {
      const ready = frames;
      frames = [];
      yield* ready;
    }
    if (failure !== null) throw failure;
  }
  decoder.end();
  yield* frames;
  frames = [];
  if (failure !== null) throw failure;
}
