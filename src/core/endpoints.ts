/**
 * Endpoints (Twisted's `twisted.internet.endpoints`): where to listen or connect, as an object or as
 * a description string such as `tcp:10001:interface=127.0.0.1`, `unix:/tmp/s.sock`,
 * `tls:10443:privateKey=key.pem:certKey=cert.pem` (servers) or `tcp:example.com:10001`,
 * `tcp:host=::1:port=80`… (clients; escape a literal colon as `\:`).
 *
 * Why one file over ~600 lines: the endpoint classes and the parser of their strings are one
 * grammar, written in both directions (each class's `describe()` writes what `serverFromString` /
 * `clientFromString` read back, with the same escaping); kept together they cannot drift apart.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Deferred } from "./deferred.js";
import { CannotListenError, InvalidArgumentError, WeftError } from "./errors.js";
import { ClientFactory, type Factory } from "./factory.js";
import type { Address, Connector } from "./interfaces.js";
import { ProcessEndpoint, type ProcessEndpointOptions } from "./process-endpoint.js";
import type { ProcessReactor } from "./process-output.js";
import type { Protocol } from "./protocol.js";
import {
  type ConnectOptions,
  type ConnectTCPOptions,
  type ConnectTLSOptions,
  connectErrorFrom,
  type ListeningPort,
  type ListenTCPOptions,
  type ListenTLSOptions,
} from "./reactor.js";

/** The part of a reactor endpoints use (a real {@link Reactor} or a test double). */
export interface EndpointReactor {
  /** Listens on a TCP port (see {@link Reactor.listenTCP}). */
  listenTCP(port: number, factory: Factory, options?: ListenTCPOptions): Promise<ListeningPort>;
  /** Listens for TLS on a TCP port (see {@link Reactor.listenTLS}). */
  listenTLS(port: number, factory: Factory, options: ListenTLSOptions): Promise<ListeningPort>;
  /** Listens on a Unix socket (see {@link Reactor.listenUNIX}). */
  listenUNIX(
    path: string,
    factory: Factory,
    options?: { backlog?: number },
  ): Promise<ListeningPort>;
  /** Connects over TCP (see {@link Reactor.connectTCP}). */
  connectTCP(
    host: string,
    port: number,
    factory: ClientFactory,
    options?: ConnectTCPOptions,
  ): Connector;
  /** Connects over TLS (see {@link Reactor.connectTLS}). */
  connectTLS(
    host: string,
    port: number,
    factory: ClientFactory,
    options?: ConnectTLSOptions,
  ): Connector;
  /** Connects to a Unix socket (see {@link Reactor.connectUNIX}). */
  connectUNIX(path: string, factory: ClientFactory, options?: ConnectOptions): Connector;
}

/** Where to listen (Twisted's IStreamServerEndpoint). */
export interface ServerEndpoint {
  /** Starts listening with `factory`; rejects with CannotListenError. */
  listen(factory: Factory): Promise<ListeningPort>;
  /** A description string that `serverFromString` parses back to the same endpoint. */
  describe(): string;
}

/** Where to connect (Twisted's IStreamClientEndpoint). */
export interface ClientEndpoint {
  /**
   * Connects, building the protocol with `factory`. The Deferred fires with the protocol once it is
   * connected (after its `connectionMade`), or fails with a typed ConnectError (refused, timeout,
   * DNS…). Cancelling it abandons the attempt (ConnectingCancelledError).
   */
  connect<P extends Protocol>(factory: Factory<P>): Deferred<P>;
  /** A description string that `clientFromString` parses back to the same endpoint. */
  describe(): string;
}

