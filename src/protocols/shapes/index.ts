/** Length-prefixed protocols of any shape: declaration, decoder, encoder, receiver, ready-made shapes. */
export { crc32, crc32Trailer } from "./crc32.js";
export { ShapeDecoder, type ShapeSink, shapeDecoder } from "./decoder.js";
export { encodeFrame, encodeFrameParts, encodeHeader, type FrameInputBase } from "./encoder.js";
export { ShapeError, type ShapeErrorKind } from "./errors.js";
export {
  dnsTcp,
  http2,
  int8,
  int16,
  int32,
  mqtt,
  PG_CANCEL_REQUEST,
  PG_GSSENC_REQUEST,
  PG_PROTOCOL_3_0,
  PG_SSL_REQUEST,
  postgres,
  tlsRecord,
  varint,
} from "./presets.js";
export { ShapeReceiver } from "./receiver.js";
export {
  type BitsField,
  type BytesField,
  bits,
  bytes,
  defineShape,
  type Endian,
  type Field,
  type FieldValues,
  type FrameInput,
  type FrameOf,
  type InputOf,
  type LengthCodec,
  type LengthCounts,
  type LengthSpec,
  type MagicField,
  magic,
  Shape,
  type ShapeFrame,
  type ShapeInput,
  type ShapeSpec,
  type TrailerSpec,
  type UintField,
  uint,
} from "./shape.js";
