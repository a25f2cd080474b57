/**
 * The manhole: a Node REPL (`node:repl`) into a running server, Twisted's manhole done with Node's
 * own REPL — completion, in-session history shared across sessions, top-level `await` — with the
 * server's objects (the suite, its services, factories and connections) in scope.
 *
 * Who gets in:
 * - `unix:PATH` — the socket is created with mode 0600 (under a 0177 umask, so it is never more
 *   open, then checked), so only its owner (and root) can connect. Node cannot read a Unix
 *   socket's peer credentials (SO_PEERCRED is not exposed), so the file mode is the check; a token
 *   file, when given, is required on top.
 * - `tcp:PORT[:interface=ADDR]` (default interface 127.0.0.1) — a token is required.
 *
 * The wire: the client's first line is a JSON hello, `{"v":1,"token":…,"terminal":…,"columns":…}`
 * (at most 4 KiB, within 5 s). A wrong token, a malformed or late hello gets nothing: the
 * connection is closed without a byte. Then the socket carries the REPL both ways. Every session
 * is logged (opened, each input line, closed).
 */
import { existsSync, lstatSync, unlinkSync } from "node:fs";
import net from "node:net";
import repl from "node:repl";
import { WeftError } from "../../core/errors.js";
import type { ServiceLogger } from "../log.js";
import { ensureTokenFile, tokensMatch } from "./token.js";

/** The hello a client sends first. */
export interface ManholeHello {
  v: 1;
  token: string | null;
  terminal: boolean;
  columns: number;
}

/** Most bytes a hello may take (with its newline). */
export const MAX_HELLO_BYTES = 4096;
/** Seconds a client has to send its hello. */
export const HELLO_TIMEOUT_SECONDS = 5;

/** The manhole cannot listen (bad endpoint, socket path in use by a live manhole). */
export class ManholeError extends WeftError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_MANHOLE", message, options);
  }
}

/** Parses a hello line; null when it is not one. */
export function parseHello(line: string): ManholeHello | null {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof v !== "object" || v === null) return null;
  const o = v as { v?: unknown; token?: unknown; terminal?: unknown; columns?: unknown };
  if (o.v !== 1) return null;
  if (o.token !== null && typeof o.token !== "string") return null;
  if (typeof o.terminal !== "boolean") return null;
  const columns = typeof o.columns === "number" && o.columns > 0 ? Math.min(o.columns, 1000) : 80;
  return { v: 1, token: o.token, terminal: o.terminal, columns };
}

/** A parsed manhole endpoint. */
export type ManholeEndpoint =
  | { kind: "unix"; path: string }
  | { kind: "tcp"; port: number; host: string };

/** `unix:PATH` or `tcp:PORT[:interface=ADDR]` (a client may also write `tcp:HOST:PORT`). */
export function parseManholeEndpoint(text: string): ManholeEndpoint {
  if (text.startsWith("unix:") && text.length > 5) return { kind: "unix", path: text.slice(5) };
  const tcp = /^tcp:(\d+)(?::interface=(.+))?$/.exec(text);
  if (tcp !== null) return { kind: "tcp", port: Number(tcp[1]), host: tcp[2] ?? "127.0.0.1" };
  const client = /^tcp:(?:host=)?([^:]+):(?:port=)?(\d+)$/.exec(text);
  if (client !== null) return { kind: "tcp", port: Number(client[2]), host: client[1] as string };
  throw new ManholeError(`bad manhole endpoint ${JSON.stringify(text)}: unix:PATH or tcp:PORT`);
}

/** Options of {@link startManhole}. */
export interface ManholeOptions {
  /** `unix:PATH` or `tcp:PORT[:interface=ADDR]`. */
  endpoint: string;
  /** Required for `tcp:`; optional extra check for `unix:`. */
  tokenFile?: string;
  /** The names a session starts with (called once per session). */
  namespace: () => Record<string, unknown>;
  logger: ServiceLogger;
}

/** A listening manhole. */
export interface Manhole {
  /** Where it listens: the socket path, or `HOST:PORT`. */
  readonly address: string;
  /** Stop listening, end every session, remove the socket file. */
  close(): Promise<void>;
}

/** Whether a Unix socket at `path` has a live listener. */
function socketAlive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(path);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

