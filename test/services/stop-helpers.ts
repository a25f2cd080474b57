/**
 * The lossless-stop scenarios, shared by `test/services/stop-*.test.ts` (a few repetitions in
 * `npm test`) and `test/soak/stop.soak.ts` (many, in `npm run soak`): a real `weft serve` child
 * (through tsx) gets SIGTERM while many clients have pipelined requests in flight, and every client
 * counts the replies it got.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { encodeNetstring } from "../../src/protocols/receivers/netstring/encoder.js";
import { portIn, readServeTable, type ServePorts } from "../cli/serve-table.js";
import { type ChildOutput, collectOutput } from "../helpers/children.js";

const CLI = ["--import", "tsx", "src/cli/main.ts"];

/** A running `weft serve` child. */
export interface Served {
  readonly child: ChildProcess;
  readonly ports: ServePorts;
  /** Resolves with everything it printed once it has exited. */
  readonly exit: Promise<ChildOutput>;
  /** The port of `service/protocol`. */
  port(key: string): number;
  /** Removes the config directory (and kills the child if it still runs). */
  cleanup(): Promise<void>;
}

/** Starts `weft serve` on `config` (every endpoint `tcp:0`), resolved once its table is printed. */
export async function startServe(config: object, args: readonly string[] = []): Promise<Served> {
  const dir = await mkdtemp(join(tmpdir(), "weft-stop-"));
  const file = join(dir, "suite.json");
  await writeFile(file, JSON.stringify(config));
  const child = spawn(process.execPath, [...CLI, "serve", "--config", file, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exit = collectOutput(child);
  const rows = Object.values(config as { services: Record<string, { listen: unknown[] }> })
    .flatMap((services) => Object.values(services))
    .reduce((n, s) => n + s.listen.length, 0);
  const ports: ServePorts = new Map();
  await new Promise<void>((resolve, reject) => {
    let out = "";
    const onData = (d: Buffer) => {
      out += d.toString("utf8");
      const lines = out.split("\n").filter((l) => l.trim() !== "");
      if (lines.length >= rows + 1) {
        child.stdout?.off("data", onData);
        readServeTable(lines.slice(0, rows + 1).join("\n"), ports);
        resolve();
      }
    };
    child.stdout?.on("data", onData);
    void exit.then((o) => reject(new Error(`weft serve exited ${o.code}: ${o.stderr}`)));
  });
  return {
    child,
    ports,
    exit,
    port: (key) => portIn(ports, key),
    async cleanup() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** What one client saw: the replies it got, in order, and whether the server closed cleanly. */
export interface ClientResult {
  readonly replies: string[];
  readonly reset: boolean;
}

/** Connects to 127.0.0.1:`port`; resolves once connected. */
function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => resolve(s));
    s.once("error", reject);
  });
}

/** A promise and its resolver. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/**
 * A pipelining client of a request/reply front-end: `split` cuts the received bytes into replies.
 * `start` sends the first request and waits for its reply (so the server has surely accepted the
 * connection), `sendRest` writes every other request in one write and resolves once it is handed to
 * the kernel, `done` resolves once the server has closed the connection.
 */
interface PipelinedClient {
  sendRest(): Promise<void>;
  /** Stops reading replies (the server's writes back up) until {@link PipelinedClient.read}. */
  hold(): void;
  read(): void;
  readonly done: Promise<ClientResult>;
}

async function pipelined(
  port: number,
  first: Uint8Array | string,
  rest: Uint8Array | string,
  split: (buffer: Buffer) => { replies: string[]; rest: Buffer },
  rush: boolean,
  chunks: number,
): Promise<PipelinedClient> {
  const socket = await connect(port);
  const replies: string[] = [];
  let buffer: Buffer = Buffer.alloc(0);
  let reset = false;
  const firstReply = deferred<void>();
  const done = deferred<ClientResult>();
  socket.on("data", (d: Buffer) => {
    buffer = buffer.length === 0 ? d : Buffer.concat([buffer, d]);
    const r = split(buffer);
    buffer = r.rest;
    replies.push(...r.replies);
    if (replies.length > 0) firstReply.resolve();
  });
  socket.on("error", () => {
    reset = true;
  });
  socket.on("close", () => {
    firstReply.resolve();
    done.resolve({ replies, reset });
  });
  socket.write(first);
  if (!rush) await firstReply.promise;
  return {
    sendRest: () => writeInChunks(socket, Buffer.from(rest), chunks),
    hold: () => socket.pause(),
    read: () => socket.resume(),
    done: done.promise,
  };
}

