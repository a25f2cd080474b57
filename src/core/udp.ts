/**
 * UDP (Twisted's `listenUDP`, `listenMulticast`, `DatagramProtocol`) over `node:dgram`.
 *
 * One datagram in is one `datagramReceived(data, addr)`; `transport.write(data, addr)` sends one
 * datagram and never waits: UDP may lose it, and a send that fails later (no route, refused) is
 * never an exception at the call site. After `transport.connect(host, port)` the port only talks
 * to that peer: `write(data)` takes no address, datagrams from anyone else are not delivered, and
 * an ICMP "port unreachable" becomes `connectionRefused()` (Twisted's connected UDP).
 *
 * Difference from Twisted, on purpose: a datagram larger than `maxPacketSize` is dropped and
 * counted (`port.oversizeDropped`) rather than delivered truncated.
 */
import * as dgram from "node:dgram";
import { isIPv6 } from "node:net";
import { CannotListenError, InvalidArgumentError, WeftError } from "./errors.js";
import type { Address } from "./interfaces.js";
import { consoleErrorLogger, type ErrorLogger } from "./transport.js";

/** A datagram too long for UDP was written (Twisted's `MessageLengthError`). */
export class MessageLengthError extends WeftError {
  constructor(message: string) {
    super("ERR_MESSAGE_LENGTH", message);
  }
}

/** Largest UDP payload over IPv4 (65,535 − 8 UDP − 20 IP header bytes). */
const MAX_UDP_PAYLOAD = 65_507;

/** Where a datagram goes: a host (an IP address, or a name) and a port. */
export interface DatagramAddress {
  /** The IP address. */
  host: string;
  /** The UDP port. */
  port: number;
}

/**
 * The protocol of a UDP port (Twisted's `DatagramProtocol`): `startProtocol` when the port starts
 * listening, `datagramReceived` per datagram, `stopProtocol` when it stops.
 */
export class DatagramProtocol {
  /** Set before `startProtocol`. */
  transport!: UDPPort;

  /** @internal Called by the port once it is bound. */
  makeConnection(transport: UDPPort): void {
    this.transport = transport;
    this.startProtocol();
  }

  /** The port is listening (`this.transport` is set). */
  startProtocol(): void {}

  /** The port stopped listening. */
  stopProtocol(): void {}

  /** One datagram from `addr`. `data` is the protocol's to keep. */
  datagramReceived(_data: Uint8Array, _addr: Address): void {}

  /** Connected UDP only: the peer answered with ICMP port unreachable. */
  connectionRefused(): void {}
}

/** Options of `listenUDP`. */
export interface ListenUDPOptions {
  /** Address to bind. Default `0.0.0.0`; an IPv6 address (e.g. `::1`, `::`) makes an IPv6 port. */
  interface?: string;
  /** Datagrams larger than this many bytes are dropped and counted. Default 8192 (Twisted's). */
  maxPacketSize?: number;
  /** Where errors thrown by the protocol go. Default `console.error`. */
  logger?: ErrorLogger;
}

/** Options of `listenMulticast`. */
export interface ListenMulticastOptions extends ListenUDPOptions {
  /** Let several sockets bind the same port (SO_REUSEADDR), to share a group. Default false. */
  listenMultiple?: boolean;
}

function udpAddress(host: string, port: number): Address {
  return { type: isIPv6(host) ? "UDP6" : "UDP", host, port };
}

/**
 * A bound UDP socket: the transport of one {@link DatagramProtocol} (Twisted's `udp.Port`, with
 * the multicast methods of `MulticastPort`).
 */
export class UDPPort {
  /** The protocol that receives this port's datagrams. */
  readonly protocol: DatagramProtocol;
  /** Datagrams larger than this many bytes are dropped (the `maxPacketSize` option; default 8192). */
  readonly maxPacketSize: number;
  /** Datagrams dropped because they were larger than `maxPacketSize`. */
  oversizeDropped = 0;
  readonly #socket: dgram.Socket;
  readonly #logger: ErrorLogger;
  #host: Address;
  #peer: DatagramAddress | null = null;
  #stopped: Promise<void> | null = null;
  readonly #onStop: Array<() => void> = [];

  /** @internal Use the reactor's `listenUDP`/`listenMulticast`. */
  constructor(
    socket: dgram.Socket,
    protocol: DatagramProtocol,
    maxPacketSize: number,
    logger: ErrorLogger,
  ) {
    this.#socket = socket;
    this.protocol = protocol;
    this.maxPacketSize = maxPacketSize;
    this.#logger = logger;
    const a = socket.address();
    this.#host = udpAddress(a.address, a.port);
  }

  /** @internal */
  start(): void {
    this.#socket.on("message", (msg, rinfo) => this.#onMessage(msg, rinfo));
    this.#socket.on("error", (err) => this.#onError(err));
    try {
      this.protocol.makeConnection(this);
    } catch (err) {
      this.#logger("Unhandled error in startProtocol:", err);
    }
  }

  /** @internal Runs `fn` once the port has stopped. */
  onStop(fn: () => void): void {
    this.#onStop.push(fn);
  }

