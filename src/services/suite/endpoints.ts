/**
 * The suite's two rules on endpoint strings: the default interface (`host`) and the port offset.
 * Descriptions are read and written only with `core/endpoints.ts` (`parseDescription`,
 * `formatDescription`), so quoting follows one grammar.
 */
import { formatDescription, parseDescription } from "../../core/endpoints.js";
import type { Address } from "../../core/interfaces.js";
import { ConfigError } from "../errors.js";

/** Endpoint types whose first argument is a port, shifted by the offset and bound to `host`. */
const PORT_TYPES: ReadonlySet<string> = new Set(["tcp", "tls", "ssl", "udp"]);

/**
 * The endpoint string actually listened on: for `tcp:`/`tls:`/`ssl:` descriptions, `portOffset`
 * added to a non-zero port and `interface=host` added when none is given (positional interface and
 * backlog become keywords). Other types are returned as is. Throws ConfigError for a TCP/TLS
 * description without a valid port.
 */
export function resolveServerEndpoint(
  description: string,
  host: string,
  portOffset: number,
): string {
  const parsed = parseDescription(description);
  const type = parsed.args[0] ?? "";
  const positional = parsed.args.slice(1);
  // Other types, and too many arguments (serverFromString names that error), are left as written.
  if (!PORT_TYPES.has(type) || positional.length > 3) return description;
  const portText = parsed.kwargs.get("port") ?? positional[0] ?? "";
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port > 65535) {
    throw new ConfigError(
      `Endpoint ${JSON.stringify(description)}: the port must be an integer 0..65535`,
    );
  }
  const finalPort = port === 0 ? 0 : port + portOffset;
  if (finalPort > 65535) {
    throw new ConfigError(
      `Endpoint ${JSON.stringify(description)}: port ${port} + offset ${portOffset} > 65535`,
    );
  }
  const kwargs = new Map(parsed.kwargs);
  kwargs.delete("port");
  if (positional[1] !== undefined && !kwargs.has("interface"))
    kwargs.set("interface", positional[1]);
  if (positional[2] !== undefined && !kwargs.has("backlog")) kwargs.set("backlog", positional[2]);
  if (!kwargs.has("interface")) kwargs.set("interface", host);
  return formatDescription({ args: [type, String(finalPort)], kwargs });
}

/** `host:port` (IPv6 in brackets) or the socket path. */
export function formatAddress(a: Address): string {
  if (a.type === "UNIX") return a.path ?? "";
  return a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
