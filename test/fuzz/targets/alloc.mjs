/**
 * Planted bug: ALLOCATES WHATEVER LENGTH IS ANNOUNCED. A server for large messages (its limit is
 * LARGE_LIMIT, 64 MiB: fuzz it with `--max-length 67108864`). To avoid copying, it allocates the
 * payload buffer as soon as the header is read — for whatever length the peer announced — and
 * clears it so that a short read never exposes old memory; the limit is checked only once the
 * payload is complete. A peer that announces `100000000:` and sends nothing more holds 100 MB of
 * the server's memory for as long as it keeps the connection open (and waits in vain for a close).
 * Lengths beyond what it could ever allocate (over 256 MiB here, standing in for
 * `buffer.constants.MAX_LENGTH` so that a fuzz run cannot take a shared machine down) are refused.
 * Requests within the limit are echoed correctly.
 */
import { createServer, encode, loseConnection, runIfMain } from "./netstring.mjs";

const HEADER_SO_FAR = /^(0|[1-9][0-9]*)?$/;
/** The frame limit this server documents. */
export const LARGE_LIMIT = 64 * 1024 * 1024;
const MAX_ALLOCATION = 256 * 1024 * 1024;

export function createTarget(options = {}) {
  return createServer((socket) => {
    let header = "";
    let payload = null; // preallocated once the header is complete
    let have = 0;
    socket.on("data", (chunk) => {
      let i = 0;
      while (i < chunk.length) {
        if (payload === null) {
          const b = chunk[i++];
          if (b !== 0x3a) {
            header += String.fromCharCode(b);
            if (!HEADER_SO_FAR.test(header)) return loseConnection(socket);
            continue;
          }
          const length = Number(header);
          if (header === "" || length > MAX_ALLOCATION) return loseConnection(socket);
          // BUG: the announced length is allocated (and cleared) before any limit is checked.
          payload = Buffer.allocUnsafe(length + 1).fill(0);
          have = 0;
          continue;
        }
        const take = Math.min(payload.length - have, chunk.length - i);
        chunk.copy(payload, have, i, i + take);
        have += take;
        i += take;
        if (have < payload.length) return;
        if (payload[payload.length - 1] !== 0x2c || payload.length - 1 > LARGE_LIMIT)
          return loseConnection(socket);
        socket.write(encode(payload.subarray(0, payload.length - 1)));
        payload = null;
        header = "";
      }
    });
  }, options);
}

await runIfMain(import.meta.url, createTarget);
