/**
 * What an unjellier may build (Twisted's `jelly.SecurityOptions`): the allowed type names, and the
 * local classes registered for remote `Copyable` type names (Twisted's `setUnjellyableForClass`).
 * Anything else in a received expression is {@link InsecureJelly} for that call: weft never looks a
 * received name up as a module, a property or a constructor.
 */

/** What a received `Copyable` becomes: a fresh object that is then given the copied state. */
export interface RemoteCopyLike {
  /**
   * Take the unjellied state the peer's `Copyable` sent (Twisted's `setCopyableState`). Throw
   * (e.g. {@link InsecureJelly}) to refuse it: the call that carried the copy fails.
   */
  setCopyableState(state: unknown): void;
}

/** A class (or factory) registered for a remote type name. */
export type RemoteCopyClass = new () => RemoteCopyLike;

/** Twisted's `SecurityOptions()` default allowed types. */
const DEFAULT_TYPES = [
  "None",
  "bool",
  "boolean",
  "string",
  "str",
  "int",
  "float",
  "datetime",
  "time",
  "date",
  "timedelta",
  "NoneType",
  "unicode",
  "decimal",
  "set",
  "frozenset",
];

/** Twisted's `SecurityOptions.basicTypes`. */
const BASIC_TYPES = [
  "dictionary",
  "list",
  "tuple",
  "reference",
  "dereference",
  "unpersistable",
  "persistent",
  "long_int",
  "long",
  "dict",
];

/** The type name of Twisted's remote failures. */
export const COPYABLE_FAILURE = "twisted.spread.pb.CopyableFailure";

/** Allowed type names and registered copy classes. */
export class SecurityOptions {
  readonly #types = new Set<string>(DEFAULT_TYPES);
  readonly #copiers = new Map<string, RemoteCopyClass>();

  /** Allow dictionaries, lists, tuples, references (Twisted's `allowBasicTypes`). */
  allowBasicTypes(): this {
    return this.allowTypes(...BASIC_TYPES);
  }

  /** Allow these type names. */
  allowTypes(...names: string[]): this {
    for (const n of names) this.#types.add(n);
    return this;
  }

  /**
   * Twisted's rule: a listed name, or any dotted name (a class name, which then must be registered
   * with {@link setUnjellyableForClass} or the unjellier refuses it).
   */
  isTypeAllowed(name: string): boolean {
    return this.#types.has(name) || name.includes(".");
  }

  /** Receive remote objects of type `typeName` as instances of `cls`; allows the type. */
  setUnjellyableForClass(typeName: string, cls: RemoteCopyClass): this {
    this.#copiers.set(typeName, cls);
    this.#types.add(typeName);
    return this;
  }

  /** The class registered for `typeName`, if any. */
  unjellyableFor(typeName: string): RemoteCopyClass | undefined {
    return this.#copiers.get(typeName);
  }
}

/**
 * What a PB broker allows by default (Twisted's `globalSecurity` in a PB process): the basic types,
 * remote and local references, and remote failures.
 */
export function pbSecurity(): SecurityOptions {
  return new SecurityOptions().allowBasicTypes().allowTypes("remote", "local", COPYABLE_FAILURE);
}

/** The options brokers use unless given others (Twisted's `jelly.globalSecurity`). */
export const globalSecurity: SecurityOptions = pbSecurity();

/** Register `cls` for `typeName` in {@link globalSecurity} (Twisted's `pb.setUnjellyableForClass`). */
export function setUnjellyableForClass(typeName: string, cls: RemoteCopyClass): void {
  globalSecurity.setUnjellyableForClass(typeName, cls);
}
