/**
 * Planted bug: WRONG LENGTH IN REPLIES. The reply is built as a string and its length taken with
 * `String#length` (UTF-16 code units) instead of its UTF-8 byte length: any request with a
 * non-ASCII character (or invalid UTF-8, which decodes to U+FFFD) gets a reply whose announced
 * length does not match its payload. ASCII requests are answered correctly.
 */
import { createServer, loseConnection, NetstringParser, runIfMain } from "./netstring.mjs";

export function createTarget(options = {}) {
  return createServer((socket) => {
    const parser = new NetstringParser();
    socket.on("data", (chunk) => {
      const { frames, error } = parser.feed(chunk);
      for (const frame of frames) {
        const text = frame.toString("utf8");
        // BUG: text.length counts UTF-16 code units, not the bytes written.
        socket.write(`${text.length}:${text},`);
      }
      if (error !== null) loseConnection(socket);
    });
  }, options);
}

await runIfMain(import.meta.url, createTarget);
