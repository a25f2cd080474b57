/**
 * Planted bug: MISHANDLES A REQUEST SPLIT ACROSS READS. The parser keeps a payload that spans
 * several reads, but assumes the length header ("12:") always arrives whole in one read — it is
 * at most six bytes, after all. A read that ends inside the header is taken as malformed and the
 * connection closed: the same request gets no reply when a read boundary falls inside the header.
 */
import { createServer, encode, loseConnection, MAX_LENGTH, runIfMain } from "./netstring.mjs";

const HEADER = /^(0|[1-9][0-9]*)$/;

export function createTarget(options = {}) {
  return createServer((socket) => {
    let frame = null; // { length, parts, have } while a payload (and its comma) is arriving
    socket.on("data", (chunk) => {
      let i = 0;
      while (i < chunk.length) {
        if (frame === null) {
          // BUG: the header is looked for in this read only.
          const colon = chunk.indexOf(":", i);
          const header = chunk.subarray(i, colon < 0 ? chunk.length : colon).toString("latin1");
          if (colon < 0 || !HEADER.test(header) || Number(header) > MAX_LENGTH) {
            loseConnection(socket);
            return;
          }
          frame = { length: Number(header), parts: [], have: 0 };
          i = colon + 1;
        }
        const take = Math.min(frame.length + 1 - frame.have, chunk.length - i);
        frame.parts.push(chunk.subarray(i, i + take));
        frame.have += take;
        i += take;
        if (frame.have < frame.length + 1) return;
        const whole = Buffer.concat(frame.parts);
        frame = null;
        if (whole[whole.length - 1] !== 0x2c) {
          loseConnection(socket);
          return;
        }
        socket.write(encode(whole.subarray(0, whole.length - 1)));
      }
    });
  }, options);
}

await runIfMain(import.meta.url, createTarget);
