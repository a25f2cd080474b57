/**
 * weft's V8 and Node workarounds, in one place with one explanation each (as ws keeps its
 * `buffer-util` apart). Everything here has a plain fallback and changes only speed, never
 * behaviour; nothing runs at module load.
 *
 * ## 1. Shape keepers ({@link keepShape}, {@link keepShapesOnce})
 *
 * V8 gives objects hidden classes ("maps") and optimised code checks them. It holds maps only
 * weakly: once every instance of a class has died (a server between connections, a benchmark
 * between runs), a GC frees them, every optimised function that checks them is discarded ("weak
 * objects" in `--trace-deopt`) and the next instance gets new maps and starts over in unoptimised
 * code. So each hot class keeps a few instances alive for the life of the process, made and fed a
 * partial frame (so that the fields that hold partial state get set and their representations —
 * small integer, number, object — are settled) without delivering anything (a delivery would add
 * the keeper's sink to the call sites' type feedback).
 *
 * The keepers are made lazily, by {@link keepShapesOnce} at the first construction of the class,
 * not at module load: the package declares `"sideEffects": false`, and nothing may depend on a
 * module's top-level code having run. A module-level `const` read by no function would not be
 * enough either: V8 keeps such a variable on the module body's stack, and it dies once the module
 * has loaded; the keepers live in {@link kept}, which this module's functions reference.
 *
 * Related: decoders call their sinks through prototype methods of one small per-owner object, never
 * through a per-connection closure. V8 inlines the target of a hot call into the caller's
 * optimised code as a constant; a closure per connection would make every closed connection
 * discard that code (the same "weak objects" deoptimisation).
 *
 * ## 2. Module-level aliases of imported bindings
 *
 * Under a CommonJS transform (tsx, the CJS build made by tsup, other bundlers) an imported binding
 * is compiled to a property read on the module object — a getter call — at every use. Hot code
 * therefore copies an imported function or class it calls per frame into a module-level `const`
 * once (`const encode = importedEncode;`) and calls the alias. ESM needs none of it; it is harmless
 * there.
 *
 * ## 3. `Buffer.prototype.utf8Slice`
 *
 * Node's native, non-validating UTF-8 slicer (undocumented, present in every Node release since
 * 0.x) decodes `bytes[start, end)` of any `Uint8Array` without creating the `subarray` view and
 * without the `TextDecoder` call overhead. {@link utf8Slice} uses it when present and falls back to
 * a `TextDecoder` otherwise. It does not validate: invalid sequences become U+FFFD, so callers that
 * must reject invalid UTF-8 check for U+FFFD in the result and then validate (see
 * `services/line-front-end.ts`).
 */
import { Buffer } from "node:buffer";

/** The objects kept alive for the life of the process (see section 1 above). */
const kept: object[] = [];
/** The classes (or other keys) whose keepers were made. */
const done = new WeakSet<object>();

/** Keeps `value` alive for the life of the process, so that V8 keeps the maps of its class. */
export function keepShape(value: object): void {
  kept.push(value);
}

/**
 * Runs `make` (which calls {@link keepShape}) the first time it is called for `key` (usually the
 * class being constructed), and never again. `key` is marked before `make` runs, so `make` may
 * construct instances of that class.
 */
export function keepShapesOnce(key: object, make: () => void): void {
  if (done.has(key)) return;
  done.add(key);
  make();
}

type Slicer = (this: Uint8Array, start: number, end: number) => string;

const native: unknown = Reflect.get(Buffer.prototype, "utf8Slice");
const nativeSlice = typeof native === "function" ? (native as Slicer) : undefined;
const lenient = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * `bytes[start, end)` decoded as UTF-8 WITHOUT validation (invalid sequences become U+FFFD, a BOM
 * is kept). Node's native slicer when present, else a `TextDecoder` (see section 3 above).
 */
export const utf8Slice: (bytes: Uint8Array, start: number, end: number) => string =
  nativeSlice !== undefined
    ? (bytes, start, end) => nativeSlice.call(bytes, start, end)
    : (bytes, start, end) => lenient.decode(bytes.subarray(start, end));