/** Writes `data` in `chunks` writes, one per event-loop turn; resolves once all are in the kernel. */
async function writeInChunks(socket: net.Socket, data: Buffer, chunks: number): Promise<void> {
  const size = Math.ceil(data.length / chunks);
  for (let at = 0; at < data.length; at += size) {
    const last = at + size >= data.length;
    const part = data.subarray(at, at + size);
    if (last) await new Promise<void>((resolve) => socket.write(part, () => resolve()));
    else {
      socket.write(part);
      await new Promise((r) => setImmediate(r));
    }
  }
}

function splitLines(buffer: Buffer): { replies: string[]; rest: Buffer } {
  const replies: string[] = [];
  let start = 0;
  for (let i = buffer.indexOf("\r\n", 0); i >= 0; i = buffer.indexOf("\r\n", start)) {
    replies.push(buffer.toString("utf8", start, i));
    start = i + 2;
  }
  return { replies, rest: buffer.subarray(start) };
}

function splitNetstrings(buffer: Buffer): { replies: string[]; rest: Buffer } {
  const replies: string[] = [];
  let start = 0;
  for (;;) {
    const colon = buffer.indexOf(":", start);
    if (colon < 0) break;
    const n = Number(buffer.toString("latin1", start, colon));
    if (buffer.length < colon + 1 + n + 1) break;
    replies.push(buffer.toString("utf8", colon + 1, colon + 1 + n));
    start = colon + 1 + n + 1;
  }
  return { replies, rest: buffer.subarray(start) };
}

/** AMP boxes: 2-byte big-endian lengths, key/value pairs, an empty key ends a box. */
function splitAmpBoxes(buffer: Buffer): { replies: string[]; rest: Buffer } {
  const replies: string[] = [];
  let start = 0;
  outer: for (;;) {
    let pos = start;
    const fields: string[] = [];
    for (;;) {
      if (buffer.length < pos + 2) break outer;
      const klen = buffer.readUInt16BE(pos);
      pos += 2;
      if (klen === 0) break;
      if (buffer.length < pos + klen + 2) break outer;
      const key = buffer.toString("utf8", pos, pos + klen);
      pos += klen;
      const vlen = buffer.readUInt16BE(pos);
      pos += 2;
      if (buffer.length < pos + vlen) break outer;
      fields.push(`${key}=${buffer.toString("utf8", pos, pos + vlen)}`);
      pos += vlen;
    }
    replies.push(fields.sort().join(" "));
    start = pos;
  }
  return { replies, rest: buffer.subarray(start) };
}

function ampBox(fields: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields)) {
    const kb = Buffer.from(k);
    const vb = Buffer.from(v);
    const head = Buffer.alloc(2);
    head.writeUInt16BE(kb.length);
    const vhead = Buffer.alloc(2);
    vhead.writeUInt16BE(vb.length);
    parts.push(head, kb, vhead, vb);
  }
  parts.push(Buffer.alloc(2));
  return Buffer.concat(parts);
}

/** One scenario: which front-end, how many connections and requests, and the expected replies. */
export interface StopScenario {
  /** `service/protocol` in the serve table. */
  readonly key: string;
  readonly connections: number;
  /** Requests per connection (1 for one-shot protocols such as transform/netstring). */
  readonly requests: number;
  /**
   * Clients stop reading after the first reply and resume only after the signal: the server's
   * write buffers fill, it stops reading (backpressure), and requests wait unread in the kernel.
   */
  readonly holdReplies?: boolean;
  /** Clients do not wait for a first reply before writing the rest (the signal comes sooner). */
  readonly rush?: boolean;
  /**
   * The rest of each client's requests leaves in this many writes, one per event-loop turn, and
   * the signal is sent when half of them are out: requests are still arriving while the server
   * stops. Default 1 (all at once, signal once written).
   */
  readonly chunks?: number;
  /** The request bytes of request `i` on connection `c`. */
  request(c: number, i: number): Uint8Array | string;
  /** The reply expected for request `i` on connection `c`. */
  expected(c: number, i: number): string;
  split(buffer: Buffer): { replies: string[]; rest: Buffer };
}

