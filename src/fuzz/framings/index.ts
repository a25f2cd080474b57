/** The framing models by name: what `weft fuzz <framing>` and the in-process fuzzers build on. */
import { InvalidArgumentError } from "../../core/errors.js";
import type { LengthPrefix } from "../../protocols/receivers/length-prefixed/decoder.js";
import { defineShape, type Shape } from "../../protocols/shapes/shape.js";
import type { FramingModel, FramingName } from "../framing.js";
import { ampModel } from "./amp.js";
import { lengthPrefixedModel } from "./length-prefixed.js";
import { lineModel } from "./lines.js";
import { netstringModel } from "./netstring.js";
import { shapeModel } from "./shape.js";

export { ampModel, lengthPrefixedModel, lineModel, netstringModel, shapeModel };

/** What selects and parameterises a framing model. */
export interface FramingOptions {
  /** The target's frame limit; defaults: 99999 (netstring, length-prefixed), 16384 (line), 65535 (amp). */
  maxLength?: number;
  /** Length prefix width (length-prefixed): 1, 2, 3, 4, 8 or `"varint"`. Default 4. */
  prefix?: LengthPrefix | 3;
  /** Byte order of a fixed-width prefix. Default `"big"`. */
  endian?: "big" | "little";
  /** A declared shape (length-prefixed), instead of `prefix`. */
  shape?: Shape;
  /** The line delimiter (line). Default `\r\n`. */
  delimiter?: Uint8Array;
}

/** The default frame limit of each framing (Twisted's `MAX_LENGTH`s; AMP's largest value). */
export function defaultMaxLength(name: FramingName): number {
  switch (name) {
    case "line":
      return 16384;
    case "amp":
      return 65535;
    default:
      return 99999;
  }
}

/** The model of framing `name` with `options`. */
export function framingModel(name: FramingName, options: FramingOptions = {}): FramingModel {
  const max = options.maxLength ?? defaultMaxLength(name);
  switch (name) {
    case "netstring":
      return netstringModel(max) as FramingModel;
    case "line":
      return lineModel(max, options.delimiter) as FramingModel;
    case "amp":
      return ampModel(max) as FramingModel;
    case "length-prefixed": {
      if (options.shape !== undefined) return shapeModel(options.shape, max) as FramingModel;
      const prefix = options.prefix ?? 4;
      if (prefix === 3) {
        const shape = defineShape({
          name: "3-byte prefix",
          length: { bytes: 3, endian: options.endian ?? "big" },
          lengthCounts: "payload",
          maxLength: max,
        });
        return shapeModel(shape, max) as FramingModel;
      }
      return lengthPrefixedModel(prefix, options.endian ?? "big", max) as FramingModel;
    }
    default:
      throw new InvalidArgumentError(`unknown framing ${String(name)}`);
  }
}
