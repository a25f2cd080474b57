/**
 * Planted bug: ALLOCATES WHATEVER LENGTH IS ANNOUNCED. To avoid copying, the server allocates the
 * payload buffer as soon as the header is read — for whatever length the peer announced, with no
 * limit but what `Buffer` itself can hold (256 MiB here, so that a fuzz run cannot take the
 * machine down) — and clears it so that a short read never exposes old memory. A peer that
 * announces `200000000:` and sends nothing more holds 200 MB of the server's memory for as long as
 * it keeps the connection open. Requests within the usual limit are echoed correctly.
 */
import { createServer, encode, loseConnection, runIfMain } from "./netstring.mjs";

const HEADER_SO_FAR = /^(0|[1-9][0-9]*)?$/;
/** Stands in for buffer.constants.MAX_LENGTH (4 GiB), which a shared test machine cannot spare. */
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
          // BUG: no frame-size limit: the announced length is allocated (and cleared) at once.
          payload = Buffer.allocUnsafe(length + 1).fill(0);
          have = 0;
          continue;
        }
        const take = Math.min(payload.length - have, chunk.length - i);
        chunk.copy(payload, have, i, i + take);
        have += take;
        i += take;
        if (have < payload.length) return;
        if (payload[payload.length - 1] !== 0x2c) return loseConnection(socket);
        socket.write(encode(payload.subarray(0, payload.length - 1)));
        payload = null;
        header = "";
      }
    });
  }, options);
}

await runIfMain(import.meta.url, createTarget);