async function listenUnix(server: net.Server, path: string): Promise<void> {
  if (existsSync(path)) {
    if (!lstatSync(path).isSocket()) throw new ManholeError(`${path} exists and is not a socket`);
    if (await socketAlive(path)) throw new ManholeError(`${path}: another manhole is listening`);
    unlinkSync(path);
  }
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    // The bind happens within listen(): under this umask the socket file is born 0600.
    const previous = process.umask(0o177);
    try {
      server.listen(path, () => {
        server.off("error", reject);
        resolve();
      });
    } finally {
      process.umask(previous);
    }
  });
  const mode = lstatSync(path).mode & 0o777;
  if (mode !== 0o600) {
    server.close();
    throw new ManholeError(`${path} was created with mode ${mode.toString(8)}, not 600`);
  }
}

let sessionCounter = 0;

/** Start a manhole. Rejects with {@link ManholeError} or a token error. */
export async function startManhole(options: ManholeOptions): Promise<Manhole> {
  const endpoint = parseManholeEndpoint(options.endpoint);
  const { logger } = options;
  if (endpoint.kind === "tcp" && options.tokenFile === undefined)
    throw new ManholeError("a tcp: manhole requires a token file");
  const token = options.tokenFile === undefined ? null : ensureTokenFile(options.tokenFile);
  const sockets = new Set<net.Socket>();
  const history: string[] = [];

  const startSession = (socket: net.Socket, hello: ManholeHello): void => {
    const session = ++sessionCounter;
    const peer = endpoint.kind === "unix" ? "unix" : `${socket.remoteAddress}:${socket.remotePort}`;
    const opened = Date.now();
    let lines = 0;
    logger.info({ session, peer }, "manhole session opened");
    Object.defineProperty(socket, "columns", { value: hello.columns, configurable: true });
    const server = repl.start({
      input: socket,
      output: socket,
      prompt: "weft> ",
      terminal: hello.terminal,
      useColors: hello.terminal,
      useGlobal: false,
      ignoreUndefined: true,
    });
    const own = Reflect.get(server, "history");
    if (Array.isArray(own)) own.push(...history);
    server.on("history", (h) => {
      history.splice(0, history.length, ...h.slice(0, 1000));
    });
    Object.assign(server.context, options.namespace());
    server.on("line", (line) => {
      lines++;
      logger.info({ session, input: line.slice(0, 1000) }, "manhole input");
    });
    server.on("exit", () => socket.end());
    socket.once("close", () => {
      server.close();
      logger.info(
        { session, lines, seconds: (Date.now() - opened) / 1000 },
        "manhole session closed",
      );
    });
  };

  const accept = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    let buffered = "";
    const refuse = (reason: string): void => {
      logger.warn({ reason, peer: socket.remoteAddress ?? "unix" }, "manhole connection refused");
      socket.destroy();
    };
    const timer = setTimeout(() => refuse("no hello in time"), HELLO_TIMEOUT_SECONDS * 1000);
    timer.unref();
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString("utf8");
      const nl = buffered.indexOf("\n");
      if (nl === -1) {
        if (buffered.length >= MAX_HELLO_BYTES) {
          clearTimeout(timer);
          socket.off("data", onData);
          refuse("hello too long");
        }
        return;
      }
      clearTimeout(timer);
      socket.off("data", onData);
      const hello = parseHello(buffered.slice(0, nl));
      if (hello === null) {
        refuse("malformed hello");
        return;
      }
      if (token !== null && (hello.token === null || !tokensMatch(hello.token, token))) {
        refuse("wrong token");
        return;
      }
      const rest = buffered.slice(nl + 1);
      socket.pause();
      startSession(socket, hello);
      if (rest !== "") socket.unshift(Buffer.from(rest, "utf8"));
      socket.resume();
    };
    socket.on("data", onData);
  };

  const server = net.createServer({ allowHalfOpen: true }, accept);
  let address: string;
  if (endpoint.kind === "unix") {
    await listenUnix(server, endpoint.path);
    address = endpoint.path;
  } else {
    await new Promise<void>((resolve, reject) => {
      server.once("error", (err) =>
        reject(new ManholeError(`cannot listen on ${options.endpoint}: ${err.message}`)),
      );
      server.listen(endpoint.port, endpoint.host, () => resolve());
    });
    const a = server.address();
    address = typeof a === "object" && a !== null ? `${a.address}:${a.port}` : options.endpoint;
  }
  logger.info({ manhole: address }, "manhole listening");
  let closing: Promise<void> | null = null;
  return {
    address,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        if (endpoint.kind === "unix") {
          try {
            unlinkSync(endpoint.path);
          } catch {
            // already gone (server.close removes it too)
          }
        }
      });
      return closing;
    },
  };
}
