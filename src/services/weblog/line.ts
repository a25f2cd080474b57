/**
 * The weblog over lines (format in `wire.ts`):
 * - **request-driven** (default port 8888, the seed's first Twisted server): every request line (the
 *   seed's client sends `NEW?`; any line is a request, at most 1,024 bytes) is answered with the hits
 *   newer than this client has seen, then `END` — or `NONE` when there are none. A new connection
 *   has seen everything before it connected.
 * - **push** (default port 8880, the seed's enhanced server): every `pushInterval` seconds (default 5,
 *   a LoopingCall on the suite's clock) each client is sent the hits newer than it has seen; lines it
 *   sends are ignored. PUSHES: the server talks while the client stays silent, so this front-end must
 *   not be idle-timed-out.
 *
 * A slow client never holds the others: the push front-end registers each connection as a streaming
 * producer of its transport, skips it while its write buffer is full, and when it catches up sends
 * at most the newest `backlog` hits after a `DROPPED n` line (see `service.ts`). One batch is encoded
 * once per tick and shared by every client at the same place.
 */
import { LoopingCall } from "../../core/clock.js";
import type { Producer, ReactorTime } from "../../core/interfaces.js";
import { LineReceiver } from "../../protocols/receivers/lines/receiver.js";
import { ServiceServerFactory } from "../front-end.js";
import { LineFrontEnd } from "../line-front-end.js";
import { type FrontEndOptions, logConnection } from "../log.js";
import type { WeblogService } from "./service.js";
import { batchText } from "./wire.js";

/** Request-driven: any line → the new hits and `END`, or `NONE`. */
export class WeblogRequestProtocol extends LineFrontEnd<WeblogRequestFactory> {
  /** The newest hit id this client has seen. */
  seen = 0;

  override connectionMade(): void {
    super.connectionMade();
    this.MAX_LENGTH = 1024;
    this.seen = this.factory.service.lastId;
    logConnection(this.factory.logger, "connection made", "weblog", "line", this);
  }

  override lineReceived(_line: Uint8Array): void {
    const batch = this.factory.service.since(this.seen);
    this.seen = batch.last;
    const text = batchText(batch);
    this.reply(text.length === 0 ? "NONE" : `${text}END`);
  }

  override connectionLost(reason: Error): void {
    super.connectionLost(reason);
    logConnection(this.factory.logger, "connection lost", "weblog", "line", this, reason);
  }
}

/** Serves a {@link WeblogService} request-driven over lines. */
export class WeblogRequestFactory extends ServiceServerFactory<
  WeblogService,
  WeblogRequestProtocol
> {
  constructor(service: WeblogService, options: FrontEndOptions = {}) {
    super(WeblogRequestProtocol, service, options);
  }
}

/** Push: the new hits every interval; incoming lines are ignored. */
export class WeblogPushProtocol extends LineReceiver<WeblogPushFactory> {
  /** The newest hit id this client has seen. */
  seen = 0;
  /** True while the transport's write buffer is full (the client reads slower than it is sent). */
  writePaused = false;
  /** Registered with the transport: paused while its write buffer is full. */
  readonly #producer: Producer = {
    pauseProducing: () => {
      this.writePaused = true;
    },
    resumeProducing: () => {
      this.writePaused = false;
    },
    stopProducing: () => {
      this.writePaused = true;
    },
  };

  override connectionMade(): void {
    super.connectionMade();
    this.MAX_LENGTH = 1024;
    this.seen = this.factory.service.lastId;
    this.transport.registerProducer(this.#producer, true);
    this.factory.connections.add(this);
    logConnection(this.factory.logger, "connection made", "weblog", "push", this);
  }

  override lineReceived(_line: Uint8Array): void {}

  override connectionLost(reason: Error): void {
    this.factory.connections.delete(this);
    super.connectionLost(reason);
    logConnection(this.factory.logger, "connection lost", "weblog", "push", this, reason);
  }
}

/** Options of {@link WeblogPushFactory}. */
export interface WeblogPushOptions extends FrontEndOptions {
  /** The clock the pushes run on. */
  clock: ReactorTime;
  /** Seconds between pushes. Default 5 (the seed's). */
  interval?: number;
}

/** Serves a {@link WeblogService} by pushing new hits to every client each interval. */
export class WeblogPushFactory extends ServiceServerFactory<WeblogService, WeblogPushProtocol> {
  /** The open connections. */
  readonly connections = new Set<WeblogPushProtocol>();
  /** Seconds between pushes. */
  readonly interval: number;
  readonly #loop: LoopingCall;

  constructor(service: WeblogService, options: WeblogPushOptions) {
    super(WeblogPushProtocol, service, options);
    this.interval = options.interval ?? 5;
    this.#loop = new LoopingCall(() => this.push());
    this.#loop.clock = options.clock;
  }

  override startFactory(): void {
    super.startFactory();
    if (!this.#loop.running) this.#loop.start(this.interval, false);
  }

  override stopFactory(): void {
    if (this.#loop.running) this.#loop.stop();
    super.stopFactory();
  }

  /** Send every client that can take it the hits it has not seen (what each interval does). */
  push(): void {
    const service = this.service;
    // By `seen`: the clients at one place (usually all of them) share one encoded batch.
    const encoded = new Map<number, { bytes: Buffer; last: number }>();
    for (const c of this.connections) {
      if (c.writePaused || c.seen >= service.lastId) continue;
      let batch = encoded.get(c.seen);
      if (batch === undefined) {
        const since = service.since(c.seen);
        batch = { bytes: Buffer.from(batchText(since)), last: since.last };
        encoded.set(c.seen, batch);
      }
      c.seen = batch.last;
      c.transport.write(batch.bytes);
    }
  }
}
