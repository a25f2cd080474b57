/**
 * A small key-value server over a custom length-prefixed shape (the three steps of
 * docs/length-prefixed.md: shape → receiver → server).
 *
 * Requests: `op` (1 byte: `G`et, `S`et, `D`elete), `keyLength` (1 byte), a 2-byte little-endian
 * length, then the key and (for `S`) the value. Replies: `status` (1 byte: 0 ok, 1 not found,
 * 2 bad request), a 2-byte little-endian length, then the value (for a `G` that found one).
 *
 * Run: `node --import tsx examples/kv-server.ts [PORT] [INTERFACE]` (defaults 8001, 127.0.0.1;
 * PORT 0 picks a free port). Prints `listening PORT` once ready; Ctrl-C stops it.
 */
import { pathToFileURL } from "node:url";
import { Factory } from "../src/core/factory.js";
import { createReactor } from "../src/core/reactor.js";
import { ShapeReceiver } from "../src/protocols/shapes/receiver.js";
import { defineShape, type ShapeFrame, uint } from "../src/protocols/shapes/shape.js";

// Step 1: the shapes. Frames arrive typed `{ op, keyLength, payload }` and `{ status, payload }`.
export const kvRequest = defineShape({
  name: "kv request",
  before: [uint("op"), uint("keyLength")],
  length: { bytes: 2, endian: "little" },
  maxLength: 4096,
});
export const kvReply = defineShape({
  name: "kv reply",
  before: [uint("status")],
  length: { bytes: 2, endian: "little" },
  maxLength: 65535,
});

export const OP = { get: 0x47, set: 0x53, delete: 0x44 } as const;
export const STATUS = { ok: 0, notFound: 1, badRequest: 2 } as const;

/** The store, shared by every connection (one per factory). */
export class KvFactory extends Factory<KvServer> {
  readonly store = new Map<string, Uint8Array>();
  override protocol = KvServer;
}

// Step 2: the receiver. `shape` is declared as a field: no cast, no TS2416.
export class KvServer extends ShapeReceiver<typeof kvRequest, KvFactory> {
  override shape = kvRequest;

  override frameReceived(req: ShapeFrame<typeof kvRequest>): void {
    const [status, value] = this.#answer(req);
    this.sendFrameWith(kvReply, { status, payload: value });
  }

  #answer({ op, keyLength, payload }: ShapeFrame<typeof kvRequest>): [number, Uint8Array] {
    const none = new Uint8Array(0);
    if (keyLength > payload.length) return [STATUS.badRequest, none];
    // The payload is a view into the socket's chunk: copy what outlives this call.
    const key = Buffer.from(payload.subarray(0, keyLength)).toString("latin1");
    const store = this.factory.store;
    switch (op) {
      case OP.get: {
        const value = store.get(key);
        return value ? [STATUS.ok, value] : [STATUS.notFound, none];
      }
      case OP.set:
        store.set(key, payload.slice(keyLength));
        return [STATUS.ok, none];
      case OP.delete:
        return [store.delete(key) ? STATUS.ok : STATUS.notFound, none];
      default:
        return [STATUS.badRequest, none];
    }
  }
}

// Step 3: the server.
async function main(): Promise<void> {
  const [portArg = "8001", iface = "127.0.0.1"] = process.argv.slice(2);
  const reactor = createReactor();
  const port = await reactor.listenTCP(Number(portArg), new KvFactory(), { interface: iface });
  console.log(`listening ${port.getHost().port}`);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, async () => {
      await port.stopListening({ closeConnections: true, timeout: 5 });
      process.exit(0);
    });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
