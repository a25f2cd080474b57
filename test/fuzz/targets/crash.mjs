/**
 * Planted bug: CRASH. The server insists on UTF-8 requests and checks them with a fatal
 * `TextDecoder`, but nothing catches what `decode` throws: one request that is not valid UTF-8
 * (any other byte is fine) throws out of the `data` handler and the process exits (code 1).
 */
import { createServer, encode, loseConnection, NetstringParser, runIfMain } from "./netstring.mjs";

const utf8 = new TextDecoder("utf-8", { fatal: true });

export function createTarget(options = {}) {
  return createServer((socket, target) => {
    const parser = new NetstringParser();
    socket.on("data", (chunk) => {
      const { frames, error } = parser.feed(chunk);
      try {
        for (const frame of frames) {
          // BUG: decode() throws a TypeError on invalid UTF-8 and nothing handles it.
          const text = utf8.decode(frame);
          socket.write(encode(Buffer.from(text, "utf8")));
        }
      } catch (err) {
        target.fatal(err); // standalone: rethrown, the process dies as the real bug would
        return;
      }
      if (error !== null) loseConnection(socket);
    });
  }, options);
}

await runIfMain(import.meta.url, createTarget);
