/**
 * Planted bug: SHARED STATE. The parser was created once for the server instead of once per
 * connection, so every connection shares its state. Each client on its own, sending whole
 * requests, works; but a client that leaves a partial netstring behind (it closes mid-frame) or
 * sends a malformed one leaves the shared parser mid-frame or failed, and every later client gets
 * its connection closed without a reply.
 */
import { createServer, encode, loseConnection, NetstringParser, runIfMain } from "./netstring.mjs";

export function createTarget(options = {}) {
  // BUG: one parser for all connections (it belongs inside the connection callback).
  const parser = new NetstringParser();
  return createServer((socket) => {
    socket.on("data", (chunk) => {
      const { frames, error } = parser.feed(chunk);
      for (const frame of frames) socket.write(encode(frame));
      if (error !== null) loseConnection(socket);
    });
  }, options);
}

await runIfMain(import.meta.url, createTarget);
