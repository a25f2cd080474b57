/**
 * Where a datagram server listens, as an object or a description string in Twisted's endpoint
 * syntax: `udp:PORT[:interface=ADDR][:maxPacketSize=N]` (positional order: port, interface).
 * Twisted has no UDP server endpoints; this is weft's, for configurations such as `weft serve`'s
 * (a front-end on `udp:10004`).
 */
import { parseDescription, quoteStringArgument } from "./endpoints.js";
import { InvalidArgumentError } from "./errors.js";
import type { DatagramProtocol, ListenUDPOptions, UDPPort } from "./udp.js";

/** The part of a reactor a UDP endpoint uses. */
export interface UDPReactor {
  /** Binds a UDP port for `protocol` (see {@link Reactor.listenUDP}). */
  listenUDP(port: number, protocol: DatagramProtocol, options?: ListenUDPOptions): Promise<UDPPort>;
}

/** Listens on a UDP port. */
export class UDPServerEndpoint {
  constructor(
    /** The reactor that binds the port. */
    readonly reactor: UDPReactor,
    /** The UDP port to bind (0: any free port). */
    readonly port: number,
    /** Interface and largest datagram. */
    readonly options: ListenUDPOptions = {},
  ) {}

  /** Binds the port for `protocol`; rejects with CannotListenError. */
  listen(protocol: DatagramProtocol): Promise<UDPPort> {
    return this.reactor.listenUDP(this.port, protocol, this.options);
  }

  /** The description string (`udp:PORT[:interface=ADDR][:maxPacketSize=N]`) this endpoint parses from. */
  describe(): string {
    let s = `udp:${this.port}`;
    if (this.options.interface !== undefined) {
      s += `:interface=${quoteStringArgument(this.options.interface)}`;
    }
    if (this.options.maxPacketSize !== undefined)
      s += `:maxPacketSize=${this.options.maxPacketSize}`;
    return s;
  }
}

/** Parses `udp:PORT[:interface=ADDR][:maxPacketSize=N]`; InvalidArgumentError names what is wrong. */
export function udpServerFromString(reactor: UDPReactor, description: string): UDPServerEndpoint {
  const { args, kwargs } = parseDescription(description);
  const bad = (what: string): InvalidArgumentError =>
    new InvalidArgumentError(`${what} in ${JSON.stringify(description)}`);
  if (args[0] !== "udp") throw bad('A UDP endpoint must start with "udp:"');
  if (args.length > 3) throw bad("Too many positional arguments (port, interface)");
  const values = new Map<string, string>();
  if (args[1] !== undefined) values.set("port", args[1]);
  if (args[2] !== undefined) values.set("interface", args[2]);
  for (const [k, v] of kwargs) {
    if (k !== "port" && k !== "interface" && k !== "maxPacketSize") {
      throw bad(
        `Unknown argument "${k}" for a "udp" endpoint (accepted: port, interface, maxPacketSize)`,
      );
    }
    values.set(k, v);
  }
  const port = values.get("port") ?? "";
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535)
    throw bad(`Invalid port ${JSON.stringify(port)}`);
  const options: ListenUDPOptions = {};
  const iface = values.get("interface");
  if (iface !== undefined && iface !== "") options.interface = iface;
  const max = values.get("maxPacketSize");
  if (max !== undefined) {
    if (!/^\d{1,5}$/.test(max) || Number(max) < 1)
      throw bad(`Invalid maxPacketSize ${JSON.stringify(max)}`);
    options.maxPacketSize = Number(max);
  }
  return new UDPServerEndpoint(reactor, Number(port), options);
}
