/** The stream receivers: sans-I/O decoders/encoders, their protocols and stream adapters. */
export type { Decoder, DecoderFactory, DecoderSink } from "./decoder.js";
export * from "./length-prefixed.js";
export * from "./lines.js";
export * from "./netstring.js";
export * from "./streams.js";
