/**
 * The article's weblog client, on the push port: prints each new hit as it is pushed
 * (`HOST STATUS REQUEST`), and how many it missed when it fell behind.
 * Run: `node --import tsx examples/weblog-client.ts [PUSH_PORT] [COUNT]` (default 8880; stops
 * after COUNT hits, default: never).
 */
import net from "node:net";
import { parseWeblogLine } from "../src/services/index.js";

const port = Number(process.argv[2] ?? "8880");
const count = Number(process.argv[3] ?? "Infinity");
let seen = 0;
let buffered = "";
const socket = net.connect(port, "127.0.0.1");
socket.setEncoding("utf8");
socket.on("data", (chunk: string) => {
  buffered += chunk;
  let end = buffered.indexOf("\r\n");
  while (end >= 0) {
    const line = parseWeblogLine(buffered.slice(0, end));
    buffered = buffered.slice(end + 2);
    end = buffered.indexOf("\r\n");
    if (line?.kind === "dropped") console.log(`(missed ${line.count} hits)`);
    if (line?.kind !== "hit") continue;
    console.log(`${line.hit.host} ${line.hit.status} ${line.hit.request}`);
    if (++seen >= count) {
      socket.end();
      return;
    }
  }
});
socket.on("error", (err) => {
  console.error(`weblog-client: ${err.message}`);
  process.exitCode = 1;
});