/**
 * Pipelined `upper` requests on the transform line front-end; each request's text is padded to
 * `textBytes` (so that clients holding their replies back fill the server's write buffers).
 */
export function lineScenario(
  connections: number,
  requests: number,
  options: { textBytes?: number; holdReplies?: boolean; rush?: boolean; chunks?: number } = {},
): StopScenario {
  const pad = (c: number, i: number) => `c${c}r${i}`.padEnd(options.textBytes ?? 0, "x");
  return {
    key: "transform/line",
    connections,
    requests,
    holdReplies: options.holdReplies ?? false,
    rush: options.rush ?? false,
    chunks: options.chunks ?? 1,
    request: (c, i) => `upper ${pad(c, i)}\r\n`,
    expected: (c, i) => `OK ${pad(c, i).toUpperCase()}`,
    split: splitLines,
  };
}

/**
 * The transform netstring front-end answers ONE request per connection, then closes: its
 * "pipelined" requests are many connections each with one request in flight (the first half of
 * its netstring sent to get accepted, the rest at the signal).
 */
export function netstringScenario(connections: number, chunks = 1): StopScenario {
  return {
    key: "transform/netstring",
    connections,
    requests: 1,
    chunks,
    request: (c) => encodeNetstring(new TextEncoder().encode(`upper.netstring c${c}`)),
    expected: (c) => `NETSTRING C${c}`,
    split: splitNetstrings,
  };
}

/** Pipelined `Transform` calls on the transform AMP front-end. */
export function ampScenario(connections: number, requests: number, chunks = 1): StopScenario {
  return {
    key: "transform/amp",
    connections,
    requests,
    chunks,
    request: (c, i) =>
      ampBox({ _command: "Transform", _ask: String(i + 1), name: "upper", text: `c${c}r${i}` }),
    expected: (c, i) => `_answer=${i + 1} text=C${c}R${i}`,
    split: splitAmpBoxes,
  };
}

/** What a SIGTERM run gave: the clients' results and the server's exit. */
export interface StopRun {
  readonly lost: number;
  readonly wrong: string[];
  readonly resets: number;
  readonly exit: ChildOutput;
}

function concat(parts: Array<Uint8Array | string>): Buffer {
  return Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : p)));
}

/**
 * Runs `scenario` against `served`: connects every client (each proven accepted), writes the rest
 * of their requests, sends SIGTERM as soon as all are written, then waits for every connection to
 * close and for the server to exit.
 */
export async function sigtermUnderLoad(served: Served, scenario: StopScenario): Promise<StopRun> {
  const clients = await stopUnderLoad(served.port(scenario.key), scenario, () =>
    served.child.kill("SIGTERM"),
  );
  return { ...clients, exit: await served.exit };
}

/**
 * Runs `scenario`'s clients against `port` and calls `stop` while their requests are in flight
 * (see {@link StopScenario}); resolves once every connection has closed.
 */
