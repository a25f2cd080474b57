/**
 * Outgoing connections: {@link SocketConnector} (Twisted's IConnector over TCP, Unix, TLS), which
 * the reactor's `connect*` methods return.
 */
import type * as net from "node:net";
import {
  ConnectError,
  ConnectingCancelledError,
  ConnectTimeoutError,
  connectErrorFrom,
  InvalidArgumentError,
} from "./errors.js";
import type { ClientFactory } from "./factory.js";
import type { Address, Connector, DelayedCall } from "./interfaces.js";
import { ignore, type SocketKind } from "./listening-port.js";
import type { Protocol } from "./protocol.js";
import type { Reactor } from "./reactor.js";
import { SocketTransport, tcpAddress, unixAddress } from "./transport.js";

/** A `ClientFactory` that also wants to know when a connector's protocol is connected (weft extension). */
interface ConnectionMadeHook {
  clientConnectionMade(connector: Connector, protocol: Protocol): void;
}

function hasConnectionMadeHook(f: object): f is ConnectionMadeHook {
  return typeof (f as Partial<ConnectionMadeHook>).clientConnectionMade === "function";
}

/**
 * An outgoing connection (Twisted's IConnector): `doStart`, `startedConnecting`, then either
 * `clientConnectionFailed` or the protocol's `connectionMade` and later `clientConnectionLost`;
 * `doStop` once it is over unless `connect()` was called again from those callbacks.
 */
export class SocketConnector implements Connector {
  /** `"disconnected"`, `"connecting"` or `"connected"`. */
  state: "disconnected" | "connecting" | "connected" = "disconnected";
  /** The transport while connected. */
  transport: SocketTransport | null = null;
  /** The factory told about the attempts and that builds each connection's protocol. */
  readonly factory: ClientFactory;

  readonly #reactor: Reactor;
  readonly #dial: () => net.Socket;
  readonly #connectEvent: "connect" | "secureConnect";
  readonly #destination: Address;
  readonly #timeout: number | null;
  readonly #kind: SocketKind;
  #socket: net.Socket | null = null;
  #timeoutCall: DelayedCall | null = null;
  #factoryStarted = false;
  #attempt = 0;

  /** @internal Use the reactor's `connect*` methods. */
  constructor(
    reactor: Reactor,
    factory: ClientFactory,
    dial: () => net.Socket,
    connectEvent: "connect" | "secureConnect",
    destination: Address,
    timeout: number | null,
    kind: SocketKind,
  ) {
    this.#reactor = reactor;
    this.factory = factory;
    this.#dial = dial;
    this.#connectEvent = connectEvent;
    this.#destination = destination;
    this.#timeout = timeout;
    this.#kind = kind;
  }

  connect(): void {
    if (this.state !== "disconnected") {
      throw new InvalidArgumentError(`Cannot connect in state "${this.state}".`);
    }
    this.state = "connecting";
    if (!this.#factoryStarted) {
      this.#factoryStarted = true;
      this.factory.doStart();
    }
    const attempt = ++this.#attempt;
    let socket: net.Socket;
    try {
      socket = this.#dial();
    } catch (err) {
      queueMicrotask(() => this.#failed(attempt, connectErrorFrom(err)));
      this.factory.startedConnecting(this);
      return;
    }
    this.#socket = socket;
    const onError = (err: Error): void => this.#failed(attempt, connectErrorFrom(err));
    const onEarlyClose = (): void =>
      this.#failed(
        attempt,
        new ConnectError("ERR_CONNECT", "The connection closed before it was established."),
      );
    socket.on("error", onError);
    socket.once("close", onEarlyClose);
    socket.once(this.#connectEvent, () => {
      socket.off("error", onError);
      socket.off("close", onEarlyClose);
      this.#connected(attempt, socket);
    });
    if (this.#timeout !== null) {
      this.#timeoutCall = this.#reactor.callLater(this.#timeout, () => {
        this.#timeoutCall = null;
        this.#failed(attempt, new ConnectTimeoutError());
      });
    }
    this.factory.startedConnecting(this);
  }

  #cancelTimeout(): void {
    const call = this.#timeoutCall;
    this.#timeoutCall = null;
    if (call?.active()) call.cancel();
  }

  #connected(attempt: number, socket: net.Socket): void {
    if (attempt !== this.#attempt || this.state !== "connecting") return;
    this.#cancelTimeout();
    const reactor = this.#reactor;
    let peer: Address;
    let host: Address | undefined;
    if (this.#kind === "unix") {
      peer = this.#destination;
      host = unixAddress("");
    } else {
      if (reactor.noDelay) socket.setNoDelay(true);
      // Looked up now: a client's peer is worth keeping after the connection is gone.
      peer = tcpAddress(socket.remoteAddress, socket.remoteFamily, socket.remotePort);
    }
    let protocol: Protocol | null;
    try {
      protocol = this.factory.buildProtocol(peer);
    } catch (err) {
      reactor.logger("Unhandled error in buildProtocol:", err);
      this.#failed(
        attempt,
        new ConnectError("ERR_CONNECT", "buildProtocol threw.", { cause: err }),
      );
      return;
    }
    if (protocol === null) {
      this.#failed(attempt, new ConnectError("ERR_CONNECT", "The factory refused the connection."));
      return;
    }
    this.state = "connected";
    this.#socket = null;
    const transport = new SocketTransport(socket, protocol, {
      ...reactor.transportOptions,
      peer,
      ...(host !== undefined ? { host } : {}),
      onLost: (reason) => this.#connectionLost(reason),
    });
    this.transport = transport;
    transport.start();
    if (hasConnectionMadeHook(this.factory) && !transport.disconnected) {
      this.factory.clientConnectionMade(this, protocol);
    }
  }

  #failed(attempt: number, reason: Error): void {
    if (attempt !== this.#attempt || this.state !== "connecting") return;
    this.#cancelTimeout();
    const socket = this.#socket;
    this.#socket = null;
    if (socket !== null) {
      socket.removeAllListeners("error");
      socket.on("error", ignore);
      socket.destroy();
    }
    this.state = "disconnected";
    this.factory.clientConnectionFailed(this, reason);
    this.#maybeStop();
  }

  #connectionLost(reason: Error): void {
    this.state = "disconnected";
    this.transport = null;
    this.factory.clientConnectionLost(this, reason);
    this.#maybeStop();
  }

  #maybeStop(): void {
    if (this.state === "disconnected" && this.#factoryStarted) {
      this.#factoryStarted = false;
      this.factory.doStop();
    }
  }

  /** Abandons an attempt in progress (`clientConnectionFailed` with ConnectingCancelledError). */
  stopConnecting(): void {
    if (this.state === "connecting") this.#failed(this.#attempt, new ConnectingCancelledError());
  }

  /** Stops connecting, or closes the connection (`loseConnection`). */
  disconnect(): void {
    if (this.state === "connecting") this.stopConnecting();
    else if (this.state === "connected") this.transport?.loseConnection();
  }

  getDestination(): Address {
    return this.#destination;
  }
}
