/**
 * Where the target listens: a weft/Twisted client endpoint string (`tcp:127.0.0.1:10001`,
 * `tcp:host=…:port=…`, `unix:/path`), or the CLI's short forms (`10001`, `host:10001`), parsed
 * with weft's own endpoint grammar and turned into `node:net` connect options.
 */
import type { NetConnectOpts } from "node:net";
import {
  type ClientEndpoint,
  clientFromString,
  type EndpointReactor,
  TCPClientEndpoint,
  UNIXClientEndpoint,
} from "../core/endpoints.js";
import { InvalidArgumentError } from "../core/errors.js";

/** A parsed target address. */
export interface TargetAddress {
  /** The endpoint as written (for messages and replay command lines). */
  readonly text: string;
  /** The `node:net` options that connect to it. */
  readonly connect: NetConnectOpts;
}

/** The endpoint grammar needs a reactor only to connect; parsing never touches it. */
const PARSE_ONLY: EndpointReactor = new Proxy({} as EndpointReactor, {
  get() {
    throw new InvalidArgumentError("weft fuzz: endpoints are only parsed here");
  },
});

/** `HOST:PORT` → `tcp:HOST:PORT`, `PORT` → `tcp:127.0.0.1:PORT`, endpoint strings as they are. */
function description(text: string): string {
  if (/^\d+$/.test(text)) return `tcp:127.0.0.1:${text}`;
  if (/^[a-z]+:/i.test(text) && !/^[^:]+:\d+$/.test(text)) return text;
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  if (m !== null) return `tcp:${(m[1] as string).replace(/:/g, "\\:")}:${m[2]}`;
  return text;
}

/** Parses `text` (see the module comment); InvalidArgumentError for anything else (TLS included). */
export function parseTarget(text: string): TargetAddress {
  const ep: ClientEndpoint = clientFromString(PARSE_ONLY, description(text));
  if (ep instanceof TCPClientEndpoint) {
    return { text, connect: { host: ep.host, port: ep.port } };
  }
  if (ep instanceof UNIXClientEndpoint) {
    return { text, connect: { path: ep.path } };
  }
  throw new InvalidArgumentError(
    `weft fuzz speaks to tcp: and unix: endpoints, not ${JSON.stringify(text)}`,
  );
}
