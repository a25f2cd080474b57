/**
 * The weblog over AMP (default port 8881): the client calls `Subscribe()`; from then on the server
 * calls `Hits(hits, dropped)` on that connection with the hits newer than it has sent it, every
 * `pushInterval` seconds (and straight after an answer while more are waiting). PUSHES: the server
 * talks while the client stays silent, so this front-end must not be idle-timed-out.
 *
 * Flow control: one `Hits` call is in flight per connection; the next waits for its answer. A client
 * that does not answer falls behind, and when it answers again gets at most the newest `backlog` hits
 * with the count of the older ones in `dropped` (see `service.ts`). One call carries at most
 * `MAX_HITS_PER_CALL` hits and stays under AMP's 65,535-byte value limit (hits are at most
 * `maxLineBytes` = 8 KiB long); more are sent in further calls.
 */
import { LoopingCall } from "../../core/clock.js";
import type { ReactorTime } from "../../core/interfaces.js";
import { Integer, optional, Unicode } from "../../protocols/amp/arguments.js";
import { CommandLocator, defineCommand } from "../../protocols/amp/command.js";
import { AmpList } from "../../protocols/amp/lists.js";
import type { AMP } from "../../protocols/amp/protocol.js";
import { ServiceAMPFactory } from "../amp-base.js";
import type { FrontEndOptions } from "../log.js";
import type { NumberedHit, WeblogService } from "./service.js";

/** `Subscribe() → {}`: start receiving `Hits` calls on this connection. */
export const Subscribe = defineCommand({ name: "Subscribe", arguments: {}, response: {} });

/** One hit as an AMP box (absent fields omitted). */
export const HitBox = {
  id: Integer,
  host: Unicode,
  ident: optional(Unicode),
  user: optional(Unicode),
  time: Unicode,
  request: Unicode,
  status: Integer,
  bytes: optional(Integer),
  referrer: optional(Unicode),
  agent: optional(Unicode),
};

/** `Hits(hits, dropped) → {}`, called by the server. */
export const Hits = defineCommand({
  name: "Hits",
  arguments: {
    /** New hits, oldest first. */
    hits: AmpList(HitBox),
    /** Hits before these that this client will not get (it fell behind). */
    dropped: Integer,
  },
  response: {},
});

/** Most hits in one `Hits` call. */
export const MAX_HITS_PER_CALL = 64;
/** Encoded bytes one call's hits stay under (AMP values hold 65,535). */
const CALL_BUDGET = 56 * 1024;

const orUndefined = <T>(v: T | null): T | undefined => (v === null ? undefined : v);

function hitBox(h: NumberedHit) {
  return {
    id: h.id,
    host: h.host,
    ident: orUndefined(h.ident),
    user: orUndefined(h.user),
    time: h.time,
    request: h.request,
    status: h.status,
    bytes: orUndefined(h.bytes),
    referrer: orUndefined(h.referrer),
    agent: orUndefined(h.agent),
  };
}

/** Rough encoded size of a hit box (keys, 2-byte lengths, UTF-8 values at most 3 bytes a char). */
function sizeOf(h: NumberedHit): number {
  return (
    120 +
    3 *
      (h.host.length +
        h.time.length +
        h.request.length +
        (h.ident?.length ?? 0) +
        (h.user?.length ?? 0) +
        (h.referrer?.length ?? 0) +
        (h.agent?.length ?? 0))
  );
}

/** A subscribed AMP connection. */
class Subscription {
  seen: number;
  inFlight = false;
  constructor(seen: number) {
    this.seen = seen;
  }
}

/** Options of {@link WeblogAMPFactory}. */
export interface WeblogAMPOptions extends FrontEndOptions {
  /** The clock the pushes run on. */
  clock: ReactorTime;
  /** Seconds between pushes. Default 5. */
  interval?: number;
}

/** Serves a {@link WeblogService} over AMP: `Subscribe`, then server-initiated `Hits` calls. */
export class WeblogAMPFactory extends ServiceAMPFactory {
  /** The subscribed connections. */
  readonly subscribers = new Map<AMP, Subscription>();
  /** The service. */
  readonly service: WeblogService;
  /** Seconds between pushes. */
  readonly interval: number;
  readonly #loop: LoopingCall;

  constructor(service: WeblogService, options: WeblogAMPOptions) {
    const locator = new CommandLocator<AMP>().responder(Subscribe, (_args, conn) => {
      if (!this.subscribers.has(conn)) this.subscribers.set(conn, new Subscription(service.lastId));
      return {};
    });
    super("weblog", locator, options);
    this.service = service;
    this.interval = options.interval ?? 5;
    this.#loop = new LoopingCall(() => this.push());
    this.#loop.clock = options.clock;
  }

  override buildProtocol(addr: Parameters<ServiceAMPFactory["buildProtocol"]>[0]): AMP {
    const p = super.buildProtocol(addr);
    const lost = p.connectionLost.bind(p);
    p.connectionLost = (reason: Error) => {
      this.subscribers.delete(p);
      lost(reason);
    };
    return p;
  }

  override startFactory(): void {
    super.startFactory();
    if (!this.#loop.running) this.#loop.start(this.interval, false);
  }

  override stopFactory(): void {
    if (this.#loop.running) this.#loop.stop();
    super.stopFactory();
  }

  /** Send each subscriber without a call in flight its next hits (what each interval does). */
  push(): void {
    for (const [conn, sub] of this.subscribers) this.#send(conn, sub);
  }

  #send(conn: AMP, sub: Subscription): void {
    if (sub.inFlight || sub.seen >= this.service.lastId) return;
    const batch = this.service.since(sub.seen);
    const hits = [];
    let bytes = 0;
    for (const h of batch.hits) {
      bytes += sizeOf(h);
      if (hits.length > 0 && (hits.length >= MAX_HITS_PER_CALL || bytes > CALL_BUDGET)) break;
      hits.push(hitBox(h));
    }
    const last = (batch.hits[hits.length - 1] as NumberedHit).id;
    sub.seen = last;
    sub.inFlight = true;
    conn.callRemote(Hits, { hits, dropped: batch.dropped }).then(
      () => {
        sub.inFlight = false;
        if (this.subscribers.get(conn) === sub) this.#send(conn, sub);
      },
      () => {
        // The connection went away (or the client failed the call): stop sending to it.
        this.subscribers.delete(conn);
      },
    );
  }
}
