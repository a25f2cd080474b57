/**
 * The poetry service: a set of named poems, from a folder of `NAME.txt` files or the public-domain
 * poems bundled with weft (the package's `poems/` folder). No protocol knowledge: the fast, slow,
 * netstring and AMP front-ends beside it serve its poems.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { InvalidArgumentError } from "../../core/errors.js";
import { PoemNotFoundError } from "../errors.js";

/** One poem: its name, its text and that text as UTF-8 bytes (encoded once). */
export interface Poem {
  /** The poem's name (its file name without `.txt`). */
  readonly name: string;
  /** The text. */
  readonly text: string;
  /** The text, UTF-8 encoded (what the front-ends send). */
  readonly bytes: Uint8Array;
}

/** Options of {@link PoetryService}. */
export interface PoetryServiceOptions {
  /** The poem served when none is named (fast and slow front-ends). Default: the first name in sorted order. */
  defaultPoem?: string;
}

const encoder = new TextEncoder();

/** A read-only collection of named poems. */
export class PoetryService {
  readonly #poems = new Map<string, Poem>();
  readonly #default: Poem;

  /** `poems`: `[name, text]` pairs. At least one poem is required; names must be non-empty. */
  constructor(poems: Iterable<readonly [string, string]>, options: PoetryServiceOptions = {}) {
    for (const [name, text] of poems) {
      if (typeof name !== "string" || name.length === 0)
        throw new InvalidArgumentError("A poem needs a non-empty name.");
      this.#poems.set(name, { name, text, bytes: encoder.encode(text) });
    }
    const names = this.names();
    const first = names[0];
    if (first === undefined)
      throw new InvalidArgumentError("A poetry service needs at least one poem.");
    const wanted = options.defaultPoem ?? first;
    const poem = this.#poems.get(wanted);
    if (poem === undefined) throw PoemNotFoundError.forName(wanted);
    this.#default = poem;
  }

  /** Loads every `*.txt` file of `dir` (UTF-8) as a poem named after the file without `.txt`. */
  static async fromDirectory(
    dir: string,
    options: PoetryServiceOptions = {},
  ): Promise<PoetryService> {
    let entries: string[];
    try {
      entries = await readdir(dir);
    } catch (err) {
      throw new InvalidArgumentError(
        `Cannot read the poem folder ${dir}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    const files = entries.filter((f) => extname(f) === ".txt").sort();
    if (files.length === 0)
      throw new InvalidArgumentError(`The poem folder ${dir} has no .txt files.`);
    const poems: Array<[string, string]> = [];
    for (const file of files) {
      poems.push([file.slice(0, -4), await readFile(join(dir, file), "utf8")]);
    }
    return new PoetryService(poems, options);
  }

  /** The poems bundled with weft. */
  static bundled(options: PoetryServiceOptions = {}): Promise<PoetryService> {
    return PoetryService.fromDirectory(bundledPoemsDirectory(), options);
  }

  /** Poem names, sorted. */
  names(): string[] {
    return [...this.#poems.keys()].sort();
  }

  /** Whether a poem named `name` exists. */
  has(name: string): boolean {
    return this.#poems.has(name);
  }

  /** The poem named `name`, or the default poem when `name` is undefined or empty. Throws PoemNotFoundError. */
  getPoem(name?: string): Poem {
    if (name === undefined || name === "") return this.#default;
    const poem = this.#poems.get(name);
    if (poem === undefined) throw PoemNotFoundError.forName(name);
    return poem;
  }

  /** The poem served when none is named. */
  get defaultPoem(): Poem {
    return this.#default;
  }
}

/**
 * The folder holding the bundled poems: the `poems/` folder of the weft package itself, found by
 * walking up from this module's file to the nearest `package.json` named `weft` (from `src/` under
 * tsx, from the built `dist/`, and from an installed `node_modules/weft/dist/`). Never looks at the
 * current directory: a user running weft inside another project does not get that project's poems.
 * Throws InvalidArgumentError when the package or its `poems/` folder cannot be found.
 */
export function bundledPoemsDirectory(): string {
  const start = moduleDirectory();
  if (start === undefined)
    throw new InvalidArgumentError(
      "Cannot find weft's bundled poems: this module's path is unknown.",
    );
  let dir = start;
  for (;;) {
    if (packageName(join(dir, "package.json")) === "weft") {
      const candidate = join(dir, "poems");
      if (existsSync(candidate) && statSync(candidate).isDirectory()) return candidate;
      throw new InvalidArgumentError(
        `Cannot find weft's bundled poems: the package at ${dir} has no poems/ folder.`,
      );
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new InvalidArgumentError(
    `Cannot find weft's bundled poems: no weft package.json above ${start}.`,
  );
}

/** The `name` of the package.json at `file`, or undefined when it is missing or unreadable. */
function packageName(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const json: unknown = JSON.parse(readFileSync(file, "utf8"));
    const name = (json as { name?: unknown } | null)?.name;
    return typeof name === "string" ? name : undefined;
  } catch {
    return undefined;
  }
}

/**
 * This module's directory without `import.meta` (which the CJS build cannot carry): the file named
 * by the first frame of a stack trace (ESM and CJS alike), else `__dirname`.
 */
function moduleDirectory(): string | undefined {
  const frames = (new Error().stack ?? "").split("\n").slice(1);
  for (const frame of frames) {
    const m = /(file:\/\/[^\s()]+|\/[^\s()]+):\d+:\d+\)?\s*$/.exec(frame);
    if (m === null) continue;
    const file = m[1] as string;
    return dirname(file.startsWith("file:") ? fileURLToPath(file) : file);
  }
  return typeof __dirname === "string" ? __dirname : undefined;
}
