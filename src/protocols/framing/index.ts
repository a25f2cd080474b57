/**
 * The framing layer under every weft receiver: the sans-I/O decoder contract, the pause/queue/stop
 * decoder base, frame assembly across chunks, the limits, byte helpers, the stream adapters, the
 * pausable receiver bases, and the V8 workarounds (`v8.ts`).
 */
export { FrameAssembly } from "./assembly.js";
export { asBuffer, SMALL_WRITE, toBytes } from "./bytes.js";
export type { Decoder, DecoderFactory, DecoderSink } from "./decoder.js";
export { FramingDecoder } from "./framing-decoder.js";
export { checkMaxLength, MAX_SAFE_LENGTH } from "./limits.js";
export { FramedReceiver, PausableReceiver } from "./receiver.js";
export {
  type ChunkSource,
  decodeIterable,
  type StreamAdapterOptions,
  toNodeTransform,
  toWebTransformStream,
} from "./streams.js";
export { keepShape, keepShapesOnce, utf8Slice } from "./v8.js";
