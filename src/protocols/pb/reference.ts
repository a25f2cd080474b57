/**
 * A reference to an object on the other side of a PB connection (Twisted's `RemoteReference`).
 * Every reference received is counted by the peer; it is released (a `decref` sent) when
 * {@link RemoteReference.release} is called or when the reference is garbage-collected.
 */
import { type Deferred, fail } from "../../core/deferred.js";
import type { Broker } from "./broker.js";
import { DeadReferenceError, JellyError } from "./errors.js";
import { type Jellier, Jellyable, type Sexp } from "./jelly.js";

interface Held {
  readonly broker: WeakRef<Broker>;
  readonly luid: number | string;
}

/** Sends the `decref` of a collected reference (Twisted does it in `RemoteReference.__del__`). */
const collected = new FinalizationRegistry<Held>((held) => {
  held.broker.deref()?.sendDecRef(held.luid);
});

/** A translucent reference to a remote object: call its methods with `callRemote`. */
export class RemoteReference extends Jellyable {
  /** The connection the remote object lives behind; calls go through it. */
  readonly broker: Broker;
  /** The peer's id for the object (`"root"` for the root object). */
  readonly luid: number | string;
  readonly #counted: boolean;
  #released = false;
  #disconnectCallbacks: Array<(ref: RemoteReference) => void> = [];
  readonly #onBrokerDisconnect = (): void => {
    const callbacks = this.#disconnectCallbacks;
    this.#disconnectCallbacks = [];
    for (const cb of callbacks) cb(this);
  };

  /** Made by the broker; `counted` references send a `decref` when released or collected. */
  constructor(broker: Broker, luid: number | string, counted: boolean) {
    super();
    this.broker = broker;
    this.luid = luid;
    this.#counted = counted;
    if (counted) collected.register(this, { broker: new WeakRef(broker), luid }, this);
  }

  /**
   * Call `remote_<name>(...args)` on the remote object. The Deferred fires with the answer, or
   * fails with the remote error ({@link CopiedFailure}), {@link DeadReferenceError} when the
   * connection is gone, or `PBConnectionLost` when it goes before the answer.
   */
  callRemote(name: string, ...args: unknown[]): Deferred<unknown> {
    return this.callRemoteWithKeywords(name, args, null);
  }

  /** `callRemote` with Python keyword arguments too. */
  callRemoteWithKeywords(
    name: string,
    args: readonly unknown[],
    kwargs: Readonly<Record<string, unknown>> | null,
  ): Deferred<unknown> {
    if (this.#released) return fail(new DeadReferenceError("Calling a released reference"));
    return this.broker.sendMessage(this.luid, name, args, kwargs);
  }

  /** A call that wants no answer (`pbanswer=False`): nothing comes back, not even errors. */
  callRemoteNoAnswer(name: string, ...args: unknown[]): void {
    if (this.#released) throw new DeadReferenceError("Calling a released reference");
    this.broker.sendMessage(this.luid, name, args, null, false);
  }

  /** Run `callback(this)` when the connection is lost. */
  notifyOnDisconnect(callback: (ref: RemoteReference) => void): void {
    this.#disconnectCallbacks.push(callback);
    if (this.#disconnectCallbacks.length === 1)
      this.broker.notifyOnDisconnect(this.#onBrokerDisconnect);
  }

  /** Undo {@link notifyOnDisconnect}. */
  dontNotifyOnDisconnect(callback: (ref: RemoteReference) => void): void {
    const i = this.#disconnectCallbacks.indexOf(callback);
    if (i >= 0) this.#disconnectCallbacks.splice(i, 1);
    if (this.#disconnectCallbacks.length === 0) {
      this.broker.dontNotifyOnDisconnect(this.#onBrokerDisconnect);
    }
  }

  /** Tell the peer this reference is no longer used (once); later calls fail. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    if (!this.#counted) return;
    collected.unregister(this);
    this.broker.sendDecRef(this.luid);
  }

  /** True once the connection is gone or the reference was released. */
  get dead(): boolean {
    return this.#released || this.broker.disconnected;
  }

  /**
   * Sent back to its own side as `["local", luid]`, which the peer turns into its object (Twisted's
   * `RemoteReference.jellyFor`). Throws {@link JellyError} when jellied for another broker: a
   * reference is only meaningful on its own connection.
   */
  jellyFor(jellier: Jellier): Sexp {
    if (jellier.invoker !== this.broker) {
      throw new JellyError("Can't send references to brokers other than their own.");
    }
    return ["local", this.luid];
  }
}
