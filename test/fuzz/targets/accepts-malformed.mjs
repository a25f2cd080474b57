/**
 * Planted bug: REPLIES TO MALFORMED INPUT. A typical hand-rolled parser (buffer, header up to the
 * colon, then wait for payload + terminator) that skips the byte after the payload without
 * checking that it is a comma — the bug of the npm `netstring` 0.3.0 package. `5:hello!` or
 * `2:aaa,` (a length that lies) get a reply instead of a close. Everything else is checked.
 */
import { createServer, encode, loseConnection, MAX_LENGTH, runIfMain } from "./netstring.mjs";

const HEADER_SO_FAR = /^(0|[1-9][0-9]{0,4})?$/;

export function createTarget(options = {}) {
  return createServer((socket) => {
    let buffered = Buffer.alloc(0);
    socket.on("data", (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        const colon = buffered.indexOf(":");
        const header = buffered.subarray(0, colon < 0 ? buffered.length : colon).toString("latin1");
        if (!HEADER_SO_FAR.test(header) || (colon === 0 && buffered.length > 0)) {
          loseConnection(socket);
          return;
        }
        if (colon < 0) return;
        const length = Number(header);
        if (length > MAX_LENGTH) {
          loseConnection(socket);
          return;
        }
        const end = colon + 1 + length;
        if (buffered.length < end + 1) return;
        const payload = Buffer.from(buffered.subarray(colon + 1, end));
        // BUG: buffered[end] is skipped without checking that it is ",".
        buffered = buffered.subarray(end + 1);
        socket.write(encode(payload));
      }
    });
  }, options);
}

await runIfMain(import.meta.url, createTarget);
