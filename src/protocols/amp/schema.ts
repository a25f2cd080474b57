/**
 * Compiled command schemas (internal to the AMP module): per schema, its entries in iteration-friendly
 * form and the key order of the boxes built from it, computed once. The AMP protocol encodes and
 * decodes typed commands through them, without a Map per box:
 * - {@link encodeValues} turns a command's structured values into the values of its box (written by
 *   the output batch through `box.ts`'s one pair writer, in a {@link Layout}'s key order);
 * - {@link decodeValues} reads them back from a decoded {@link BoxView}.
 * `command.ts`'s `objectsToBox`/`boxToObjects` are the same through a Map (big values, raw boxes);
 * a differential property test (test/protocols/amp/protocol-fast.test.ts) pins the two together.
 */
import type { Argument } from "./arguments.js";
import { Integer } from "./arguments.js";
import { keyHeader, MAX_VALUE_LENGTH, type OutValue } from "./box.js";
import type { BoxView } from "./box-decoder.js";
import { InvalidSignature, TooLong } from "./errors.js";
import { decodeFailure, encodeFailure, smallIntegerAt } from "./internal.js";

// Module-level aliases of the imports used per call: under a CommonJS transform (tsx, bundlers) an
// imported binding is a getter call on every use.
const INTEGER = Integer;
const smallInteger = smallIntegerAt;

/** One argument of a compiled schema. */
export interface CompiledEntry {
  readonly name: string;
  readonly arg: Argument<unknown>;
  /** A big value (`bigValue(...)`): split over several keys. */
  readonly big: boolean;
  /** The name's latin1 bytes (to find the key in received bytes without making strings). */
  readonly key: Uint8Array;
}

/** A schema in iteration-friendly form. */
export interface CompiledSchema {
  readonly entries: readonly CompiledEntry[];
  /** True when some key is not 1..255 latin1 bytes: always use the general (checking) path. */
  readonly unusual: boolean;
  /** True when some entry is a big value (`bigValue(...)`): receive it through the general path. */
  readonly anyBig: boolean;
  /**
   * Box layouts by their extra keys (e.g. `_answer`; `_ask` + `_command`), built on first use and
   * keyed by the identity of the (constant) extras array.
   */
  readonly layouts: Map<readonly string[], Layout>;
}

/**
 * The key order of a box made of a schema's entries plus some extra keys: indexes into `entries`,
 * with `-1 - k` standing for extra key `k`, in bytewise key order (Twisted's serializer order).
 */
export interface Layout {
  readonly order: readonly number[];
  /** Key headers (`00 klen key`) in `order` order. */
  readonly headers: readonly Uint8Array[];
  /** Bytes of a box with this layout besides the values: headers, value lengths, terminator. */
  readonly fixed: number;
}

const cache = new WeakMap<object, CompiledSchema>();

/** The compiled form of `schema` (cached per schema object). */
export function compileSchema(schema: {
  readonly [name: string]: Argument<unknown>;
}): CompiledSchema {
  let c = cache.get(schema);
  if (c !== undefined) return c;
  const entries: CompiledEntry[] = [];
  let unusual = false;
  let anyBig = false;
  for (const name in schema) {
    const arg = schema[name] as Argument<unknown>;
    const big = "big" in arg && arg.big === true;
    const key = new Uint8Array(name.length);
    for (let i = 0; i < name.length; i++) key[i] = name.charCodeAt(i) & 0xff;
    entries.push({ name, arg, big, key });
    if (big) anyBig = true;
    if (name.length === 0 || name.length > 255 || /[^\x00-\xff]/.test(name)) unusual = true;
  }
  c = { entries, unusual, anyBig, layouts: new Map() };
  cache.set(schema, c);
  return c;
}

/**
 * The layout of `c`'s entries plus `extras` (keys that are not entries), cached per extras array:
 * pass the same constant array every time.
 */
