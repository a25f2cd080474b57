/**
 * The shaped framing model (`--shape <module>` for a `defineShape` shape, and `--prefix 3`), on
 * weft's ShapeDecoder and shape encoder; valid and malformed frames come from the shape
 * arbitraries of `weft/testing`, so every kind the declaration allows is generated.
 */
import fc from "fast-check";
import type { DecoderSink } from "../../protocols/framing/decoder.js";
import { ShapeDecoder } from "../../protocols/shapes/decoder.js";
import { encodeFrame } from "../../protocols/shapes/encoder.js";
import { type FrameInput, LEN_NONE, type Shape } from "../../protocols/shapes/shape.js";
import { concat } from "../../testing/bytes.js";
import {
  malformedKinds,
  malformedShapedStream,
  shapedFrame,
} from "../../testing/shape-arbitraries.js";
import type { BadFrame, FramingModel } from "../framing.js";
import { mutatePayload, mutateStructure } from "../mutations.js";

type AnyFrame = FrameInput<object>;

function payloadOf(frame: AnyFrame): Uint8Array {
  const p = frame.payload;
  return typeof p === "string" ? new TextEncoder().encode(p) : p;
}

/**
 * A model of `shape` for a target whose limit is `maxLength` (default: the shape's own). Decoded
 * frames are re-encodable: the decoder's frames carry the same named fields the encoder takes.
 */
export function shapeModel(shape: Shape, maxLength = shape.maxLength): FramingModel<AnyFrame> {
  const target = maxLength === shape.maxLength ? shape : shape.withLimit(maxLength);
  const small = Math.min(maxLength, 64);
  const kinds = malformedKinds(target);
  const fixed = target.lengthKind === LEN_NONE; // fixed-size payloads
  return {
    name: "length-prefixed",
    description: `length-prefixed (shape ${target.name}, max ${maxLength} bytes)`,
    maxLength,
    decoder: (sink: DecoderSink<AnyFrame>, limit = maxLength) =>
      new ShapeDecoder<object>(sink, limit === maxLength ? target : target.withLimit(limit)),
    encode: (frame) => encodeFrame(target, frame),
    frame: () => shapedFrame(target, { maxPayload: small }),
    mutate: (frame) =>
      fixed
        ? fc.constant(frame)
        : mutatePayload(payloadOf(frame), maxLength).map((payload) => ({ ...frame, payload })),
    malformed: () =>
      kinds.length === 0
        ? fc.constant<BadFrame>({ bytes: new Uint8Array(0), kind: "none" })
        : malformedShapedStream(target, { maxFrames: 2, maxPayload: small }).map(
            (m): BadFrame => ({ bytes: m.bytes, kind: m.kind }),
          ),
    mutateFraming: (frame) => {
      const encoded = encodeFrame(target, frame);
      const head = encoded.length - payloadOf(frame).length - target.trailerBytes;
      const structural = Array.from({ length: Math.max(0, head) }, (_, i) => i);
      const cut = fc
        .integer({ min: 0, max: Math.max(0, encoded.length - 1) })
        .map((n): BadFrame => ({ bytes: concat([encoded.subarray(0, n)]), kind: "truncated" }));
      return mutateStructure(encoded, structural, cut);
    },
  };
}