/** Wraps a plain Factory for one endpoint connection and fires the Deferred. */
class EndpointClientFactory<P extends Protocol> extends ClientFactory<P> {
  readonly #wrapped: Factory<P>;
  readonly #result: Deferred<P>;
  constructor(wrapped: Factory<P>, result: Deferred<P>) {
    super();
    this.#wrapped = wrapped;
    this.#result = result;
  }
  override buildProtocol(addr: Address): P | null {
    return this.#wrapped.buildProtocol(addr);
  }
  override startFactory(): void {
    this.#wrapped.doStart();
  }
  override stopFactory(): void {
    this.#wrapped.doStop();
  }
  override clientConnectionFailed(_connector: Connector, reason: Error): void {
    if (!this.#result.called) this.#result.errback(reason);
  }
  override clientConnectionLost(_connector: Connector, reason: Error): void {
    if (!this.#result.called) this.#result.errback(reason);
  }
  clientConnectionMade(_connector: Connector, protocol: Protocol): void {
    if (!this.#result.called) this.#result.callback(protocol as P);
  }
}

function connectWith<P extends Protocol>(
  factory: Factory<P>,
  start: (f: ClientFactory<P>) => Connector,
): Deferred<P> {
  let connector: Connector | null = null;
  const result = new Deferred<P>(() => connector?.stopConnecting());
  try {
    connector = start(new EndpointClientFactory(factory, result));
  } catch (err) {
    if (!result.called) result.errback(err instanceof WeftError ? err : connectErrorFrom(err));
  }
  return result;
}

const esc = (v: string): string =>
  v.replace(/\\/g, "\\\\").replace(/:/g, "\\:").replace(/=/g, "\\=");

/** The `:interface=…:backlog=…` tail of a TCP or TLS server description. */
function listenSuffix(o: ListenTCPOptions): string {
  let s = "";
  if (o.interface !== undefined) s += `:interface=${esc(o.interface)}`;
  if (o.backlog !== undefined) s += `:backlog=${o.backlog}`;
  return s;
}

/** The `:timeout=…:bindAddress=…` tail of a TCP or TLS client description. */
function connectSuffix(o: ConnectTCPOptions): string {
  let s = "";
  if (o.timeout != null) s += `:timeout=${o.timeout}`;
  if (o.bindAddress !== undefined) s += `:bindAddress=${esc(o.bindAddress.host)}`;
  return s;
}

/** Listens on TCP (`tcp:PORT[:interface=ADDR][:backlog=N]`). */
export class TCPServerEndpoint implements ServerEndpoint {
  constructor(
    /** The reactor that listens or connects. */
    readonly reactor: EndpointReactor,
    /** The TCP port to listen on (0: any free port). */
    readonly port: number,
    /** Listening options (interface, backlog). */
    readonly options: ListenTCPOptions = {},
  ) {}
  listen(factory: Factory): Promise<ListeningPort> {
    return this.reactor.listenTCP(this.port, factory, this.options);
  }
  describe(): string {
    return `tcp:${this.port}${listenSuffix(this.options)}`;
  }
}

/** Listens on a Unix socket (`unix:PATH[:backlog=N]`). */
export class UNIXServerEndpoint implements ServerEndpoint {
  constructor(
    /** The reactor that listens or connects. */
    readonly reactor: EndpointReactor,
    /** The Unix socket's path. */
    readonly path: string,
    /** Listening options. */
    readonly options: {
      /** Length of the queue of pending connections (Node's default when omitted). */
      backlog?: number;
    } = {},
  ) {}
  listen(factory: Factory): Promise<ListeningPort> {
    return this.reactor.listenUNIX(this.path, factory, this.options);
  }
  describe(): string {
    let s = `unix:${esc(this.path)}`;
    if (this.options.backlog !== undefined) s += `:backlog=${this.options.backlog}`;
    return s;
  }
}

/** Options of {@link TLSServerEndpoint}: PEM files read when listening. */
export interface TLSServerFiles extends ListenTCPOptions {
  /** PEM file holding the private key (and, if `certKey` is omitted, the certificate). */
  privateKey: string;
  /** PEM file holding the certificate chain. Default: `privateKey`. */
  certKey?: string;
}

/** Listens for TLS (`tls:PORT:privateKey=FILE[:certKey=FILE][:interface=ADDR][:backlog=N]`). */
export class TLSServerEndpoint implements ServerEndpoint {
  constructor(
    /** The reactor that listens or connects. */
    readonly reactor: EndpointReactor,
    /** The TCP port to listen on (0: any free port). */
    readonly port: number,
    /** The key and certificate files and the listening options. */
    readonly files: TLSServerFiles,
  ) {}
  listen(factory: Factory): Promise<ListeningPort> {
    let key: Buffer;
    let cert: Buffer;
    try {
      key = readFileSync(this.files.privateKey);
      cert = readFileSync(this.files.certKey ?? this.files.privateKey);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      return Promise.reject(
        new CannotListenError(`Cannot read the TLS key/certificate: ${msg}`, { cause: err }),
      );
    }
    const { privateKey: _k, certKey: _c, ...rest } = this.files;
    return this.reactor.listenTLS(this.port, factory, { ...rest, key, cert });
  }
  describe(): string {
    let s = `tls:${this.port}:privateKey=${esc(this.files.privateKey)}`;
    if (this.files.certKey !== undefined) s += `:certKey=${esc(this.files.certKey)}`;
    return s + listenSuffix(this.files);
  }
}

/** Connects over TCP (`tcp:HOST:PORT[:timeout=S][:bindAddress=ADDR]`). */
export class TCPClientEndpoint implements ClientEndpoint {
  constructor(
    /** The reactor that listens or connects. */
    readonly reactor: EndpointReactor,
    /** The host name or IP address to connect to. */
    readonly host: string,
    /** The TCP port to connect to. */
    readonly port: number,
    /** Connecting options (timeout, bind address). */
    readonly options: ConnectTCPOptions = {},
  ) {}
  connect<P extends Protocol>(factory: Factory<P>): Deferred<P> {
    return connectWith(factory, (f) =>
      this.reactor.connectTCP(this.host, this.port, f, this.options),
    );
  }
  describe(): string {
    return `tcp:host=${esc(this.host)}:port=${this.port}${connectSuffix(this.options)}`;
  }
}

/** Connects to a Unix socket (`unix:PATH[:timeout=S]`). */
export class UNIXClientEndpoint implements ClientEndpoint {
  constructor(
    /** The reactor that listens or connects. */
    readonly reactor: EndpointReactor,
    /** The Unix socket's path. */
    readonly path: string,
    /** Connecting options (timeout). */
    readonly options: ConnectOptions = {},
  ) {}
  connect<P extends Protocol>(factory: Factory<P>): Deferred<P> {
    return connectWith(factory, (f) => this.reactor.connectUNIX(this.path, f, this.options));
  }
  describe(): string {
    let s = `unix:${esc(this.path)}`;
    if (this.options.timeout != null) s += `:timeout=${this.options.timeout}`;
    return s;
  }
}

/** Options of {@link TLSClientEndpoint}: PEM files read when connecting. */
export interface TLSClientFiles extends ConnectTCPOptions {
  /** A directory whose `*.pem`/`*.crt` files are the trusted CAs. Default: Node's bundled roots. */
  caCertsDir?: string;
  /** PEM file of a client certificate (and key, if `privateKey` is omitted). */
  certificate?: string;
  /** PEM file of the client certificate's key. */
  privateKey?: string;
  /** Name to check the server's certificate against (SNI). Default: the host unless it is an IP. */
  servername?: string;
  /** Verify the server's certificate. Default true. */
  rejectUnauthorized?: boolean;
}

/** Connects over TLS (`tls:HOST:PORT[:caCertsDir=DIR][:certificate=FILE][:privateKey=FILE]…`). */
export class TLSClientEndpoint implements ClientEndpoint {
  constructor(
    /** The reactor that listens or connects. */
    readonly reactor: EndpointReactor,
    /** The host name or IP address to connect to. */
    readonly host: string,
    /** The TCP port to connect to. */
    readonly port: number,
    /** The CA, certificate and key files and the connecting options. */
    readonly files: TLSClientFiles = {},
  ) {}
  connect<P extends Protocol>(factory: Factory<P>): Deferred<P> {
    const { caCertsDir, certificate, privateKey, ...rest } = this.files;
    const options: ConnectTLSOptions = { ...rest };
    try {
      if (caCertsDir !== undefined) {
        options.ca = readdirSync(caCertsDir)
          .filter((n) => /\.(pem|crt)$/i.test(n))
          .sort()
          .map((n) => readFileSync(join(caCertsDir, n)));
      }
      if (certificate !== undefined) {
        options.cert = readFileSync(certificate);
        options.key = readFileSync(privateKey ?? certificate);
      }
    } catch (err) {
      const d = new Deferred<P>();
      d.errback(connectErrorFrom(err));
      return d;
    }
    return connectWith(factory, (f) => this.reactor.connectTLS(this.host, this.port, f, options));
  }
  describe(): string {
    const f = this.files;
    let s = `tls:host=${esc(this.host)}:port=${this.port}${connectSuffix(f)}`;
    if (f.caCertsDir !== undefined) s += `:caCertsDir=${esc(f.caCertsDir)}`;
    if (f.certificate !== undefined) s += `:certificate=${esc(f.certificate)}`;
    if (f.privateKey !== undefined) s += `:privateKey=${esc(f.privateKey)}`;
    if (f.servername !== undefined) s += `:servername=${esc(f.servername)}`;
    if (f.rejectUnauthorized !== undefined) s += `:rejectUnauthorized=${f.rejectUnauthorized}`;
    return s;
  }
}

// ----------------------------------------------------------------------------------------------
// Description strings

/** A description split into positional arguments and `key=value` arguments. */
export interface ParsedDescription {
  args: string[];
  kwargs: Map<string, string>;
}

/**
 * Splits an endpoint description the way Twisted does: `:` separates arguments, the first `=` of
 * an argument separates key and value (a value may contain further `=`), and a backslash makes the
 * next character literal (`\:` for a colon, `\\` for a backslash). A later duplicate key wins.
 */
export function parseDescription(description: string): ParsedDescription {
  const args: string[] = [];
  const kwargs = new Map<string, string>();
  let current = "";
  let key: string | null = null;
  const finish = (): void => {
    if (key === null) args.push(current);
    else kwargs.set(key, current);
    current = "";
    key = null;
  };
  for (let i = 0; i < description.length; i++) {
    const ch = description[i] as string;
    if (ch === "\\") {
      i++;
      if (i >= description.length) {
        throw new InvalidArgumentError(
          `Endpoint description ends with a lone backslash: ${JSON.stringify(description)}`,
        );
      }
      current += description[i];
    } else if (ch === ":") {
      finish();
    } else if (ch === "=" && key === null) {
      key = current;
      current = "";
    } else {
      current += ch;
    }
  }
  finish();
  return { args, kwargs };
}

/**
 * Escapes backslashes and colons so that `parseDescription` reads `value` back as one literal
 * argument value (Twisted's `quoteStringArgument`): `tcp:80:interface=${quoteStringArgument("::1")}`.
 */
export function quoteStringArgument(value: string): string {
  return value.replace(/[\\:]/g, "\\$&");
}

/**
 * The description string of `parsed`, the inverse of {@link parseDescription}: every argument
 * quoted, and `=` escaped too where it would otherwise split a positional argument or a key.
 * `parseDescription(formatDescription(p))` equals `p` for any `p` with at least one positional
 * argument.
 */
export function formatDescription(parsed: ParsedDescription): string {
  const parts = parsed.args.map(quoteKey);
  for (const [k, v] of parsed.kwargs) parts.push(`${quoteKey(k)}=${quoteStringArgument(v)}`);
  return parts.join(":");
}

function quoteKey(value: string): string {
  return value.replace(/[\\:=]/g, "\\$&");
}

/** The arguments an endpoint type accepts. */
export interface Spec {
  /** Names of the positional arguments, in order (after the type). */
  positional: readonly string[];
  /** Every accepted keyword (positional names included). */
  keywords: readonly string[];
  required: readonly string[];
}

/** The arguments of `parsed` by name, checked against `spec`; InvalidArgumentError names what is wrong. */
export function bind(
  description: string,
  kind: string,
  spec: Spec,
  parsed: ParsedDescription,
): Map<string, string> {
  const out = new Map<string, string>();
  const rest = parsed.args.slice(1);
  if (rest.length > spec.positional.length) {
    throw new InvalidArgumentError(
      `Too many positional arguments for a "${kind}" endpoint (at most ${spec.positional.length}: ${spec.positional.join(", ")}) in ${JSON.stringify(description)}${colonHint(description)}`,
    );
  }
  for (let i = 0; i < rest.length; i++) out.set(spec.positional[i] as string, rest[i] as string);
  for (const [k, v] of parsed.kwargs) {
    if (!spec.keywords.includes(k)) {
      throw new InvalidArgumentError(
        `Unknown argument "${k}" for a "${kind}" endpoint (accepted: ${spec.keywords.join(", ")}) in ${JSON.stringify(description)}`,
      );
    }
    if (out.has(k) && spec.positional.includes(k) && rest.length > spec.positional.indexOf(k)) {
      throw new InvalidArgumentError(
        `Argument "${k}" given twice in ${JSON.stringify(description)}${colonHint(description)}`,
      );
    }
    out.set(k, v);
  }
  for (const r of spec.required) {
    if (!out.has(r) || out.get(r) === "") {
      throw new InvalidArgumentError(
        `Missing "${r}" for a "${kind}" endpoint in ${JSON.stringify(description)}`,
      );
    }
  }
  return out;
}

/** Unescaped empty arguments usually mean an IPv6 address or path whose colons were not escaped. */
function colonHint(description: string): string {
  return /(^|[^\\]):(:|$)|=:/.test(description) ? " (escape colons inside values as \\:)" : "";
}

/** `value` as a port number 0–65535; InvalidArgumentError otherwise. */
export function portArg(description: string, name: string, value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) {
    throw new InvalidArgumentError(
      `Invalid ${name} ${JSON.stringify(value)} (an integer 0–65535 expected) in ${JSON.stringify(description)}${colonHint(description)}`,
    );
  }
  return Number(value);
}

function intArg(description: string, name: string, value: string): number {
  if (!/^\d{1,9}$/.test(value) || Number(value) < 1) {
    throw new InvalidArgumentError(
      `Invalid ${name} ${JSON.stringify(value)} (a positive integer expected) in ${JSON.stringify(description)}`,
    );
  }
  return Number(value);
}

function secondsArg(description: string, name: string, value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n <= 0) {
    throw new InvalidArgumentError(
      `Invalid ${name} ${JSON.stringify(value)} (a positive number of seconds expected) in ${JSON.stringify(description)}`,
    );
  }
  return n;
}

function boolArg(description: string, name: string, value: string): boolean {
  const v = value.toLowerCase();
  if (v === "true" || v === "yes" || v === "1") return true;
  if (v === "false" || v === "no" || v === "0") return false;
  throw new InvalidArgumentError(
    `Invalid ${name} ${JSON.stringify(value)} (true/false expected) in ${JSON.stringify(description)}`,
  );
}

function typeOf(description: string, parsed: ParsedDescription): string {
  const type = parsed.args[0];
  if (type === undefined || type === "" || !description.includes(":")) {
    throw new InvalidArgumentError(
      `Endpoint description must start with a type such as "tcp:", "unix:" or "tls:": ${JSON.stringify(description)}`,
    );
  }
  return type;
}

/**
 * Parses a server endpoint description:
 * - `tcp:PORT[:interface=ADDR][:backlog=N]` (positional order: port, interface, backlog);
 * - `unix:PATH[:backlog=N]` (or `address=PATH`);
 * - `tls:PORT:privateKey=FILE[:certKey=FILE][:interface=ADDR][:backlog=N]` (`ssl:` too).
 *
 * Throws InvalidArgumentError naming the part that is wrong.
 */
export function serverFromString(reactor: EndpointReactor, description: string): ServerEndpoint {
  const parsed = parseDescription(description);
  const type = typeOf(description, parsed);
  const args = (spec: Spec): Map<string, string> => bind(description, type, spec, parsed);
  switch (type) {
    case "tcp": {
      const a = args({
        positional: ["port", "interface", "backlog"],
        keywords: ["port", "interface", "backlog"],
        required: ["port"],
      });
      const options = listenOptions(description, a);
      return new TCPServerEndpoint(
        reactor,
        portArg(description, "port", a.get("port") as string),
        options,
      );
    }
    case "unix": {
      const a = args({
        positional: ["address", "backlog"],
        keywords: ["address", "backlog"],
        required: ["address"],
      });
      return new UNIXServerEndpoint(
        reactor,
        a.get("address") as string,
        listenOptions(description, a),
      );
    }
    case "tls":
    case "ssl": {
      const keys = ["port", "privateKey", "certKey", "interface", "backlog"];
      const a = args({ positional: ["port"], keywords: keys, required: ["port", "privateKey"] });
      const files: TLSServerFiles = { privateKey: a.get("privateKey") as string };
      const certKey = a.get("certKey");
      if (certKey !== undefined) files.certKey = certKey;
      listenOptions(description, a, files);
      return new TLSServerEndpoint(
        reactor,
        portArg(description, "port", a.get("port") as string),
        files,
      );
    }
    default:
      throw new InvalidArgumentError(
        `Unknown server endpoint type "${type}" (expected tcp, unix or tls) in ${JSON.stringify(description)}`,
      );
  }
}

/**
 * Parses a client endpoint description:
 * - `tcp:HOST:PORT[:timeout=S][:bindAddress=ADDR]` or `tcp:host=HOST:port=PORT…`;
 * - `unix:PATH[:timeout=S]` (or `path=PATH`);
 * - `tls:HOST:PORT[:caCertsDir=DIR][:certificate=FILE][:privateKey=FILE][:servername=NAME]
 *   [:rejectUnauthorized=false][:timeout=S][:bindAddress=ADDR]` (`ssl:` too; `trustRoots=DIR` is
 *   accepted as `caCertsDir`).
 *
 * Throws InvalidArgumentError naming the part that is wrong.
 */
export function clientFromString(reactor: EndpointReactor, description: string): ClientEndpoint {
  const parsed = parseDescription(description);
  const type = typeOf(description, parsed);
  const args = (spec: Spec): Map<string, string> => bind(description, type, spec, parsed);
  switch (type) {
    case "tcp": {
      const a = args({
        positional: ["host", "port"],
        keywords: ["host", "port", "timeout", "bindAddress"],
        required: ["host", "port"],
      });
      return new TCPClientEndpoint(
        reactor,
        a.get("host") as string,
        portArg(description, "port", a.get("port") as string),
        clientOptions(description, a),
      );
    }
    case "unix": {
      const a = args({
        positional: ["path"],
        keywords: ["path", "timeout", "checkPID"],
        required: ["path"],
      });
      return new UNIXClientEndpoint(
        reactor,
        a.get("path") as string,
        clientOptions(description, a),
      );
    }
    case "tls":
    case "ssl": {
      const keys = [
        "host",
        "port",
        "timeout",
        "bindAddress",
        "caCertsDir",
        "trustRoots",
        "certificate",
        "certKey",
        "privateKey",
        "servername",
        "rejectUnauthorized",
      ];
      const a = args({ positional: ["host", "port"], keywords: keys, required: ["host", "port"] });
      const files: TLSClientFiles = clientOptions(description, a);
      const ca = a.get("caCertsDir") ?? a.get("trustRoots");
      if (ca !== undefined) files.caCertsDir = ca;
      const cert = a.get("certificate") ?? a.get("certKey");
      if (cert !== undefined) files.certificate = cert;
      const key = a.get("privateKey");
      if (key !== undefined) {
        if (cert === undefined) files.certificate = key;
        files.privateKey = key;
      }
      const sni = a.get("servername");
      if (sni !== undefined) files.servername = sni;
      const ru = a.get("rejectUnauthorized");
      if (ru !== undefined)
        files.rejectUnauthorized = boolArg(description, "rejectUnauthorized", ru);
      return new TLSClientEndpoint(
        reactor,
        a.get("host") as string,
        portArg(description, "port", a.get("port") as string),
        files,
      );
    }
    case "process":
      return processClientFromString(reactor, description, parsed);
    default:
      throw new InvalidArgumentError(
        `Unknown client endpoint type "${type}" (expected tcp, unix, tls or process) in ${JSON.stringify(description)}`,
      );
  }
}

/**
 * Adds the `interface` and `backlog` arguments of a server to `options` (a Unix server accepts no
 * `interface`, so it only gets `backlog`).
 */
function listenOptions(
  description: string,
  a: Map<string, string>,
  options: ListenTCPOptions = {},
): ListenTCPOptions {
  const iface = a.get("interface");
  if (iface !== undefined && iface !== "") options.interface = iface;
  const backlog = a.get("backlog");
  if (backlog !== undefined) options.backlog = intArg(description, "backlog", backlog);
  return options;
}

/** The `timeout` and `bindAddress` arguments of a client (a Unix client accepts no `bindAddress`). */
function clientOptions(description: string, a: Map<string, string>): ConnectTCPOptions {
  const options: ConnectTCPOptions = {};
  const timeout = a.get("timeout");
  if (timeout !== undefined) options.timeout = secondsArg(description, "timeout", timeout);
  const bindAddress = a.get("bindAddress");
  if (bindAddress !== undefined && bindAddress !== "") options.bindAddress = { host: bindAddress };
  return options;
}

/**
 * Connects `protocol` (an instance, not a factory) through `endpoint` (Twisted's
 * `connectProtocol`); the Deferred fires with it once connected.
 */
export function connectProtocol<P extends Protocol>(
  endpoint: ClientEndpoint,
  protocol: P,
): Deferred<P> {
  let used = false;
  class OneShot extends ClientFactory<P> {
    override buildProtocol(): P | null {
      if (used) return null;
      used = true;
      return protocol;
    }
  }
  return endpoint.connect(new OneShot());
}

/**
 * `process:EXECUTABLE[:ARG…][:path=DIR][:errFlag=log|drop][:inheritEnv=true]` (see
 * process-endpoint.ts); the reactor must be able to spawn processes.
 */
function processClientFromString(
  reactor: EndpointReactor,
  description: string,
  parsed: ParsedDescription,
): ClientEndpoint {
  const spawner = reactor as Partial<ProcessReactor>;
  if (typeof spawner.spawnProcess !== "function") {
    throw new InvalidArgumentError("This reactor cannot spawn processes (no spawnProcess).");
  }
  const [executable, ...args] = parsed.args.slice(1);
  if (executable === undefined || executable === "") {
    throw new InvalidArgumentError(`Missing the executable in ${JSON.stringify(description)}`);
  }
  const options: ProcessEndpointOptions = {};
  for (const [k, v] of parsed.kwargs) {
    if (k === "path") options.path = v;
    else if (k === "errFlag" && (v === "log" || v === "drop")) options.errFlag = v;
    else if (k === "inheritEnv") {
      if (boolArg(description, k, v)) options.env = null;
    } else {
      throw new InvalidArgumentError(
        `Unknown or invalid argument "${k}=${v}" for a "process" endpoint (accepted: path, errFlag=log|drop, inheritEnv) in ${JSON.stringify(description)}`,
      );
    }
  }
  return new ProcessEndpoint(spawner as ProcessReactor, executable, args, options);
}
