/**
 * Plumbing shared by the service clients: connect through an endpoint, run one exchange, and give
 * back a Deferred with a timeout that, when it fires, aborts the connection.
 */

import { NodeClock } from "../core/clock.js";
import { Deferred } from "../core/deferred.js";
import { ClientFactory, type Factory } from "../core/factory.js";
import type { ReactorTime } from "../core/interfaces.js";
import type { Protocol } from "../core/protocol.js";

/**
 * Anything that connects a factory's protocol somewhere (a client endpoint from
 * `clientFromString(reactor, "tcp:HOST:PORT")`). The result may be a Deferred or a Promise.
 */
export interface ClientEndpointLike {
  /** Connects with `factory`; settles with the connected protocol or the connection error. */
  connect(factory: Factory): PromiseLike<Protocol>;
}

/** Options every client call accepts. */
export interface ClientOptions {
  /** Seconds before the call fails with TimeoutError (and its connection is aborted). Default 30. */
  timeout?: number;
  /** The clock timing `timeout`: the reactor, or a manual Clock in tests. Default: a real clock. */
  clock?: ReactorTime;
}

let sharedClock: NodeClock | null = null;

/** The real clock used when a client is given none. */
export function defaultClock(): ReactorTime {
  sharedClock ??= new NodeClock();
  return sharedClock;
}

/** How a one-shot client protocol reports its outcome. */
export interface Outcome<T> {
  /** Reports success with the result. */
  resolve(value: T): void;
  /** Reports failure with a typed error. */
  reject(error: Error): void;
}

/**
 * Connect `endpoint` with a protocol built by `build(outcome)`, and return a Deferred that fires with
 * whatever the protocol reports. Connection failures fail the Deferred with the endpoint's typed
 * error; the timeout (or `cancel()`) aborts the connection and fails it with TimeoutError /
 * CancelledError.
 */
export function oneShot<T>(
  endpoint: ClientEndpointLike,
  build: (outcome: Outcome<T>) => Protocol,
  options: ClientOptions = {},
): Deferred<T> {
  let protocol: Protocol | null = null;
  let connecting: PromiseLike<Protocol> | null = null;
  let over = false;
  const d = new Deferred<T>(() => {
    over = true;
    if (protocol?.connected) protocol.transport.abortConnection();
    else (connecting as { cancel?: () => void } | null)?.cancel?.();
  });
  const outcome: Outcome<T> = {
    resolve(value) {
      if (over) return;
      over = true;
      d.callback(value);
    },
    reject(error) {
      if (over) return;
      over = true;
      d.errback(error);
    },
  };
  const factory = new ClientFactory();
  factory.buildProtocol = () => {
    protocol = build(outcome);
    protocol.factory = factory;
    return protocol;
  };
  d.addTimeout(options.timeout ?? 30, options.clock ?? defaultClock());
  try {
    connecting = endpoint.connect(factory);
    connecting.then(undefined, (err: unknown) => outcome.reject(asError(err)));
  } catch (err) {
    outcome.reject(asError(err));
  }
  return d;
}

/**
 * One connection kept for many calls: opened on first use, shared by the callers that arrive while
 * it opens, and opened again on the next call after it was lost.
 */
export class KeptConnection<P extends Protocol> {
  readonly #endpoint: ClientEndpointLike;
  readonly #build: () => P;
  #proto: P | null = null;
  #waiters: Array<Deferred<P>> | null = null;
  #closeWhenOpen = false;

  constructor(endpoint: ClientEndpointLike, build: () => P) {
    this.#endpoint = endpoint;
    this.#build = build;
  }

  /** The open connection's protocol, once connected. Fails with the endpoint's typed error. */
  get(): Deferred<P> {
    const p = this.#proto;
    const d = new Deferred<P>();
    if (p?.connected && !p.transport.disconnecting) {
      d.callback(p);
      return d;
    }
    this.#proto = null;
    if (this.#waiters !== null) {
      this.#waiters.push(d);
      return d;
    }
    const waiters = [d];
    this.#waiters = waiters;
    this.#closeWhenOpen = false;
    const factory = new ClientFactory<P>();
    factory.buildProtocol = () => {
      const proto = this.#build();
      proto.factory = factory;
      return proto;
    };
    const settle = (proto: P | null, error: Error | null): void => {
      if (this.#waiters === waiters) this.#waiters = null;
      const closing = this.#closeWhenOpen;
      if (proto !== null && !closing) this.#proto = proto;
      for (const w of waiters) {
        if (w.called) continue;
        if (proto !== null) w.callback(proto);
        else w.errback(error);
      }
      if (proto !== null && closing) proto.transport.loseConnection();
    };
    try {
      this.#endpoint.connect(factory).then(
        (proto) => settle(proto as P, null),
        (err: unknown) => settle(null, asError(err)),
      );
    } catch (err) {
      settle(null, asError(err));
    }
    return d;
  }

  /** Close the connection (or the one being opened, once it opens). A later `get` opens a new one. */
  close(): void {
    if (this.#waiters !== null) this.#closeWhenOpen = true;
    const p = this.#proto;
    this.#proto = null;
    if (p?.connected) p.transport.loseConnection();
  }
}

/** A thrown or rejected value as an Error (non-Errors are wrapped with their string form). */
function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
