/**
 * Shared plumbing of the fuzz targets: a plain `node:net` server (standalone or in-process), a
 * correct incremental netstring parser with Twisted's grammar, and the encoder. The targets beside
 * this file are "anyone's" netstring echo servers, each with ONE classic bug; `correct.mjs` has none.
 *
 * Protocol of every target: each netstring received is echoed back as a netstring; the connection
 * stays open. A malformed netstring (or one over MAX_LENGTH) closes the connection after the
 * replies already due, with no reply to it. Standalone: `node X.mjs [PORT]` listens on 127.0.0.1
 * (port 0 allowed) and prints `listening PORT`.
 */
import net from "node:net";
import { fileURLToPath } from "node:url";

/** Twisted's NetstringReceiver.MAX_LENGTH. */
export const MAX_LENGTH = 99999;

const ZERO = 0x30;
const NINE = 0x39;
const COLON = 0x3a;
const COMMA = 0x2c;

/** `payload` as one netstring. */
export function encode(payload) {
  return Buffer.concat([Buffer.from(`${payload.length}:`), payload, Buffer.from(",")]);
}

/**
 * A correct incremental netstring parser: `feed(chunk)` returns `{ frames, error }` (error a
 * string naming what was wrong, or null). Digits are checked as they arrive (no leading zero,
 * nothing but digits, value ≤ maxLength before any payload is buffered); after an error it
 * returns nothing more. The parse state lives in `state`, a per-connection object by default.
 */
export class NetstringParser {
  constructor(maxLength = MAX_LENGTH, state = NetstringParser.initialState()) {
    this.maxLength = maxLength;
    this.state = state;
  }

  static initialState() {
    return { phase: "length", digits: 0, length: 0, parts: [], have: 0, error: null };
  }

  feed(chunk) {
    const s = this.state;
    const frames = [];
    let i = 0;
    while (i < chunk.length && s.error === null) {
      if (s.phase === "length") {
        const b = chunk[i++];
        if (b === COLON && s.digits > 0) {
          s.phase = s.length === 0 ? "comma" : "payload";
        } else if (b < ZERO || b > NINE) {
          s.error = s.digits === 0 ? "non-digit length" : "missing colon";
        } else if (s.digits === 1 && s.length === 0) {
          s.error = "leading zero";
        } else {
          s.length = s.length * 10 + (b - ZERO);
          s.digits++;
          if (s.length > this.maxLength) s.error = "over the limit";
        }
      } else if (s.phase === "payload") {
        const take = Math.min(s.length - s.have, chunk.length - i);
        s.parts.push(chunk.subarray(i, i + take));
        s.have += take;
        i += take;
        if (s.have === s.length) s.phase = "comma";
      } else {
        if (chunk[i++] !== COMMA) {
          s.error = "missing comma";
          break;
        }
        frames.push(Buffer.concat(s.parts));
        Object.assign(s, { phase: "length", digits: 0, length: 0, parts: [], have: 0 });
      }
    }
    return { frames, error: s.error };
  }
}

/**
 * Closes `socket` the way Twisted's loseConnection does: after what was written has been sent,
 * and ignoring anything the peer sends meanwhile.
 */
export function loseConnection(socket) {
  socket.removeAllListeners("data");
  socket.resume();
  socket.end(() => socket.destroy());
}

/**
 * A target server: `onConnection(socket, target)` sets up each connection. Returns
 * `{ listen(port?, host?) → Promise<port>, close() → Promise<void>, fatal(error) }`. `fatal` is
 * what an uncaught error does: standalone it throws (the process dies); in-process
 * (`options.inProcess`) it stops accepting and drops every connection, as a dead process would.
 */
export function createServer(onConnection, options = {}) {
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    onConnection(socket, target);
  });
  const target = {
    server,
    listen(port = 0, host = "127.0.0.1") {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          resolve(server.address().port);
        });
      });
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) =>
        server.listening ? server.close(() => resolve()) : resolve(),
      );
    },
    fatal(error) {
      if (options.inProcess !== true) throw error;
      void target.close();
    },
  };
  return target;
}

/**
 * Runs `create()` as a standalone server when `moduleUrl` is the script node was started with:
 * listens on 127.0.0.1 and `process.argv[2]` (default 0) and prints `listening PORT`.
 */
export async function runIfMain(moduleUrl, create) {
  if (process.argv[1] !== fileURLToPath(moduleUrl)) return;
  const target = create({});
  const port = await target.listen(Number(process.argv[2] ?? 0));
  process.stdout.write(`listening ${port}\n`);
}
