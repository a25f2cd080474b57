/**
 * The stream receivers: sans-I/O decoders and encoders of lines, netstrings and length-prefixed
 * frames, their protocols and stream helpers, on the framing layer (`../framing/`).
 */
export {
  type ChunkSource,
  type Decoder,
  type DecoderFactory,
  type DecoderSink,
  decodeIterable,
  FramedReceiver,
  FramingDecoder,
  PausableReceiver,
  type StreamAdapterOptions,
  toNodeTransform,
  toWebTransformStream,
} from "../framing/index.js";
export {
  type LengthPrefix,
  LengthPrefixedDecoder,
  LengthPrefixedError,
  type LengthPrefixedErrorKind,
  type LengthPrefixedOptions,
  lengthPrefixedDecoder,
} from "./length-prefixed/decoder.js";
export {
  encodeLengthPrefix,
  encodeLengthPrefixed,
  StringTooLongError,
} from "./length-prefixed/encoder.js";
export {
  Int8StringReceiver,
  Int16StringReceiver,
  Int32StringReceiver,
  LengthPrefixedReceiver,
} from "./length-prefixed/receiver.js";
export {
  DEFAULT_LINE_DELIMITER,
  DEFAULT_MAX_LINE_LENGTH,
  LineDecoder,
  type LineDecoderOptions,
  LineLengthExceededError,
  lineDecoder,
  UnterminatedLineError,
} from "./lines/decoder.js";
export { encodeLine } from "./lines/encoder.js";
export { LineOnlyReceiver, LineReceiver } from "./lines/receiver.js";
export {
  NetstringDecoder,
  type NetstringErrorKind,
  type NetstringOptions,
  NetstringParseError,
  netstringDecoder,
} from "./netstring/decoder.js";
export { encodeNetstring, netstringHeader } from "./netstring/encoder.js";
export { NetstringReceiver } from "./netstring/receiver.js";
export {
  decodeLengthPrefixed,
  decodeLines,
  decodeNetstrings,
  decodeTextLines,
  lengthPrefixedTransform,
  lengthPrefixedTransformStream,
  lineTransform,
  lineTransformStream,
  netstringTransform,
  netstringTransformStream,
} from "./streams.js";
