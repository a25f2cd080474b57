/**
 * Unjelly: s-expressions from a peer to JavaScript values, under {@link SecurityOptions}
 * (Twisted's `_Unjellier`). Nothing is built that the options do not allow: a disallowed or
 * unregistered type is {@link InsecureJelly}; a malformed expression is {@link JellyError}. Dict
 * keys never become property names (dicts are `Map`s), and no received name is ever looked up as a
 * property, module or constructor.
 */
import type { BananaItem } from "./banana.js";
import { CopiedFailure, InsecureJelly, JellyError } from "./errors.js";
import { COPYABLE_FAILURE, type SecurityOptions } from "./security.js";
import { asTuple, FrozenSet, PbFloat, Unpersistable } from "./values.js";

/**
 * The broker side of unjellying (the `invoker` Twisted's `_Unjellier` is given): what `remote` and
 * `local` expressions become. A {@link Broker} is one; without one ({@link unjelly} with no
 * invoker), a received reference is {@link InsecureJelly}.
 */
export interface UnjellyInvoker {
  /** A reference to the peer's object `luid` (counted: released when collected). */
  remoteReference(luid: number | string): unknown;
  /** This side's object `luid`, or null when there is none. */
  localObjectForID(luid: number | string): unknown;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/** Bytes (or a vocabulary word) as text: ASCII fast, UTF-8 strict. */
export function bytesToText(b: Uint8Array | string): string {
  if (typeof b === "string") return b;
  if (b.length < 64) {
    for (let i = 0; i < b.length; i++) if ((b[i] as number) >= 0x80) return utf8.decode(b);
    return String.fromCharCode(...b);
  }
  return utf8.decode(b);
}

/** Python `repr()` of a type name as Twisted's InsecureJelly message shows it: `b'name'`. */
function typeRepr(name: string): string {
  return `b'${name.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

/**
 * One unjelly pass (Twisted's `_Unjellier`), per received expression: holds the `reference` ids
 * met so far, so `dereference` and cycles resolve within that expression only.
 */
export class Unjellier {
  readonly #security: SecurityOptions;
  readonly #invoker: UnjellyInvoker | null;
  /** Reference ids seen so far (made on the first `reference`: most expressions have none). */
  #refs: Map<number, unknown> | null = null;
  /** The id of a `reference` whose value is being built (its container registers itself). */
  #pendingRef: number | undefined = undefined;

  constructor(security: SecurityOptions, invoker: UnjellyInvoker | null = null) {
    this.#security = security;
    this.#invoker = invoker;
  }

  /**
   * The value `x` (a decoded banana expression) stands for: numbers, bigints and {@link PbFloat}s
   * as they are, byte strings as fresh `Uint8Array` copies, and lists by their type name (see
   * `values.ts` for the mapping). Throws {@link InsecureJelly} for a type the security options do
   * not allow or a class not registered, and {@link JellyError} for a malformed expression.
   */
  unjelly(x: BananaItem): unknown {
    if (typeof x === "number" || typeof x === "bigint" || x instanceof PbFloat) return x;
    if (x instanceof Uint8Array) return x.slice();
    if (typeof x === "string") return encoder.encode(x);
    const ref = this.#pendingRef;
    this.#pendingRef = undefined;
    const head = x[0];
    if (head === undefined || !(typeof head === "string" || head instanceof Uint8Array)) {
      throw new JellyError("A jelly list must start with a type name");
    }
    let tag: string;
    try {
      tag = bytesToText(head);
    } catch {
      throw new InsecureJelly("A type name that is not UTF-8");
    }
    if (!this.#security.isTypeAllowed(tag)) throw new InsecureJelly(typeRepr(tag));
    switch (tag) {
      case "None":
        return null;
      case "unicode":
        return this.#text(x);
      case "boolean": {
        const v = x[1];
        const t = v === undefined || Array.isArray(v) || !isBytes(v) ? "" : bytesToText(v);
        if (x.length !== 2 || (t !== "true" && t !== "false")) {
          throw new JellyError("A boolean must be true or false");
        }
        return t === "true";
      }
      case "list":
      case "tuple": {
        const out: unknown[] = tag === "tuple" ? asTuple([]) : [];
        this.#register(ref, out);
        for (let i = 1; i < x.length; i++) out.push(this.unjelly(x[i] as BananaItem));
        return out;
      }
      case "set":
      case "frozenset": {
        const out = tag === "set" ? new Set<unknown>() : new FrozenSet<unknown>();
        this.#register(ref, out);
        for (let i = 1; i < x.length; i++) out.add(this.unjelly(x[i] as BananaItem));
        return out;
      }
      case "dictionary": {
        const out = new Map<unknown, unknown>();
        this.#register(ref, out);
        for (let i = 1; i < x.length; i++) {
          const pair = x[i];
          if (!Array.isArray(pair) || pair.length !== 2) {
            throw new JellyError("A dictionary entry must be a [key, value] pair");
          }
          const k = this.unjelly(pair[0] as BananaItem);
          out.set(k, this.unjelly(pair[1] as BananaItem));
        }
        return out;
      }
      case "reference":
        return this.#reference(x);
      case "dereference": {
        const id = x[1];
        if (x.length !== 2 || typeof id !== "number" || this.#refs?.has(id) !== true) {
          throw new JellyError("A dereference to an unknown reference id");
        }
        return this.#refs?.get(id);
      }
      case "unpersistable": {
        const r = x[1];
        return new Unpersistable(
          `Unpersistable data: ${r !== undefined && isBytes(r) ? bytesToText(r) : "?"}`,
        );
      }
      case "persistent":
        return new Unpersistable("Persistent callback not found");
      case "remote":
      case "local":
        return this.#reference_(tag, x);
      case COPYABLE_FAILURE:
        return this.#failure(x, ref);
      default:
        return this.#copy(tag, x, ref);
    }
  }

  #text(x: BananaItem[]): string {
    const v = x[1];
    if (x.length !== 2 || v === undefined || !isBytes(v)) {
      throw new JellyError("A unicode value must hold one byte string");
    }
    try {
      return bytesToText(v);
    } catch {
      throw new JellyError("A unicode value that is not UTF-8");
    }
  }

  #register(ref: number | undefined, value: unknown): void {
    if (ref !== undefined) (this.#refs ??= new Map()).set(ref, value);
  }

  #reference(x: BananaItem[]): unknown {
    const id = x[1];
    const exp = x[2];
    if (x.length !== 3 || typeof id !== "number" || exp === undefined) {
      throw new JellyError("A reference must be [reference, id, value]");
    }
    this.#refs ??= new Map();
    if (this.#refs.has(id)) throw new JellyError("Multiple references with same ID!");
    this.#pendingRef = Array.isArray(exp) ? id : undefined;
    const value = this.unjelly(exp);
    this.#pendingRef = undefined;
    if (!this.#refs.has(id)) this.#refs.set(id, value);
    return value;
  }

  #reference_(tag: "remote" | "local", x: BananaItem[]): unknown {
    const id = x[1];
    if (x.length !== 2 || id === undefined || !(typeof id === "number" || isBytes(id))) {
      throw new JellyError(`A ${tag} reference must be [${tag}, id]`);
    }
    const invoker = this.#invoker;
    if (invoker === null) throw new InsecureJelly(`${tag} references need a broker`);
    const luid = typeof id === "number" ? id : bytesToText(id);
    return tag === "remote" ? invoker.remoteReference(luid) : invoker.localObjectForID(luid);
  }

  #failure(x: BananaItem[], ref: number | undefined): CopiedFailure {
    if (x.length !== 2) throw new JellyError("A copied failure must be [type, state]");
    const state = this.unjelly(x[1] as BananaItem);
    if (!(state instanceof Map)) throw new JellyError("A copied failure's state must be a dict");
    const text = (k: string): string => {
      const v = state.get(k);
      if (typeof v === "string") return v;
      if (v instanceof Uint8Array) return bytesToText(v);
      return v === undefined || v === null ? "" : String(v);
    };
    const parentsValue = state.get("parents");
    const parents = Array.isArray(parentsValue)
      ? parentsValue.map((p) => (p instanceof Uint8Array ? bytesToText(p) : String(p)))
      : [];
    const f = new CopiedFailure(text("type"), text("value"), parents, text("traceback"));
    this.#register(ref, f);
    return f;
  }

  #copy(tag: string, x: BananaItem[], ref: number | undefined): unknown {
    const cls = this.#security.unjellyableFor(tag);
    if (cls === undefined) {
      const dot = tag.lastIndexOf(".");
      const mod = dot < 0 ? "" : tag.slice(0, dot);
      if (tag.includes(".")) throw new InsecureJelly(`Module ${mod} not allowed (in type ${tag}).`);
      throw new InsecureJelly(`Type ${tag} is allowed but not supported by weft.`);
    }
    if (x.length !== 2) throw new JellyError(`A copy of ${tag} must be [type, state]`);
    const obj = new cls();
    this.#register(ref, obj);
    obj.setCopyableState(this.unjelly(x[1] as BananaItem));
    return obj;
  }
}

function isBytes(v: BananaItem): v is Uint8Array | string {
  return typeof v === "string" || v instanceof Uint8Array;
}

/** Unjelly `sexp` on its own (no broker: references are refused). */
export function unjelly(
  sexp: BananaItem,
  security: SecurityOptions,
  invoker: UnjellyInvoker | null = null,
): unknown {
  return new Unjellier(security, invoker).unjelly(sexp);
}
