/**
 * A PB server for the interop tests and for trying PB by hand: `node --import tsx
 * examples/pb-server.ts [PORT]` prints `listening PORT`. Its root answers:
 * - `calculate(a, b)` → `(a + b, 0)`
 * - `echo(value)` → `value`
 * - `fail(message)` → raises `pb.Error(message)`
 * - `crash(message)` → raises an unexpected error (arrives as a `weft.Error` failure)
 * - `callback(ref, value)` → `ref.callRemote("got", value)`'s answer
 */
import { createReactor } from "../src/core/reactor.js";
import {
  PBServerFactory,
  PbError,
  type RemoteReference,
  Root,
  tuple,
} from "../src/protocols/pb/index.js";

export class InteropRoot extends Root {
  remote_calculate(a: number | bigint, b: number | bigint): unknown {
    const sum =
      typeof a === "number" && typeof b === "number" && Number.isSafeInteger(a + b)
        ? a + b
        : BigInt(a) + BigInt(b);
    return tuple(sum, 0);
  }

  remote_echo(value: unknown): unknown {
    return value;
  }

  remote_fail(message: string): never {
    throw new PbError(message);
  }

  remote_crash(message: string): never {
    throw new Error(message);
  }

  remote_callback(ref: RemoteReference, value: unknown): unknown {
    return ref.callRemote("got", value);
  }
}

async function main(): Promise<void> {
  const reactor = createReactor();
  const port = Number(process.argv[2] ?? 0);
  const listening = await reactor.listenTCP(port, new PBServerFactory(new InteropRoot()), {
    interface: "127.0.0.1",
  });
  process.stdout.write(`listening ${listening.getHost().port}\n`);
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
}

if (process.argv[1]?.endsWith("pb-server.ts")) void main();
