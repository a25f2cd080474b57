/** A correct netstring echo server on plain `node:net` (see netstring.mjs for the protocol). */
import { createServer, encode, loseConnection, NetstringParser, runIfMain } from "./netstring.mjs";

export function createTarget(options = {}) {
  return createServer((socket) => {
    const parser = new NetstringParser();
    socket.on("data", (chunk) => {
      const { frames, error } = parser.feed(chunk);
      for (const frame of frames) socket.write(encode(frame));
      if (error !== null) loseConnection(socket);
    });
  }, options);
}

await runIfMain(import.meta.url, createTarget);
