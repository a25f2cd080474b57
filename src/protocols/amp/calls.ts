/**
 * The AMP protocol's call bookkeeping (internal): the `_ask` tags of one connection and the calls
 * waiting for their answers.
 */
import type { Deferred } from "../../core/deferred.js";
import type { AnyCommand } from "./command.js";
import { bytesRepr, MalformedAmpBox } from "./errors.js";

/** A call waiting for its answer. */
export interface Pending {
  readonly d: Deferred<unknown>;
  /** Null for `callRemoteString` (raw box answers). */
  readonly cmd: AnyCommand | null;
}

/** Latin1 text of a small byte string (one char per byte): the form tags are kept in. */
export function latin1(bytes: Uint8Array): string {
  const n = bytes.length;
  if (n > 32) return Buffer.from(bytes.buffer, bytes.byteOffset, n).toString("latin1");
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode(bytes[i] as number);
  return s;
}

/** Bytes of latin1 text (chars above 0xFF are truncated to their low byte). */
export function latin1Bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

/**
 * Tags are a per-connection lowercase-hex counter from 1 (Twisted's `_nextTag`), advanced for
 * every command, answered or not.
 */
export class Calls {
  #outstanding = new Map<string, Pending>();
  #counter = 0;

  /** The number of calls waiting for an answer. */
  get size(): number {
    return this.#outstanding.size;
  }

  /** The next tag. */
  nextTag(): string {
    return (++this.#counter).toString(16);
  }

  /** Records a call waiting under `tag`. */
  add(tag: string, pending: Pending): void {
    this.#outstanding.set(tag, pending);
  }

  /**
   * Removes and returns the call that `tagBytes` (the value of `key`, `_answer` or `_error`)
   * answers. Throws MalformedAmpBox (a protocol violation) when no call has that tag.
   */
  take(tagBytes: Uint8Array, key: string): Pending {
    const tag = latin1(tagBytes);
    const pending = this.#outstanding.get(tag);
    if (pending === undefined) {
      throw new MalformedAmpBox(`${key} ${bytesRepr(tagBytes)} answers no call in flight`);
    }
    this.#outstanding.delete(tag);
    return pending;
  }

  /** Fails every call in flight with `why` (the connection is gone). */
  failAll(why: Error): void {
    const pending = this.#outstanding;
    this.#outstanding = new Map();
    for (const p of pending.values()) p.d.errback(why);
  }
}
