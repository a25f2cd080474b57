/**
 * The transform service over UDP (default port 10004): one datagram in, at most one out.
 *
 * - request: `NAME SP TEXT` (UTF-8; one trailing LF or CRLF is ignored, so `nc -u` works);
 * - reply: `OK SP RESULT`, or `ERROR SP CODE` (`ERR_UNKNOWN_TRANSFORM`, `ERR_TRANSFORM_FAILED`).
 *
 * UDP source addresses can be forged, so a UDP server can be made to send its replies to a victim.
 * This front-end cannot be used as an amplifier: a reply is never larger than its request (a reply
 * that would be is not sent, and counted), and each source address (IP, any port) gets at most
 * `rate` datagrams a second (a token bucket of `burst`); datagrams beyond it are dropped unread.
 * Malformed (not UTF-8, no space, bad name) and oversized datagrams are dropped and counted too;
 * nothing is logged per datagram. {@link TransformUDPProtocol.stats} has the counts.
 */
import type { Address, ReactorTime } from "../../core/interfaces.js";
import { DatagramProtocol } from "../../core/udp.js";
import { decodeUtf8 } from "../text.js";
import { TRANSFORM_NAME, type TransformService } from "./service.js";

/** Options of {@link TransformUDPProtocol}. */
export interface TransformUDPOptions {
  /** Time source of the rate limit. Default: the monotonic clock (`performance.now()`). */
  clock?: Pick<ReactorTime, "seconds">;
  /** Requests larger than this many bytes are dropped (`oversized`). Default 1400 (fits an MTU). */
  maxDatagram?: number;
  /** Datagrams per second each source address may send. Default 20. */
  rate?: number;
  /** Datagrams a source may send at once after being quiet. Default 40. */
  burst?: number;
  /** Source addresses tracked at once; beyond it, new sources are dropped. Default 10,000. */
  maxSources?: number;
}

/** What the front-end did with the datagrams it received. */
export interface TransformUDPStats {
  /** Datagrams received. */
  received: number;
  /** Datagrams answered. */
  answered: number;
  /** Over a source's rate limit (or the source table was full). */
  rateLimited: number;
  /** Larger than `maxDatagram`. */
  oversized: number;
  /** Not UTF-8, no `NAME SP`, or a name outside the transform name syntax. */
  malformed: number;
  /** The reply would have been larger than the request: not sent. */
  tooLargeReplies: number;
}

interface Bucket {
  tokens: number;
  last: number;
}

const monotonic = { seconds: (): number => performance.now() / 1000 };
const encoder = new TextEncoder();

/** The datagram protocol of the UDP front-end (bind it with `reactor.listenUDP`). */
export class TransformUDPProtocol extends DatagramProtocol {
  /** The service the requests go to. */
  readonly service: TransformService;
  /** Counters of what this port saw (updated in place). */
  readonly stats: TransformUDPStats = {
    received: 0,
    answered: 0,
    rateLimited: 0,
    oversized: 0,
    malformed: 0,
    tooLargeReplies: 0,
  };
  readonly #clock: Pick<ReactorTime, "seconds">;
  readonly #maxDatagram: number;
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxSources: number;
  readonly #buckets = new Map<string, Bucket>();
  #lastSweep = Number.NEGATIVE_INFINITY;

  constructor(service: TransformService, options: TransformUDPOptions = {}) {
    super();
    this.service = service;
    this.#clock = options.clock ?? monotonic;
    this.#maxDatagram = options.maxDatagram ?? 1400;
    this.#rate = options.rate ?? 20;
    this.#burst = options.burst ?? 40;
    this.#maxSources = options.maxSources ?? 10_000;
  }

  /** Takes a token from `host`'s bucket; false when it has none (or no bucket can be made). */
  #admit(host: string): boolean {
    const now = this.#clock.seconds();
    let b = this.#buckets.get(host);
    if (b === undefined) {
      if (this.#buckets.size >= this.#maxSources && !this.#sweep(now)) return false;
      b = { tokens: this.#burst, last: now };
      this.#buckets.set(host, b);
    } else {
      b.tokens = Math.min(this.#burst, b.tokens + (now - b.last) * this.#rate);
      b.last = now;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Forgets sources whose bucket has refilled (at most once a second); true if room was made. */
  #sweep(now: number): boolean {
    if (now - this.#lastSweep < 1) return false;
    this.#lastSweep = now;
    for (const [host, b] of this.#buckets) {
      if (b.tokens + (now - b.last) * this.#rate >= this.#burst) this.#buckets.delete(host);
    }
    return this.#buckets.size < this.#maxSources;
  }

  override datagramReceived(data: Uint8Array, addr: Address): void {
    this.stats.received++;
    if (!this.#admit(addr.host)) {
      this.stats.rateLimited++;
      return;
    }
    if (data.length > this.#maxDatagram) {
      this.stats.oversized++;
      return;
    }
    let end = data.length;
    if (end > 0 && data[end - 1] === 0x0a) end -= end > 1 && data[end - 2] === 0x0d ? 2 : 1;
    const text = decodeUtf8(data.subarray(0, end));
    const space = text?.indexOf(" ") ?? -1;
    if (text === undefined || space < 0 || !TRANSFORM_NAME.test(text.slice(0, space))) {
      this.stats.malformed++;
      return;
    }
    const limit = data.length;
    const to = { host: addr.host, port: addr.port };
    let out: string | Promise<string>;
    try {
      out = this.service.apply(text.slice(0, space), text.slice(space + 1));
    } catch (err) {
      this.#reply(`ERROR ${codeOf(err)}`, limit, to);
      return;
    }
    if (typeof out === "string") this.#reply(`OK ${out}`, limit, to);
    else {
      out.then(
        (v) => this.#reply(`OK ${v}`, limit, to),
        (err: unknown) => this.#reply(`ERROR ${codeOf(err)}`, limit, to),
      );
    }
  }

  #reply(reply: string, limit: number, to: { host: string; port: number }): void {
    // Cheap bound first: a UTF-8 string is at least as many bytes as UTF-16 units.
    const bytes = reply.length > limit ? null : encoder.encode(reply);
    if (bytes === null || bytes.length > limit) {
      this.stats.tooLargeReplies++;
      return;
    }
    this.stats.answered++;
    this.transport.write(bytes, to);
  }
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "ERR_TRANSFORM_FAILED";
}
