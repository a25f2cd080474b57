/**
 * Planted bug: HANG. On a malformed netstring the server marks the peer broken and ignores the
 * rest of its data (as Twisted's `brokenPeer` does) but never closes the connection: the peer
 * waits forever for a reply or a close. Valid input is echoed correctly.
 */
import { createServer, encode, NetstringParser, runIfMain } from "./netstring.mjs";

export function createTarget(options = {}) {
  return createServer((socket) => {
    const parser = new NetstringParser();
    let brokenPeer = false;
    socket.on("data", (chunk) => {
      if (brokenPeer) return;
      const { frames, error } = parser.feed(chunk);
      for (const frame of frames) socket.write(encode(frame));
      // BUG: the peer is marked broken, but the connection is left open.
      if (error !== null) brokenPeer = true;
    });
  }, options);
}

await runIfMain(import.meta.url, createTarget);
