/** The netstring framing model (`<length>:<payload>,`), on weft's NetstringDecoder. */
import fc from "fast-check";
import type { DecoderSink } from "../../protocols/framing/decoder.js";
import { NetstringDecoder } from "../../protocols/receivers/netstring/decoder.js";
import { encodeNetstring } from "../../protocols/receivers/netstring/encoder.js";
import { MALFORMED_NETSTRING_KINDS, malformedNetstring } from "../../testing/arbitraries.js";
import { concat } from "../../testing/bytes.js";
import type { BadFrame, FramingModel } from "../framing.js";
import { mutatePayload, mutateStructure } from "../mutations.js";

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A netstring model for a target whose limit is `maxLength` payload bytes (Twisted's default 99999). */
export function netstringModel(maxLength = 99999): FramingModel<Uint8Array> {
  const small = Math.min(maxLength, 64);
  const absurd: fc.Arbitrary<BadFrame> = fc
    .constantFrom(
      "100000000000000000000",
      "4294967297",
      "18446744073709551617",
      "99999999999",
      "2147483647",
      "1073741824",
      "268435456",
    )
    .filter((d) => Number(d) > maxLength)
    .map((d) => ({ bytes: ascii(`${d}:`), kind: "absurd announced length" }));
  return {
    name: "netstring",
    description: `netstring (max ${maxLength} bytes)`,
    maxLength,
    decoder: (sink: DecoderSink<Uint8Array>, limit = maxLength) =>
      new NetstringDecoder(sink, { maxLength: Math.min(limit, 2 ** 53 / 10) }),
    encode: (frame) => encodeNetstring(frame),
    frame: () => fc.uint8Array({ maxLength: small }),
    mutate: (frame) => mutatePayload(frame, maxLength),
    malformed: () =>
      fc.oneof(
        ...MALFORMED_NETSTRING_KINDS.map((kind) =>
          malformedNetstring(kind, { maxLength, maxFrames: 2 }).map(
            (c): BadFrame => ({ bytes: c.bytes, kind }),
          ),
        ),
        absurd,
      ),
    mutateFraming: (frame) => {
      const digits = String(frame.length);
      const encoded = encodeNetstring(frame);
      // Length digits, the colon, the comma.
      const structural = [...Array.from(digits, (_, i) => i), digits.length, encoded.length - 1];
      const lies = fc
        .oneof(
          fc.integer({ min: -3, max: 3 }).filter((d) => d !== 0),
          fc.constantFrom(maxLength + 1, 2 ** 32 + 1, 10 ** 20),
        )
        .map((delta): BadFrame => {
          const n = Math.abs(delta) > 3 ? delta : Math.max(0, frame.length + delta);
          const head = ascii(`${n.toLocaleString("en-US", { useGrouping: false })}:`);
          return { bytes: concat([head, frame, ascii(",")]), kind: "length lie" };
        });
      return mutateStructure(encoded, structural, lies);
    },
  };
}
