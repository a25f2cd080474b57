// The bare worker_threads baseline: answer each message with a + b.
import { parentPort } from "node:worker_threads";

parentPort.on("message", (m) => parentPort.postMessage(m.a + m.b));
