/**
 * Runs a case against a live target over `node:net`: connect, write each chunk after its delay,
 * half-close if the plan says so, then read the reply until the target closes, the reply settles
 * or the timeout passes (see `outcome.ts`). Never throws: every socket fault is part of the outcome.
 */
import { createConnection, type Socket } from "node:net";
import type { FuzzCase } from "./cases.js";
import type { TargetAddress } from "./endpoint.js";
import { type FramingModel, REPLY_LIMIT } from "./framing.js";
import { MAX_REPLY_BYTES, type Outcome, settleTime, type WaitRule } from "./outcome.js";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Counts whole reply frames incrementally, through the framing's decoder. */
class ReplyCounter {
  frames = 0;
  failed = false;
  readonly #decoder;
  constructor(model: FramingModel) {
    this.#decoder = model.decoder(
      {
        onFrame: () => {
          this.frames++;
        },
        onError: () => {
          this.failed = true;
        },
      },
      REPLY_LIMIT,
    );
  }
  feed(chunk: Uint8Array): void {
    this.#decoder.feed(chunk);
  }
  get partial(): boolean {
    return this.#decoder.bufferedBytes > 0;
  }
}

/** Connects to `target`; resolves with the socket or the error code. */
export function connectTo(target: TargetAddress, timeoutMs: number): Promise<Socket | string> {
  return new Promise((resolve) => {
    const s = createConnection(target.connect);
    s.setNoDelay(true);
    const timer = setTimeout(() => {
      s.destroy();
      resolve("ETIMEDOUT");
    }, timeoutMs);
    s.once("connect", () => {
      clearTimeout(timer);
      s.removeAllListeners("error");
      resolve(s);
    });
    s.once("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(err.code ?? err.message);
    });
  });
}

/**
 * Sends `c` to `target` and collects the outcome. `rule` says when a reply is complete;
 * `timeoutMs` bounds the wait after the last write (and the connect).
 */
export async function runOverNet(
  target: TargetAddress,
  model: FramingModel,
  c: FuzzCase,
  rule: WaitRule,
  timeoutMs: number,
): Promise<Outcome> {
  const sock = await connectTo(target, timeoutMs);
  if (typeof sock === "string") {
    return {
      reply: new Uint8Array(0),
      closed: false,
      reset: false,
      timedOut: false,
      connectError: sock,
    };
  }
  const parts: Uint8Array[] = [];
  let size = 0;
  let closed = false;
  let reset = false;
  const counter = new ReplyCounter(model);
  const settle = settleTime(timeoutMs);
  let wake: (() => void) | null = null;
  let lastData = Date.now();
  const poke = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  sock.on("data", (d: Buffer) => {
    parts.push(d);
    size += d.length;
    lastData = Date.now();
    counter.feed(d);
    poke();
  });
  sock.on("error", () => {
    reset = true;
  });
  sock.on("close", () => {
    closed = true;
    poke();
  });
  sock.on("end", () => {
    closed = true;
    poke();
  });

  // Deliver the plan.
  let offset = 0;
  for (let i = 0; i < c.chunks.length && !closed; i++) {
    const delay = c.delays[i] ?? 0;
    // Chunks go out as separate writes; without a planned delay a short gap still separates
    // them (1 ms for up to 32 chunks, a turn of the event loop beyond), so that the target
    // usually reads them separately and a replay reproduces the chunking.
    if (delay > 0) await sleep(delay);
    else if (i > 0) await (c.chunks.length <= 32 ? sleep(1) : new Promise((r) => setImmediate(r)));
    if (closed || sock.destroyed) break;
    const n = c.chunks[i] as number;
    sock.write(c.bytes.subarray(offset, offset + n));
    offset += n;
  }
  if (c.halfClose && !closed && !sock.destroyed) sock.end();
  const sentAt = Date.now();

  // Wait for the close, a settled reply, or the timeout.
  let timedOut = false;
  for (;;) {
    if (closed || size > MAX_REPLY_BYTES) break;
    const now = Date.now();
    if (now - sentAt >= timeoutMs) {
      timedOut = true;
      break;
    }
    const quiet = now - Math.max(lastData, sentAt);
    const replied =
      (rule.replyFrames > 0 &&
        !counter.partial &&
        (counter.frames >= rule.replyFrames || counter.failed)) ||
      (rule.replyBytes !== undefined && rule.replyBytes > 0 && size >= rule.replyBytes);
    if ((replied || rule.quietStop) && quiet >= settle) break;
    const wait = Math.min(
      timeoutMs - (now - sentAt),
      replied || rule.quietStop ? settle - quiet + 1 : timeoutMs,
    );
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, Math.max(1, wait));
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
  sock.destroy();
  const reply = parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts);
  return { reply, closed, reset: closed && reset, timedOut, connectError: null };
}
