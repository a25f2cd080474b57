/**
 * Where a datagram server listens, as an object or a description string in Twisted's endpoint
 * syntax: `udp:PORT[:interface=ADDR][:maxPacketSize=N]` (positional order: port, interface).
 * Twisted has no UDP server endpoints; this is weft's, for configurations such as `weft serve`'s
 * (a front-end on `udp:10004`).
 */
import { bind, parseDescription, portArg, quoteStringArgument } from "./endpoints.js";
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
  const parsed = parseDescription(description);
  if (parsed.args[0] !== "udp")
    throw new InvalidArgumentError(
      `A UDP endpoint must start with "udp:" in ${JSON.stringify(description)}`,
    );
  const values = bind(
    description,
    "udp",
    {
      positional: ["port", "interface"],
      keywords: ["port", "interface", "maxPacketSize"],
      required: ["port"],
    },
    parsed,
  );
  const options: ListenUDPOptions = {};
  const iface = values.get("interface");
  if (iface !== undefined && iface !== "") options.interface = iface;
  const max = values.get("maxPacketSize");
  if (max !== undefined) {
    if (!/^\d{1,5}$/.test(max) || Number(max) < 1)
      throw new InvalidArgumentError(
        `Invalid maxPacketSize ${JSON.stringify(max)} in ${JSON.stringify(description)}`,
      );
    options.maxPacketSize = Number(max);
  }
  return new UDPServerEndpoint(
    reactor,
    portArg(description, "port", values.get("port") as string),
    options,
  );
}
