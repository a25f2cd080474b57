/** The broker over real loopback sockets, weft to weft: calls, errors, references both ways. */
import { spawnSync } from "node:child_process";
import { connect as netConnect } from "node:net";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { InteropRoot } from "../../../examples/pb-server.js";
import type { Address } from "../../../src/core/interfaces.js";
import type { ListeningPort } from "../../../src/core/reactor.js";
import { createReactor } from "../../../src/core/reactor.js";
import {
  BananaEncoder,
  type Broker,
  CopiedFailure,
  Copyable,
  DeadReferenceError,
  decodeAll,
  InMemoryPasswordChecker,
  PBClientFactory,
  PBConnectionLost,
  PBServerFactory,
  Portal,
  Referenceable,
  type RemoteReference,
  Root,
  tuple,
  UsernamePassword,
} from "../../../src/protocols/pb/index.js";
import { MemoryTransport } from "../../../src/testing/memory.js";

const reactor = createReactor();
const ports: ListeningPort[] = [];
const factories: PBClientFactory[] = [];

afterEach(async () => {
  for (const f of factories.splice(0)) f.disconnect();
  for (const p of ports.splice(0)) await p.stopListening({ closeConnections: true });
});

async function serve(factory: PBServerFactory): Promise<number> {
  const port = await reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
  ports.push(port);
  return port.getHost().port;
}

async function rootOf(port: number): Promise<[RemoteReference, PBClientFactory]> {
  const f = new PBClientFactory();
  factories.push(f);
  reactor.connectTCP("127.0.0.1", port, f);
  return [await f.getRootObject(), f];
}

class Counter extends Root {
  kept: RemoteReference | null = null;
  released = 0;
  remote_keep(ref: RemoteReference): number {
    this.kept = ref;
    return 1;
  }
  remote_send(): Referenceable {
    return Referenceable.fromMethods({ ping: () => "pong" });
  }
  remote_slow(): Promise<string> {
    return new Promise(() => {});
  }
  remote_give(thing: unknown): unknown {
    return thing;
  }
}

class Unregistered extends Copyable {
  static copyType = "__main__.Unregistered";
  x = 1;
}