  #onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (msg.length > this.maxPacketSize) {
      this.oversizeDropped++;
      return;
    }
    try {
      this.protocol.datagramReceived(msg, udpAddress(rinfo.address, rinfo.port));
    } catch (err) {
      this.#logger("Unhandled error in datagramReceived:", err);
    }
  }

  #onError(err: Error & { code?: string }): void {
    if (err.code === "ECONNREFUSED" && this.#peer !== null) {
      try {
        this.protocol.connectionRefused();
      } catch (e) {
        this.#logger("Unhandled error in connectionRefused:", e);
      }
      return;
    }
    this.#logger("Error on a UDP port:", err);
  }

  /** The bound address (the actual port when 0 was asked for). */
  getHost(): Address {
    return this.#host;
  }

  /** The connected peer, or null. */
  getPeer(): DatagramAddress | null {
    return this.#peer;
  }

  /**
   * Sends one datagram to `addr` (or to the connected peer, with no `addr`). Never waits and never
   * throws for the network's reasons (loss, refused, no route): those are logged, or reach
   * `connectionRefused` on a connected port. Throws MessageLengthError for a datagram no UDP packet
   * can carry, and InvalidArgumentError for an address on a connected port or none on an
   * unconnected one. A no-op once the port is stopped.
   */
  write(data: Uint8Array | string, addr?: DatagramAddress): void {
    if (this.#stopped !== null) return;
    const bytes = typeof data === "string" ? Buffer.from(data) : data;
    if (bytes.length > MAX_UDP_PAYLOAD) {
      throw new MessageLengthError(
        `A ${bytes.length}-byte datagram is too long for UDP (at most ${MAX_UDP_PAYLOAD}).`,
      );
    }
    const onSent = (err: Error | null): void => {
      if (err !== null) this.#onError(err);
    };
    if (this.#peer !== null) {
      if (addr !== undefined && (addr.host !== this.#peer.host || addr.port !== this.#peer.port)) {
        throw new InvalidArgumentError("This UDP port is connected: write(data) takes no address.");
      }
      this.#socket.send(bytes, onSent);
      return;
    }
    if (addr === undefined) {
      throw new InvalidArgumentError("write(data, addr) needs an address on an unconnected port.");
    }
    this.#socket.send(bytes, addr.port, addr.host, onSent);
  }

  /**
   * Connects the port to one peer (Twisted's connected UDP); `host` must be an IP address, as in
   * Twisted. Resolves once connected. Can be done once.
   */
  connect(host: string, port: number): Promise<void> {
    if (this.#peer !== null) {
      return Promise.reject(new InvalidArgumentError("This UDP port is already connected."));
    }
    this.#peer = { host, port };
    return new Promise<void>((resolve, reject) => {
      try {
        this.#socket.connect(port, host, () => resolve());
      } catch (err) {
        this.#peer = null;
        reject(new InvalidArgumentError(`Cannot connect UDP to ${host}:${port}: ${String(err)}`));
      }
    });
  }

  /** Joins a multicast group (on `iface`, an address of a local interface). */
  joinGroup(group: string, iface?: string): void {
    this.#socket.addMembership(group, iface);
  }

  /** Leaves a multicast group. */
  leaveGroup(group: string, iface?: string): void {
    this.#socket.dropMembership(group, iface);
  }

  /** Whether this host's own multicast datagrams loop back to it. */
  setLoopbackMode(loop: boolean): void {
    this.#socket.setMulticastLoopback(loop);
  }

  /** Multicast time-to-live (hops). */
  setTTL(ttl: number): void {
    this.#socket.setMulticastTTL(ttl);
  }

  /** The interface multicast datagrams leave from. */
  setOutgoingInterface(iface: string): void {
    this.#socket.setMulticastInterface(iface);
  }

  /** Allows or forbids sending to broadcast addresses (SO_BROADCAST; Twisted's `setBroadcastAllowed`). */
  setBroadcastAllowed(allowed: boolean): void {
    this.#socket.setBroadcast(allowed);
  }

  /** Stops listening: `stopProtocol`, then the socket closes. Idempotent. */
  stopListening(): Promise<void> {
    if (this.#stopped !== null) return this.#stopped;
    this.#stopped = new Promise<void>((resolve) => {
      this.#socket.close(() => resolve());
    }).then(() => {
      try {
        this.protocol.stopProtocol();
      } catch (err) {
        this.#logger("Unhandled error in stopProtocol:", err);
      }
      for (const fn of this.#onStop.splice(0)) fn();
    });
    return this.#stopped;
  }

  /** Same as {@link stopListening} (Twisted's name on a transport). */
  loseConnection(): void {
    void this.stopListening();
  }
}

/** Binds a UDP socket and connects `protocol` to it (see the reactor's `listenUDP`). */
export function bindUDP(
  port: number,
  protocol: DatagramProtocol,
  options: ListenMulticastOptions = {},
): Promise<UDPPort> {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    return Promise.reject(new InvalidArgumentError(`Invalid UDP port ${String(port)}.`));
  }
  const maxPacketSize = options.maxPacketSize ?? 8192;
  if (!Number.isInteger(maxPacketSize) || maxPacketSize < 1) {
    return Promise.reject(new InvalidArgumentError(`Invalid maxPacketSize ${maxPacketSize}.`));
  }
  const iface = options.interface ?? "0.0.0.0";
  const socket = dgram.createSocket({
    type: isIPv6(iface) ? "udp6" : "udp4",
    reuseAddr: options.listenMultiple === true,
  });
  return new Promise<UDPPort>((resolve, reject) => {
    const onError = (err: Error): void => {
      socket.close();
      reject(
        new CannotListenError(`Cannot listen on udp ${iface}:${port}: ${err.message}`, {
          cause: err,
        }),
      );
    };
    socket.once("error", onError);
    socket.bind({ port, address: iface }, () => {
      socket.off("error", onError);
      const p = new UDPPort(socket, protocol, maxPacketSize, options.logger ?? consoleErrorLogger);
      p.start();
      resolve(p);
    });
  });
}
