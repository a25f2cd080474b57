/** The line framing model (lines ended by a delimiter, `\r\n` by default), on weft's LineDecoder. */
import fc from "fast-check";
import type { DecoderSink } from "../../protocols/framing/decoder.js";
import { LineDecoder } from "../../protocols/receivers/lines/decoder.js";
import { concat } from "../../testing/bytes.js";
import type { BadFrame, FramingModel } from "../framing.js";
import { mutatePayload, mutateStructure } from "../mutations.js";

/** Whether `line` (content, without delimiter) is a valid line for `delim`: no delimiter inside it. */
function isLine(line: Uint8Array, delim: Uint8Array): boolean {
  return Buffer.from(concat([line, delim])).indexOf(delim) === line.length;
}

/**
 * A line model for a target whose longest line is `maxLength` bytes (Twisted's `LineReceiver`
 * default 16384), lines ended by `delimiter`.
 *
 * Malformed, for lines, means too long: a terminated line over the limit, or `maxLength` +
 * delimiter bytes with no delimiter (no continuation can make that a line).
 */
export function lineModel(maxLength = 16384, delimiter: Uint8Array = Uint8Array.of(13, 10)) {
  const delim = delimiter;
  const small = Math.min(maxLength, 64);
  const filler = fc.integer({ min: 0x20, max: 0x7e }); // printable: never a delimiter byte
  const frame = (): fc.Arbitrary<Uint8Array> =>
    fc.uint8Array({ maxLength: small }).filter((l) => isLine(l, delim));
  const model: FramingModel<Uint8Array> = {
    name: "line",
    description: `line (max ${maxLength} bytes, delimiter ${JSON.stringify(Buffer.from(delim).toString("latin1"))})`,
    maxLength,
    decoder: (sink: DecoderSink<Uint8Array>, limit = maxLength) =>
      new LineDecoder(sink, { delimiter: delim, maxLength: limit }),
    encode: (line) => concat([line, delim]),
    frame,
    mutate: (line) =>
      mutatePayload(line, maxLength).map((l) => {
        // Keep it a line: cut it before the first delimiter its mutation created.
        const at = Buffer.from(l).indexOf(delim);
        return at < 0 ? l : l.subarray(0, at);
      }),
    malformed: () =>
      fc.oneof(
        fc.tuple(fc.integer({ min: 1, max: 64 }), filler, fc.array(frame(), { maxLength: 2 })).map(
          ([extra, b, before]): BadFrame => ({
            bytes: concat([
              ...before.map((l) => concat([l, delim])),
              new Uint8Array(maxLength + extra).fill(b),
              delim,
            ]),
            kind: "line over the limit",
          }),
        ),
        fc.tuple(fc.integer({ min: 0, max: 64 }), filler).map(
          ([extra, b]): BadFrame => ({
            bytes: new Uint8Array(maxLength + delim.length + extra).fill(b),
            kind: "unterminated line over the limit",
          }),
        ),
        frame().map(
          (l): BadFrame => ({
            bytes: concat([l, delim.subarray(0, delim.length - 1)]),
            kind: "truncated",
          }),
        ),
      ),
    mutateFraming: (line) => {
      const encoded = concat([line, delim]);
      const structural = Array.from(delim, (_, i) => line.length + i);
      return mutateStructure(encoded, structural, null);
    },
  };
  return model;
}
