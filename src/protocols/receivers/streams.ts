/**
 * The stream helpers of each framing: a Node `Transform`, a Web `TransformStream` and an async
 * generator of frames for lines, netstrings and length-prefixed frames, on the generic adapters of
 * `framing/streams.ts` (whose notes on views and copies apply).
 */
import type { Transform } from "node:stream";
import type { TransformStream } from "node:stream/web";
import {
  type ChunkSource,
  decodeIterable,
  type StreamAdapterOptions,
  toNodeTransform,
  toWebTransformStream,
} from "../framing/streams.js";
import { type LengthPrefixedOptions, lengthPrefixedDecoder } from "./length-prefixed/decoder.js";
import { type LineDecoderOptions, lineDecoder } from "./lines/decoder.js";
import { type NetstringOptions, netstringDecoder } from "./netstring/decoder.js";

function pickLines(o: LineDecoderOptions): LineDecoderOptions {
  const out: LineDecoderOptions = {};
  if (o.delimiter !== undefined) out.delimiter = o.delimiter;
  if (o.maxLength !== undefined) out.maxLength = o.maxLength;
  if (o.emitUnterminated !== undefined) out.emitUnterminated = o.emitUnterminated;
  return out;
}

/** A Node `Transform` from bytes to lines (`Uint8Array`, object mode); errors destroy it. */
export function lineTransform(options: LineDecoderOptions & StreamAdapterOptions = {}): Transform {
  return toNodeTransform(lineDecoder(pickLines(options)), options);
}

/** A Web `TransformStream` from bytes to lines. */
export function lineTransformStream(
  options: LineDecoderOptions & StreamAdapterOptions = {},
): TransformStream<Uint8Array, Uint8Array> {
  return toWebTransformStream(lineDecoder(pickLines(options)), options);
}

/**
 * Lines from a socket or any async iterable of chunks:
 * `for await (const line of decodeLines(socket)) text.decode(line)`.
 * A line too long, or input ending inside a line (unless `emitUnterminated`), is thrown from the
 * loop after the lines before it.
 */
export function decodeLines(
  source: ChunkSource,
  options: LineDecoderOptions & StreamAdapterOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  return decodeIterable(lineDecoder(pickLines(options)), source, options);
}

/**
 * Lines as strings (UTF-8, invalid sequences replaced by U+FFFD) from a socket or any async
 * iterable of chunks. Each line is decoded whole, so characters split across chunks are intact.
 */
export async function* decodeTextLines(
  source: ChunkSource,
  options: LineDecoderOptions = {},
): AsyncGenerator<string, void, undefined> {
  const text = new TextDecoder();
  for await (const line of decodeLines(source, pickLines(options))) yield text.decode(line);
}

/** A Node `Transform` from bytes to netstring payloads (see {@link toNodeTransform}). */
export function netstringTransform(
  options: NetstringOptions & StreamAdapterOptions = {},
): Transform {
  return toNodeTransform(netstringDecoder(pickNetstring(options)), options);
}

/** A Web `TransformStream` from bytes to netstring payloads. */
export function netstringTransformStream(
  options: NetstringOptions & StreamAdapterOptions = {},
): TransformStream<Uint8Array, Uint8Array> {
  return toWebTransformStream(netstringDecoder(pickNetstring(options)), options);
}

/** Netstring payloads from a socket or any async iterable of chunks. */
export function decodeNetstrings(
  source: ChunkSource,
  options: NetstringOptions & StreamAdapterOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  return decodeIterable(netstringDecoder(pickNetstring(options)), source, options);
}

/** A Node `Transform` from bytes to length-prefixed payloads. */
export function lengthPrefixedTransform(
  options: LengthPrefixedOptions & StreamAdapterOptions = {},
): Transform {
  return toNodeTransform(lengthPrefixedDecoder(pickLengthPrefixed(options)), options);
}

/** A Web `TransformStream` from bytes to length-prefixed payloads. */
export function lengthPrefixedTransformStream(
  options: LengthPrefixedOptions & StreamAdapterOptions = {},
): TransformStream<Uint8Array, Uint8Array> {
  return toWebTransformStream(lengthPrefixedDecoder(pickLengthPrefixed(options)), options);
}

/** Length-prefixed payloads from a socket or any async iterable of chunks. */
export function decodeLengthPrefixed(
  source: ChunkSource,
  options: LengthPrefixedOptions & StreamAdapterOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  return decodeIterable(lengthPrefixedDecoder(pickLengthPrefixed(options)), source, options);
}

function pickNetstring(o: NetstringOptions): NetstringOptions {
  return o.maxLength === undefined ? {} : { maxLength: o.maxLength };
}

function pickLengthPrefixed(o: LengthPrefixedOptions): LengthPrefixedOptions {
  const out: LengthPrefixedOptions = {};
  if (o.prefix !== undefined) out.prefix = o.prefix;
  if (o.endian !== undefined) out.endian = o.endian;
  if (o.maxLength !== undefined) out.maxLength = o.maxLength;
  return out;
}
