/**
 * The state API for services: a locked state directory ({@link StateDirectory}) holding one
 * versioned JSON file per service ({@link StateFile}), loaded on start and saved atomically.
 *
 * A state file is one JSON object, the envelope:
 * `{"format":"weft-state","name":"fibonacci","version":1,"data":…}` — `version` is the service's own
 * format version. Loading never guesses: a missing file is a first start (`undefined`); a file that
 * is empty, truncated, not JSON, not an envelope, of another name, or whose `data` the service's
 * `parse` rejects is a {@link StateCorruptError}; an unknown version a {@link StateVersionError}; both
 * name the file, and the service refuses to start.
 */
import { mkdir, readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { writeFileAtomic } from "./atomic.js";
import { StateCorruptError, StateError, StateIOError, StateVersionError } from "./errors.js";
import { DirectoryLock } from "./lock.js";

const FORMAT = "weft-state";
const NAME = /^[A-Za-z][\w.-]{0,63}$/;

/**
 * The default state directory: `$XDG_STATE_HOME/weft` when `XDG_STATE_HOME` is an absolute path
 * (the XDG spec says to ignore a relative one), else `~/.local/state/weft`.
 */
export function defaultStateDir(
  env: Readonly<Record<string, string | undefined>> = process.env,
  home: string = homedir(),
): string {
  const xdg = env["XDG_STATE_HOME"];
  if (xdg !== undefined && xdg !== "" && isAbsolute(xdg)) return join(xdg, "weft");
  return join(home, ".local", "state", "weft");
}

/** How one service's state is read and written. */
export interface StateSpec<T> {
  /** The service's format version (an integer); a file of another version is refused. */
  readonly version: number;
  /** Check and convert the file's `data`; throw (any Error) when it is not valid: the file is corrupt. */
  parse(data: unknown): T;
  /** The JSON-serializable form of a value. Default: the value itself. */
  serialize?(value: T): unknown;
}

/** One service's state file in a {@link StateDirectory}. */
export class StateFile<T> {
  /** The file's path. */
  readonly path: string;
  /** Its name (the envelope's `name`). */
  readonly name: string;
  readonly #spec: StateSpec<T>;
  #writes: Promise<void> = Promise.resolve();

  /** Use {@link StateDirectory.file} (one StateFile per name and directory). */
  constructor(path: string, name: string, spec: StateSpec<T>) {
    this.path = path;
    this.name = name;
    this.#spec = spec;
  }

  /** The saved value; `undefined` when there is no file yet. Rejects with a typed StateError. */
  async load(): Promise<T | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (err) {
      if ((err as { code?: string }).code === "ENOENT") return undefined;
      throw new StateIOError(this.path, "read", err);
    }
    return this.decode(text);
  }

  /** Parse a file's text (what {@link load} does after reading). */
  decode(text: string): T {
    if (text.length === 0) throw new StateCorruptError(this.path, "the file is empty");
    let envelope: unknown;
    try {
      envelope = JSON.parse(text);
    } catch (err) {
      throw new StateCorruptError(this.path, `not JSON: ${(err as Error).message}`, { cause: err });
    }
    if (typeof envelope !== "object" || envelope === null || Array.isArray(envelope))
      throw new StateCorruptError(this.path, "not a weft state object");
    const e = envelope as Record<string, unknown>;
    if (e["format"] !== FORMAT)
      throw new StateCorruptError(this.path, `"format" is not ${JSON.stringify(FORMAT)}`);
    if (e["name"] !== this.name)
      throw new StateCorruptError(
        this.path,
        `it holds the state of ${JSON.stringify(e["name"])}, not ${JSON.stringify(this.name)}`,
      );
    if (e["version"] !== this.#spec.version)
      throw new StateVersionError(this.path, e["version"], this.#spec.version);
    if (!("data" in e)) throw new StateCorruptError(this.path, `no "data"`);
    try {
      return this.#spec.parse(e["data"]);
    } catch (err) {
      if (err instanceof StateError) throw err;
      throw new StateCorruptError(this.path, (err as Error).message, { cause: err });
    }
  }

  /**
   * Save `value` atomically and durably (temp file, fsync, rename, fsync of the directory). Saves
   * of one file run one after another, in call order; the promise settles when this one is on disk.
   */
  save(value: T): Promise<void> {
    const data = this.#spec.serialize !== undefined ? this.#spec.serialize(value) : value;
    const text = `${JSON.stringify({ format: FORMAT, name: this.name, version: this.#spec.version, data })}\n`;
    const write = this.#writes.then(() =>
      writeFileAtomic(this.path, text).catch((err: unknown) => {
        throw new StateIOError(this.path, "write", err);
      }),
    );
    this.#writes = write.catch(() => undefined);
    return write;
  }
}

/**
 * A state directory, locked for this process while open (see `lock.ts` for how): services keep
 * their files in it through {@link StateDirectory.file}. Close it after the services saved.
 */
export class StateDirectory {
  /** The directory (absolute). */
  readonly path: string;
  readonly #lock: DirectoryLock;
  readonly #names = new Set<string>();
  #closed = false;

  /** Use {@link StateDirectory.open} (which takes the lock). */
  constructor(path: string, lock: DirectoryLock) {
    this.path = path;
    this.#lock = lock;
  }

  /**
   * Create `dir` if needed (mode 0700) and lock it. Rejects with StateLockedError when another
   * live process (or another open StateDirectory of this process) holds it, StateIOError when it
   * cannot be created or is not a directory.
   */
  static async open(dir: string): Promise<StateDirectory> {
    const path = resolve(dir);
    try {
      await mkdir(path, { recursive: true, mode: 0o700 });
      if (!(await stat(path)).isDirectory()) throw new Error("not a directory");
    } catch (err) {
      throw new StateIOError(path, "open the directory for", err);
    }
    return new StateDirectory(path, await DirectoryLock.acquire(path));
  }

  /** The state file `NAME.json` for one service (`name`: letters, digits, `_ . -`; once per name). */
  file<T>(name: string, spec: StateSpec<T>): StateFile<T> {
    if (!NAME.test(name)) throw new TypeError(`invalid state file name ${JSON.stringify(name)}`);
    if (this.#closed) throw new TypeError(`state directory ${this.path} is closed`);
    if (this.#names.has(name))
      throw new TypeError(`state file ${JSON.stringify(name)} is already in use in ${this.path}`);
    this.#names.add(name);
    return new StateFile(join(this.path, `${name}.json`), name, spec);
  }

  /** Release the lock (after the services' last saves). Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#lock.release();
  }
}