export function layoutOf(c: CompiledSchema, extras: readonly string[]): Layout {
  let l = c.layouts.get(extras);
  if (l !== undefined) return l;
  const order = c.entries.map((_, i) => i);
  for (let k = 0; k < extras.length; k++) order.push(-1 - k);
  const keyOf = (i: number) =>
    i < 0 ? (extras[-1 - i] as string) : (c.entries[i] as CompiledEntry).name;
  // Latin1 strings compare by code unit = bytewise, the order Twisted's serializer uses.
  order.sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
  const headers = order.map((i) => keyHeader(keyOf(i)));
  let fixed = 2;
  for (const h of headers) fixed += h.length + 2;
  l = { order, headers, fixed };
  c.layouts.set(extras, l);
  return l;
}

/**
 * `e`'s type's encoding of `v`; a failure is the type's own AmpError or an ArgumentError naming the
 * entry (the same for the compiled path and `objectsToBox`).
 */
export function encodeEntry(e: CompiledEntry, v: unknown): Uint8Array {
  try {
    return e.arg.encode(v);
  } catch (err) {
    throw encodeFailure(e.arg, e.name, err);
  }
}

/** Values encoded through a compiled schema (see {@link encodeValues}). */
export interface Encoded {
  /** Per entry: its encoded value, or undefined (an optional value left out). */
  values: Array<OutValue | undefined>;
  /** Total length of `values`. */
  bytes: number;
  /** The first value over 65,535 bytes (Twisted raises it later, while serializing), or null. */
  tooLong: TooLong | null;
}

/**
 * Encodes `obj` through the compiled schema `c`. Null when a value needs the big-value split (a
 * `bigValue(...)` entry, or every entry when `allBig`): the Map path (`objectsToBox`) does that.
 * Throws InvalidSignature / ArgumentError for a missing or unencodable value.
 */
export function encodeValues(
  c: CompiledSchema,
  obj: Readonly<Record<string, unknown>>,
  allBig: boolean,
): Encoded | null {
  const entries = c.entries;
  const values: Array<OutValue | undefined> = new Array(entries.length);
  let tooLong: TooLong | null = null;
  let total = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as CompiledEntry;
    const v = obj[e.name];
    if (v === undefined) {
      if (e.arg.optional) continue;
      throw new InvalidSignature(`missing required value for ${e.name}`);
    }
    if (e.arg === INTEGER && typeof v === "number" && Number.isSafeInteger(v)) {
      // Integer.encode's text, without its bytes (written straight into the output).
      const text = String(v);
      values[i] = text;
      total += text.length;
      continue;
    }
    const bytes = encodeEntry(e, v);
    if (bytes.length > MAX_VALUE_LENGTH) {
      if (e.big || allBig) return null;
      tooLong ??= new TooLong(false, true, bytes, e.name); // as encodeBox reports it
    }
    values[i] = bytes;
    total += bytes.length;
  }
  return { values, bytes: total, tooLong };
}

/**
 * `boxToObjects` over a decoded box in place: the same values, messages and errors, for a schema
 * with no big values. `what` names a value in messages ("argument", "response key").
 */
export function decodeValues(
  view: BoxView,
  c: CompiledSchema,
  what: string,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const entries = c.entries;
  const pairs = view.pairs;
  for (let e = 0; e < entries.length; e++) {
    const { name, arg, key } = entries[e] as CompiledEntry;
    const i = view.find(key);
    if (i < 0) {
      if (arg.optional) continue;
      throw new InvalidSignature(`missing required ${what} ${name}`);
    }
    if (arg === INTEGER) {
      // Integer.decode's own fast path, read in place (no view).
      const at = i << 2;
      const v = smallInteger(view.buf, pairs[at + 2] as number, pairs[at + 3] as number);
      if (!Number.isNaN(v)) {
        out[name] = v;
        continue;
      }
    }
    try {
      out[name] = arg.decode(view.value(i));
    } catch (err) {
      throw decodeFailure(arg, name, err, what);
    }
  }
  return out;
}
