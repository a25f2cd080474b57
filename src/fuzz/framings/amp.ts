/**
 * The AMP framing model (boxes of key/value pairs, 2-byte lengths, an empty key ending each box),
 * on weft's BoxDecoder. Structure-aware mutations change a box's values (or add a key) and
 * re-encode it, so a probe such as a `Sum` call becomes many valid calls with odd arguments.
 */
import fc from "fast-check";
import type { AmpBox } from "../../protocols/amp/box.js";
import { BoxDecoder } from "../../protocols/amp/box-decoder.js";
import type { DecoderSink } from "../../protocols/framing/decoder.js";
import { ampBox, malformedAmpBoxes, rawBoxBytes } from "../../testing/amp-arbitraries.js";
import { concat } from "../../testing/bytes.js";
import type { BadFrame, FramingModel } from "../framing.js";
import { mutatePayload, mutateStructure } from "../mutations.js";

/** Offsets of the length fields (key and value lengths, terminator) of a box's wire bytes. */
function lengthOffsets(box: AmpBox): number[] {
  const out: number[] = [];
  let at = 0;
  for (const [k, v] of box) {
    out.push(at, at + 1);
    at += 2 + k.length;
    out.push(at, at + 1);
    at += 2 + v.length;
  }
  out.push(at, at + 1);
  return out;
}

/** An AMP model; `maxLength` is the largest value generated (AMP's values: up to 65535 bytes). */
export function ampModel(maxLength = 65535): FramingModel<AmpBox> {
  const maxValue = Math.min(maxLength, 65535);
  const small = Math.min(maxValue, 64);
  return {
    name: "amp",
    description: `amp (values up to ${maxValue} bytes)`,
    maxLength: maxValue,
    decoder: (sink: DecoderSink<AmpBox>) => new BoxDecoder(sink),
    encode: (box) => rawBoxBytes(box),
    frame: () => ampBox({ maxValueLength: small, maxKeys: 4 }),
    mutate: (box) => {
      const keys = [...box.keys()];
      const changeValue =
        keys.length === 0
          ? null
          : fc.tuple(fc.constantFrom(...keys), fc.nat()).chain(([key]) =>
              mutatePayload(box.get(key) ?? new Uint8Array(0), maxValue).map((v) => {
                const out = new Map(box);
                out.set(key, v);
                return out;
              }),
            );
      const addKey = fc
        .tuple(fc.stringMatching(/^[a-z_]{1,8}$/), fc.uint8Array({ maxLength: small }))
        .map(([k, v]) => new Map(box).set(k, v));
      return changeValue === null
        ? addKey
        : fc.oneof({ weight: 4, arbitrary: changeValue }, addKey);
    },
    malformed: () =>
      malformedAmpBoxes({ maxBoxes: 2, maxValueLength: small }).map(
        (c): BadFrame => ({ bytes: c.bytes, kind: c.kind }),
      ),
    mutateFraming: (box) => {
      const encoded = rawBoxBytes(box);
      const offsets = lengthOffsets(box);
      const lies = fc
        .tuple(fc.constantFrom(...offsets), fc.integer({ min: 1, max: 255 }))
        .map(([at, v]): BadFrame => {
          const out = encoded.slice();
          out[at] = ((out[at] as number) + v) & 0xff;
          return { bytes: concat([out]), kind: "length lie" };
        });
      return mutateStructure(encoded, offsets, lies);
    },
  };
}
