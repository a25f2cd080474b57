/**
 * The length-prefixed framing model (`--prefix 1|2|4|8|varint`, `--endian`), on weft's
 * LengthPrefixedDecoder: the grammar of `Int8/16/32StringReceiver` and `LengthPrefixedReceiver`.
 */
import fc from "fast-check";
import type { DecoderSink } from "../../protocols/framing/decoder.js";
import {
  type LengthPrefix,
  LengthPrefixedDecoder,
} from "../../protocols/receivers/length-prefixed/decoder.js";
import { encodeLengthPrefix } from "../../protocols/receivers/length-prefixed/encoder.js";
import { concat } from "../../testing/bytes.js";
import type { BadFrame, FramingModel } from "../framing.js";
import { mutatePayload, mutateStructure } from "../mutations.js";

/** Largest length a prefix can announce. */
function capacity(prefix: LengthPrefix): number {
  return prefix === "varint" || prefix === 8 ? Number.MAX_SAFE_INTEGER : 2 ** (8 * prefix) - 1;
}

/** A length-prefixed model for a target whose limit is `maxLength` payload bytes (default 99999). */
export function lengthPrefixedModel(
  prefix: LengthPrefix = 4,
  endian: "big" | "little" = "big",
  maxLength = 99999,
): FramingModel<Uint8Array> {
  const cap = capacity(prefix);
  const small = Math.min(maxLength, cap, 64);
  const header = (n: number) => encodeLengthPrefix(n, { prefix, endian });
  const encode = (p: Uint8Array) => concat([header(p.length), p]);
  const headerOf = (p: Uint8Array) => header(p.length).length;
  const kinds: fc.Arbitrary<BadFrame>[] = [];
  if (maxLength < cap) {
    kinds.push(
      fc.integer({ min: maxLength + 1, max: Math.min(cap, maxLength * 10 + 9) }).map((n) => ({
        bytes: header(n),
        kind: "length over the limit",
      })),
    );
    const absurd = [2 ** 32 + 1, 2 ** 32 - 1, 2 ** 31, 2 ** 30, 2 ** 28, 2 ** 53 - 1].filter(
      (n) => n > maxLength && n <= cap,
    );
    if (absurd.length > 0) {
      kinds.push(
        fc
          .constantFrom(...absurd)
          .map((n) => ({ bytes: header(n), kind: "absurd announced length" })),
      );
    }
  }
  if (prefix === "varint") {
    kinds.push(
      fc.constantFrom(new Uint8Array(11).fill(0x80), Uint8Array.of(0x80, 0x00)).map((b) => ({
        bytes: b,
        kind: "overlong varint",
      })),
    );
  }
  kinds.push(
    fc
      .uint8Array({ minLength: 1, maxLength: small })
      .chain((p) => {
        const whole = encode(p);
        return fc.integer({ min: 1, max: whole.length - 1 }).map((cut) => whole.subarray(0, cut));
      })
      .map((b) => ({ bytes: b, kind: "truncated" })),
  );
  const before = fc.array(fc.uint8Array({ maxLength: small }), { maxLength: 2 });
  return {
    name: "length-prefixed",
    description: `length-prefixed (${prefix === "varint" ? "varint" : `${prefix}-byte ${endian}-endian`} prefix, max ${maxLength} bytes)`,
    maxLength,
    decoder: (sink: DecoderSink<Uint8Array>, limit = maxLength) =>
      new LengthPrefixedDecoder(sink, { prefix, endian, maxLength: Math.min(limit, 2 ** 53 - 1) }),
    encode,
    frame: () => fc.uint8Array({ maxLength: small }),
    mutate: (p) => mutatePayload(p, Math.min(maxLength, cap)),
    malformed: () =>
      fc.tuple(before, fc.oneof(...kinds)).map(([frames, bad]) => ({
        bytes: concat([...frames.map(encode), bad.bytes]),
        kind: bad.kind,
      })),
    mutateFraming: (p) => {
      const h = headerOf(p);
      const structural = Array.from({ length: h }, (_, i) => i);
      const lies = fc
        .oneof(
          fc.integer({ min: -3, max: 3 }).filter((d) => d !== 0),
          fc.constantFrom(maxLength + 1, 2 ** 32 + 1),
        )
        .map((delta): BadFrame => {
          const n = Math.min(cap, Math.abs(delta) > 3 ? delta : Math.max(0, p.length + delta));
          return { bytes: concat([header(n), p]), kind: "length lie" };
        });
      return mutateStructure(encode(p), structural, lies);
    },
  };
}
