/** The stream receivers: sans-I/O decoders/encoders, their protocols and stream adapters. */
export type { Decoder, DecoderFactory, DecoderSink } from "./decoder.js";
export {
  encodeLengthPrefix,
  encodeLengthPrefixed,
  FramingDecoder,
  Int8StringReceiver,
  Int16StringReceiver,
  Int32StringReceiver,
  type LengthPrefix,
  LengthPrefixedDecoder,
  LengthPrefixedError,
  type LengthPrefixedErrorKind,
  type LengthPrefixedOptions,
  LengthPrefixedReceiver,
  lengthPrefixedDecoder,
  StringTooLongError,
} from "./length-prefixed.js";
export * from "./lines.js";
export * from "./netstring.js";
export * from "./streams.js";