export async function stopUnderLoad(
  port: number,
  scenario: StopScenario,
  stop: () => void,
): Promise<Omit<StopRun, "exit">> {
  const clients: PipelinedClient[] = [];
  // Connect in batches: the listen backlog must not overflow before the server accepts.
  const BATCH = 50;
  for (let c0 = 0; c0 < scenario.connections; c0 += BATCH) {
    const batch = [];
    for (let c = c0; c < Math.min(scenario.connections, c0 + BATCH); c++) {
      const all = Array.from({ length: scenario.requests }, (_, i) => scenario.request(c, i));
      let first: Buffer;
      let rest: Buffer;
      if (scenario.requests === 1) {
        // One request: its first half proves the connection accepted (no reply comes yet).
        const bytes = concat(all);
        first = bytes.subarray(0, bytes.length >> 1);
        rest = bytes.subarray(bytes.length >> 1);
      } else {
        first = concat(all.slice(0, 1));
        rest = concat(all.slice(1));
      }
      batch.push(
        scenario.requests === 1
          ? acceptedThenRest(port, first, rest, scenario.split, scenario.chunks ?? 1)
          : pipelined(
              port,
              first,
              rest,
              scenario.split,
              scenario.rush === true,
              scenario.chunks ?? 1,
            ),
      );
    }
    clients.push(...(await Promise.all(batch)));
  }
  if (scenario.requests === 1) {
    // No reply proves a one-shot connection accepted: give the idle server a moment to accept
    // the last batch (a connection still in the listen backlog is reset when the port closes).
    await new Promise((r) => setTimeout(r, 300));
  }
  if (scenario.holdReplies === true) {
    for (const c of clients) c.hold();
    for (const c of clients) void c.sendRest();
    // Long enough for the server to read what fits and back up (bounded: a fixed real-time pause).
    await new Promise((r) => setTimeout(r, 500));
    stop();
    await new Promise((r) => setTimeout(r, 200));
    for (const c of clients) c.read();
  } else if ((scenario.chunks ?? 1) > 1) {
    const sent = clients.map((c) => c.sendRest());
    // Mid-stream: after about half of the chunks' event-loop turns.
    for (let i = 0; i < (scenario.chunks ?? 1) / 2; i++) await new Promise((r) => setImmediate(r));
    stop();
    await Promise.all(sent);
  } else {
    await Promise.all(clients.map((c) => c.sendRest()));
    stop();
  }
  const results = await Promise.all(clients.map((c) => c.done));
  let lost = 0;
  let resets = 0;
  const wrong: string[] = [];
  results.forEach((r, c) => {
    if (r.reset) resets++;
    lost += Math.max(0, scenario.requests - r.replies.length);
    r.replies.forEach((reply, i) => {
      const want = scenario.expected(c, i);
      if (reply !== want && wrong.length < 5) wrong.push(`#${c}.${i}: ${reply} ≠ ${want}`);
    });
  });
  return { lost, wrong, resets };
}

/** A one-request client: connects and sends `first` (half its request); `sendRest` the rest. */
async function acceptedThenRest(
  port: number,
  first: Uint8Array,
  rest: Uint8Array,
  split: (buffer: Buffer) => { replies: string[]; rest: Buffer },
  chunks: number,
): Promise<PipelinedClient> {
  const socket = await connect(port);
  const replies: string[] = [];
  let buffer: Buffer = Buffer.alloc(0);
  let reset = false;
  const done = deferred<ClientResult>();
  socket.on("data", (d: Buffer) => {
    buffer = Buffer.concat([buffer, d]);
    const r = split(buffer);
    buffer = r.rest;
    replies.push(...r.replies);
  });
  socket.on("error", () => {
    reset = true;
  });
  socket.on("close", () => done.resolve({ replies, reset }));
  await new Promise<void>((resolve) => socket.write(first, () => resolve()));
  return {
    sendRest: () => writeInChunks(socket, Buffer.from(rest), chunks),
    hold: () => socket.pause(),
    read: () => socket.resume(),
    done: done.promise,
  };
}

/** The config of one front-end on port 0. */
export function configFor(key: string): object {
  const [service, protocol] = key.split("/");
  return { services: { [service as string]: { listen: [{ protocol, endpoint: "tcp:0" }] } } };
}

/** Starts a server for `scenario`, runs it, cleans up. */
export async function runStopScenario(
  scenario: StopScenario,
  args: readonly string[] = ["--log-level", "warn", "--grace", "30"],
): Promise<StopRun> {
  const served = await startServe(configFor(scenario.key), args);
  try {
    return await sigtermUnderLoad(served, scenario);
  } finally {
    await served.cleanup();
  }
}

/** Every reply arrived, in order and right, no connection was reset, and `weft serve` exited 0. */
export function expectLossless(run: StopRun): void {
  expect(run.wrong).toEqual([]);
  expect(run.lost).toBe(0);
  expect(run.resets).toBe(0);
  expect(run.exit.code).toBe(0);
}
