/**
 * The compound argument types: {@link ListOf} (Twisted's `ListOf`) and {@link AmpList} (Twisted's
 * `AmpList`), whose elements are boxes read by the one box decoder.
 */
import { concatBytes } from "../framing/bytes.js";
import type { Argument, ArgumentSchema, SchemaValues } from "./arguments.js";
import { type AmpBox, encodeBox } from "./box.js";
import { BoxDecoder, type BoxView, type BoxViewSink } from "./box-decoder.js";
import { ArgumentError } from "./errors.js";
import { describe, wrap } from "./internal.js";

/**
 * Each element of `values` encoded by `encode`, for the list type `name`: refuses a non-array,
 * wraps an element's error with its index, and calls `check` on each encoding in order.
 */
function encodeElements<T>(
  name: string,
  values: readonly T[],
  encode: (value: T) => Uint8Array,
  check?: (bytes: Uint8Array, index: number) => void,
): Uint8Array[] {
  if (!Array.isArray(values))
    throw new ArgumentError(name, `expected an array, got ${describe(values)}.`);
  const parts: Uint8Array[] = [];
  for (let i = 0; i < values.length; i++) {
    let b: Uint8Array;
    try {
      b = encode(values[i] as T);
    } catch (e) {
      throw wrap(name, e, `element ${i}`);
    }
    check?.(b, i);
    parts.push(b);
  }
  return parts;
}

/**
 * A list of values of one simple type (Twisted's `ListOf`): each element as a uint16 BE length and
 * its encoding; `[]` is the empty value. A trailing partial element is refused with
 * {@link ArgumentError} (Twisted silently drops it).
 */
export function ListOf<T>(element: Argument<T>): Argument<T[]> {
  const name = `ListOf(${element.name})`;
  return {
    optional: false,
    name,
    encode(values: T[]): Uint8Array {
      let total = 0;
      const parts = encodeElements(
        name,
        values,
        (v: T) => element.encode(v),
        (b, i) => {
          if (b.length > 0xffff)
            throw new ArgumentError(name, `element ${i} is longer than 65535 bytes.`);
          total += 2 + b.length;
        },
      );
      const out = new Uint8Array(total);
      let pos = 0;
      for (const b of parts) {
        out[pos] = b.length >>> 8;
        out[pos + 1] = b.length & 0xff;
        out.set(b, pos + 2);
        pos += 2 + b.length;
      }
      return out;
    },
    decode(bytes: Uint8Array): T[] {
      const out: T[] = [];
      let pos = 0;
      const n = bytes.length;
      while (pos < n) {
        if (pos + 2 > n) throw new ArgumentError(name, `truncated element length at byte ${pos}.`);
        const len = (bytes[pos]! << 8) | bytes[pos + 1]!;
        const start = pos + 2;
        if (start + len > n) {
          throw new ArgumentError(
            name,
            `element ${out.length} needs ${len} bytes, ${n - start} left.`,
          );
        }
        try {
          out.push(element.decode(bytes.subarray(start, start + len)));
        } catch (e) {
          throw wrap(name, e, `element ${out.length}`);
        }
        pos = start + len;
      }
      return out;
    },
  };
}

/** Encodes one object of `schema` as a box (missing optional keys omitted). */
function encodeSchemaBox<S extends ArgumentSchema>(
  typeName: string,
  schema: S,
  value: SchemaValues<S>,
): AmpBox {
  const box: AmpBox = new Map();
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(schema)) {
    const arg = schema[key]!;
    const v = obj[key];
    if (v === undefined) {
      if (arg.optional) continue;
      throw new ArgumentError(typeName, `missing required key ${JSON.stringify(key)}.`);
    }
    try {
      box.set(key, arg.encode(v));
    } catch (e) {
      throw wrap(typeName, e, `key ${JSON.stringify(key)}`);
    }
  }
  return box;
}

/** Decodes one box with `schema` (extra keys ignored; absent optional keys left undefined). */
function decodeSchemaBox<S extends ArgumentSchema>(
  typeName: string,
  schema: S,
  box: AmpBox,
): SchemaValues<S> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(schema)) {
    const arg = schema[key]!;
    const bytes = box.get(key);
    if (bytes === undefined) {
      if (arg.optional) continue;
      throw new ArgumentError(typeName, `missing required key ${JSON.stringify(key)}.`);
    }
    try {
      out[key] = arg.decode(bytes);
    } catch (e) {
      throw wrap(typeName, e, `key ${JSON.stringify(key)}`);
    }
  }
  return out as SchemaValues<S>;
}

/**
 * Collects the elements of an AmpList value as the decoder reads their boxes (a class rather than
 * closures made per call: see `box-decoder.ts`'s MapSink).
 */
class ElementSink<S extends ArgumentSchema> implements BoxViewSink {
  readonly out: Array<SchemaValues<S>> = [];
  failure: Error | null = null;
  readonly #name: string;
  readonly #schema: S;
  constructor(name: string, schema: S) {
    this.#name = name;
    this.#schema = schema;
  }
  onBox(box: BoxView): void {
    if (this.failure !== null) return;
    try {
      this.out.push(decodeSchemaBox(this.#name, this.#schema, box.toMap()));
    } catch (e) {
      this.failure = e instanceof Error ? e : new ArgumentError(this.#name, String(e));
    }
  }
  onError(e: Error): void {
    this.failure ??= wrap(this.#name, e, `element ${this.out.length}`);
  }
}

/**
 * A list of structured values (Twisted's `AmpList`): each element encoded as a whole box (keys
 * sorted, `00 00`-terminated) from `schema`, concatenated; `[]` is the empty value. Nesting is
 * allowed. Optional schema keys are omitted when undefined; a truncated box is refused.
 */
export function AmpList<S extends ArgumentSchema>(schema: S): Argument<Array<SchemaValues<S>>> {
  const name = `AmpList(${Object.entries(schema)
    .map(([k, a]) => `${k}: ${a.name}`)
    .join(", ")})`;
  return {
    optional: false,
    name,
    encode(values: Array<SchemaValues<S>>): Uint8Array {
      return concatBytes(
        encodeElements(name, values, (v: SchemaValues<S>) =>
          encodeBox(encodeSchemaBox(name, schema, v)),
        ),
      );
    },
    decode(bytes: Uint8Array): Array<SchemaValues<S>> {
      const sink = new ElementSink(name, schema);
      const decoder = new BoxDecoder(sink);
      decoder.feed(bytes);
      decoder.end();
      if (sink.failure !== null) throw sink.failure;
      return sink.out;
    },
  };
}

/**
 * The same type, optional: in a command or AmpList schema its key is omitted when the value is
 * `undefined`, and an absent key decodes to `undefined`.
 */