describe("PB broker", () => {
  it("calls remote methods and gets answers and typed errors", async () => {
    const [root] = await rootOf(await serve(new PBServerFactory(new InteropRoot())));
    expect([...((await root.callRemote("calculate", 42, 47)) as unknown[])]).toEqual([89, 0]);
    expect(await root.callRemote("calculate", 2n ** 60n, 1)).toEqual(
      tuple<unknown>(2n ** 60n + 1n, 0),
    );
    const expected = await root.callRemote("fail", "bad input").then(
      () => null,
      (e: unknown) => e,
    );
    expect(expected).toBeInstanceOf(CopiedFailure);
    expect((expected as CopiedFailure).expected).toBe(true);
    expect((expected as CopiedFailure).message).toBe("bad input");
    expect((expected as CopiedFailure).code).toBe("ERR_PB_ERROR");
    const crash = (await root.callRemote("crash", "oops").then(
      () => null,
      (e: unknown) => e,
    )) as CopiedFailure;
    expect(crash.remoteType).toBe("weft.Error");
    expect(crash.code).toBe("ERR_PB_REMOTE_FAILURE");
    const nosuch = (await root.callRemote("nope").then(
      () => null,
      (e: unknown) => e,
    )) as CopiedFailure;
    expect(nosuch.remoteType).toBe("twisted.spread.flavors.NoSuchMethod");
    expect(nosuch.check("builtins.AttributeError")).toBe("builtins.AttributeError");
  });

  it("passes a client Referenceable to the server, which calls it back", async () => {
    const [root] = await rootOf(await serve(new PBServerFactory(new InteropRoot())));
    const cb = Referenceable.fromMethods({ got: (v: unknown) => ["seen", v] });
    expect(await root.callRemote("callback", cb, 5)).toEqual(["seen", 5]);
  });

  it("gets server Referenceables, sends them back as the same object, and releases them", async () => {
    const brokers: Broker[] = [];
    class Tracking extends PBServerFactory {
      override buildProtocol(addr: Address): Broker {
        const b = super.buildProtocol(addr);
        brokers.push(b);
        return b;
      }
    }
    const [root] = await rootOf(await serve(new Tracking(new Counter())));
    const ref = (await root.callRemote("send")) as RemoteReference;
    expect(await ref.callRemote("ping")).toBe("pong");
    const server = brokers[0] as Broker;
    expect(server.localObjectCount).toBe(2);
    const back = (await root.callRemote("give", ref)) as RemoteReference;
    expect(back.luid).toBe(ref.luid);
    ref.release();
    await root.callRemote("give", 0);
    expect(server.localObjectCount).toBe(2);
    back.release();
    await root.callRemote("give", 0);
    expect(server.localObjectCount).toBe(1);
    await expect(ref.callRemote("ping")).rejects.toBeInstanceOf(DeadReferenceError);
  });

  it("fails pending calls with PBConnectionLost, then every call with DeadReferenceError", async () => {
    const server = new Counter();
    const [root, f] = await rootOf(await serve(new PBServerFactory(server)));
    const lost: RemoteReference[] = [];
    root.notifyOnDisconnect((r) => lost.push(r));
    const pending = root.callRemote("slow");
    f.disconnect();
    await expect(pending).rejects.toBeInstanceOf(PBConnectionLost);
    expect(lost).toEqual([root]);
    await expect(root.callRemote("give", 1)).rejects.toBeInstanceOf(DeadReferenceError);
    expect(root.dead).toBe(true);
  });

  it("answers an unregistered class with InsecureJelly and keeps serving", async () => {
    const [root] = await rootOf(await serve(new PBServerFactory(new Counter())));
    const e = (await root.callRemote("give", new Unregistered()).then(
      () => null,
      (err: unknown) => err,
    )) as CopiedFailure;
    expect(e.remoteType).toBe("twisted.spread.jelly.InsecureJelly");
    expect(e.message).toBe("Module __main__ not allowed (in type __main__.Unregistered).");
    expect(await root.callRemote("give", "still here")).toBe("still here");
  });

  it("closes only the connection that sends malformed or oversized banana", async () => {
    const port = await serve(new PBServerFactory(new Counter()));
    const [root] = await rootOf(port);
    const payloads = [
      [0x02, 0x82, 0x70, 0x62, 0x01, 0x88], // "pb", then an unknown type byte
      [0x02, 0x82, 0x70, 0x62, 0x01, 0x00, 0x28, 0x82], // "pb", then a 640 KiB + 1 string header
      [0x02, 0x82, 0x70, 0x62, ...new Array<number>(65).fill(1)], // a 65-byte prefix
    ];
    for (const bytes of payloads) {
      const closed = await new Promise<boolean>((resolve) => {
        const sock = netConnect(port, "127.0.0.1", () => {
          sock.write(Buffer.from(bytes));
        });
        sock.on("data", () => {});
        sock.on("close", () => resolve(true));
        sock.on("error", () => {});
      });
      expect(closed).toBe(true);
    }
    expect(await root.callRemote("give", 7)).toBe(7);
  });

  it("hands the client's mind to the realm, which can call the client back", async () => {
    const portal = new Portal(
      {
        requestAvatar: async (id, mind) => {
          const greeting = await (mind as RemoteReference).callRemote("hello", id);
          return { avatar: Referenceable.fromMethods({ greeting: () => greeting }) };
        },
      },
      [new InMemoryPasswordChecker({ bob: "pw" })],
    );
    const port = await serve(new PBServerFactory(portal));
    const f = new PBClientFactory();
    factories.push(f);
    reactor.connectTCP("127.0.0.1", port, f);
    const mind = Referenceable.fromMethods({ hello: (name: unknown) => `hi ${String(name)}` });
    const avatar = await f.login(new UsernamePassword("bob", "pw"), mind);
    expect(await avatar.callRemote("greeting")).toBe("hi bob");
  });

  it("logs in with a password (challenge-response) and refuses a wrong one", async () => {
    let loggedOut = 0;
    class User extends Referenceable {
      protected override readonly methodPrefix = "perspective_";
      constructor(readonly name: string) {
        super();
      }
      perspective_whoami(): string {
        return this.name;
      }
    }
    const portal = new Portal(
      {
        requestAvatar: (id) => ({
          avatar: new User(id),
          logout: () => {
            loggedOut++;
          },
        }),
      },
      [new InMemoryPasswordChecker({ alice: "secret" })],
    );
    const port = await serve(new PBServerFactory(portal));
    const good = new PBClientFactory();
    factories.push(good);
    reactor.connectTCP("127.0.0.1", port, good);
    const avatar = await good.login(new UsernamePassword("alice", "secret"));
    expect(await avatar.callRemote("whoami")).toBe("alice");
    const bad = new PBClientFactory();
    factories.push(bad);
    reactor.connectTCP("127.0.0.1", port, bad);
    const err = (await bad.login(new UsernamePassword("alice", "wrong")).then(
      () => null,
      (e: unknown) => e,
    )) as CopiedFailure;
    expect(err.remoteType).toBe("twisted.cred.error.UnauthorizedLogin");
    avatar.release();
    await new Promise((r) => setTimeout(r, 50));
    expect(loggedOut).toBe(1);
  });
});

describe("PB reference counting with the garbage collector", () => {
  it("sends decref when a RemoteReference is collected (node --expose-gc)", () => {
    const script = fileURLToPath(new URL("./gc-child.ts", import.meta.url));
    const r = spawnSync(process.execPath, ["--expose-gc", "--import", "tsx", script], {
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(r.stdout.trim()).toBe("ok");
  });
});

describe("PB output batching", () => {
  it("answers every call of one read in one write", () => {
    const factory = new PBServerFactory(new InteropRoot());
    const broker = factory.buildProtocol({ type: "TCP", host: "127.0.0.1", port: 1 });
    const transport = new MemoryTransport();
    broker.makeConnection(transport);
    const enc = new BananaEncoder();
    broker.dataReceived(enc.encode(new Uint8Array(Buffer.from("pb"))));
    enc.useVocabulary();
    transport.clear();
    const calls = [1, 2, 3].map((i) =>
      enc.encode([
        "message",
        i,
        new Uint8Array(Buffer.from("root")),
        new Uint8Array(Buffer.from("calculate")),
        1,
        ["tuple", i, i],
        ["dictionary"],
      ]),
    );
    let writes = 0;
    const write = transport.write.bind(transport);
    transport.write = (d) => {
      writes++;
      write(d);
    };
    broker.dataReceived(new Uint8Array(Buffer.concat(calls)));
    expect(writes).toBe(1);
    const answers = decodeAll(transport.value());
    expect(answers).toEqual([1, 2, 3].map((i) => ["answer", i, ["tuple", 2 * i, 0]]));
  });
});
