/**
 * The one performance trick of shaped framing, explained once: frame objects are built by a
 * function generated per shape, whose body is an object literal with the shape's field names
 * (`{ "type": c[s], "payload": payload }`).
 *
 * Why: a frame is allocated per message, and its construction is most of the per-frame cost once
 * the header is parsed. An object literal is allocated from a boilerplate with its final hidden
 * class in one step; adding the fields one by one with `o[name] = value` (a keyed store and a
 * hidden-class transition per field) put a PostgreSQL-style shape at 0.3–0.5× a hand-written loop
 * (bench/receivers/shapes.ts, 64-byte frames in 64 KiB chunks). The generated literal, made once
 * per shape (see {@link builderFor}) so that V8 inlines it into the decoder's loop, measured
 * 1.0× the hand loop in the same run.
 *
 * Safety: the generated source contains only integers computed here and field names quoted with
 * `JSON.stringify` (names are also checked against an identifier pattern when the shape is
 * defined); no peer byte ever reaches it. Where code generation is not allowed (a CSP without
 * `unsafe-eval`), `new Function` throws and the plain builder below is used: same frames, slower.
 */
import { type PlacedField, readField, type Shape } from "./shape.js";

/** Builds the delivered frame from the header at `c[s..s+h)`, the payload view and the trailer. */
export type Builder = (
  c: Uint8Array,
  s: number,
  h: number,
  payload: Uint8Array,
  trailer: number,
) => object;

/** Source of the expression reading `f` from `c` at `base` (a variable name). */
function fieldSource(f: PlacedField, base: string): string {
  const at = (k: number) => `c[${base} + ${f.at + k}]`;
  if (f.kind === "bytes")
    return `new Uint8Array(c.buffer, c.byteOffset + ${base} + ${f.at}, ${f.size})`;
  let v: string;
  const order = f.littleEndian ? [...Array(f.size).keys()].reverse() : [...Array(f.size).keys()];
  if (f.size === 1) {
    v = at(0);
  } else if (f.size === 4) {
    v = `((${at(order[0]!)} << 24) | (${at(order[1]!)} << 16) | (${at(order[2]!)} << 8) | ${at(order[3]!)}) >>> 0`;
  } else {
    v = order.map((k, i) => `(${at(k)} << ${8 * (f.size - 1 - i)})`).join(" | ");
  }
  if (f.kind === "uint" || f.bits === 32) return v;
  return `((${v}) >>> ${f.shift}) & ${2 ** f.bits - 1}`;
}

/** The builder of every shape without fields or trailer. */
const bare: Builder = (_c, _s, _h, payload) => ({ payload });

/** @internal The plain builder: the same frames, fields added one by one. */
export function plainBuilder(shape: Shape): Builder {
  const before = shape.beforeFields.filter((f) => f.name !== null);
  const after = shape.afterFields.filter((f) => f.name !== null);
  const afterBytes = shape.afterBytes;
  const trailer = shape.trailer?.name ?? null;
  return (c, s, h, payload, tv) => {
    const o: Record<string, unknown> = {};
    for (const f of before) o[f.name!] = readField(c, s, f);
    const a = s + h - afterBytes;
    for (const f of after) o[f.name!] = readField(c, a, f);
    if (trailer !== null) o[trailer] = tv;
    o["payload"] = payload;
    return o;
  };
}

/**
 * One builder per shape, made once: every decoder of a shape then calls the same function, which
 * V8 inlines into the decoder's loop. (A builder per decoder would give the call site a new target
 * for every connection: "wrong call target" deopts and no inlining.)
 */
const BUILDERS = new WeakMap<Shape, Builder>();

/** The frame builder of `shape` (see the file comment). */
export function builderFor(shape: Shape): Builder {
  let b = BUILDERS.get(shape);
  if (b === undefined) {
    b = makeBuilder(shape);
    BUILDERS.set(shape, b);
  }
  return b;
}

/** A builder for one shape. */
function makeBuilder(shape: Shape): Builder {
  if (shape.bare) return bare;
  const props: string[] = [];
  for (const f of shape.beforeFields) {
    if (f.name !== null) props.push(`${JSON.stringify(f.name)}: ${fieldSource(f, "s")}`);
  }
  for (const f of shape.afterFields) {
    if (f.name !== null) props.push(`${JSON.stringify(f.name)}: ${fieldSource(f, "a")}`);
  }
  if (shape.trailer !== null) props.push(`${JSON.stringify(shape.trailer.name)}: tv`);
  props.push(`"payload": payload`);
  const body =
    shape.afterFields.length === 0
      ? `"use strict";\nreturn { ${props.join(", ")} };`
      : `"use strict";\nconst a = s + h - ${shape.afterBytes};\nreturn { ${props.join(", ")} };`;
  try {
    return new Function("c", "s", "h", "payload", "tv", body) as Builder;
  } catch {
    return plainBuilder(shape);
  }
}
