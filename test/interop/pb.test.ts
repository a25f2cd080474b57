/**
 * PB interop with the real Twisted (22.4, /usr/bin/python3), both directions: a Twisted client
 * against weft's server, weft's client against a Twisted server, and the codec table re-recorded
 * live from Twisted and checked both ways. If Twisted is missing these tests FAIL (never skip).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { InteropRoot } from "../../examples/pb-server.js";
import type { ListeningPort } from "../../src/core/reactor.js";
import { createReactor } from "../../src/core/reactor.js";
import {
  Avatar,
  BananaEncoder,
  type CopiedFailure,
  Copyable,
  InMemoryPasswordChecker,
  jelly,
  PBClientFactory,
  PBServerFactory,
  PbFloat,
  PbTuple,
  Portal,
  Referenceable,
  type RemoteReference,
  tuple,
  UsernamePassword,
} from "../../src/protocols/pb/index.js";
import { RECORDED, TABLE } from "../protocols/pb/table.js";

const here = dirname(fileURLToPath(import.meta.url));
const PYTHON = "/usr/bin/python3";
const reactor = createReactor();
const ports: ListeningPort[] = [];
const children: ChildProcess[] = [];
const factories: PBClientFactory[] = [];

function requireTwisted(): void {
  const probe = spawnSync(PYTHON, ["-c", "import twisted.spread.pb"], { encoding: "utf8" });
  if (probe.status !== 0) {
    throw new Error(
      `PB interop needs Twisted in ${PYTHON}: ${probe.error?.message ?? probe.stderr}`,
    );
  }
}

function run(args: string[], input = ""): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, args, { stdio: ["pipe", "pipe", "pipe"] });
    children.push(child);
    let out = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      out += c.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, out }));
    child.stdin.end(input);
  });
}

/** Starts `pb_peer.py server`; resolves with its two ports once it prints them. */
function startTwistedServer(): Promise<[number, number]> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [join(here, "pb_peer.py"), "server"], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    children.push(child);
    let out = "";
    const onData = (c: Buffer): void => {
      out += c.toString();
      const m = /listening (\d+) (\d+)/.exec(out);
      if (m) resolve([Number(m[1]), Number(m[2])]);
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.on("error", reject);
    child.on("exit", (code) => reject(new Error(`pb_peer.py exited (${code}): ${out}`)));
  });
}

async function serve(factory: PBServerFactory): Promise<number> {
  const port = await reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
  ports.push(port);
  return port.getHost().port;
}

class User extends Avatar {
  readonly name: string;
  constructor(name: string) {
    super();
    this.name = name;
  }
  perspective_whoami(): string {
    return this.name;
  }
}

function portal(): Portal {
  return new Portal({ requestAvatar: (id) => ({ avatar: new User(id) }) }, [
    new InMemoryPasswordChecker({ alice: "secret" }),
  ]);
}

async function rejection(d: PromiseLike<unknown>): Promise<CopiedFailure> {
  return (await Promise.resolve(d).then(
    () => {
      throw new Error("expected a failure");
    },
    (e: unknown) => e,
  )) as CopiedFailure;
}

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill();
  for (const f of factories.splice(0)) f.disconnect();
  for (const p of ports.splice(0)) await p.stopListening({ closeConnections: true });
});

afterAll(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill();
});

describe("PB interop with Twisted", () => {
  beforeAll(() => requireTwisted());

  it("Twisted writes the table's bytes, and reads weft's bytes back to equal values", async () => {
    const live = await run([join(here, "pb_codec.py"), "encode"]);
    expect(live.code).toBe(0);
    const recorded = Object.fromEntries(
      live.out
        .trim()
        .split("\n")
        .map((l) => l.split(" ") as [string, string]),
    );
    expect(recorded).toEqual(RECORDED);
    const enc = new BananaEncoder();
    enc.useVocabulary();
    const lines = Object.entries(TABLE).map(
      ([name, make]) => `${name} ${Buffer.from(enc.encode(jelly(make()))).toString("hex")}`,
    );
    const checked = await run([join(here, "pb_codec.py"), "decode"], `${lines.join("\n")}\n`);
    expect(checked.out.trim().split("\n")).toEqual(Object.keys(TABLE).map((n) => `${n} ok`));
  });

  it("a Twisted client gets every answer, error, callback and login right from weft's server", async () => {
    const port = await serve(new PBServerFactory(new InteropRoot()));
    const loginPort = await serve(new PBServerFactory(portal()));
    const result = await run([join(here, "pb_peer.py"), "client", String(port), String(loginPort)]);
    const lines = result.out.trim().split("\n");
    expect(lines.filter((l) => !l.startsWith("ok "))).toEqual(["done"]);
    expect(lines.length).toBeGreaterThan(20);
  });

  it("weft's client gets every answer, error, callback and login right from a Twisted server", async () => {
    const [port, loginPort] = await startTwistedServer();
    const f = new PBClientFactory();
    factories.push(f);
    reactor.connectTCP("127.0.0.1", port, f);
    const root = await f.getRootObject();
    const answer = await root.callRemote("calculate", 42, 47);
    expect(answer).toBeInstanceOf(PbTuple);
    expect([...(answer as PbTuple)]).toEqual([89, 0]);
    expect(await root.callRemote("calculate", 2n ** 70n, 1)).toEqual(
      tuple<unknown>(2n ** 70n + 1n, 0),
    );
    for (const [name, make] of Object.entries(TABLE)) {
      const sent = make();
      const back = await root.callRemote("echo", sent);
      const enc = new BananaEncoder();
      enc.useVocabulary();
      expect(Buffer.from(enc.encode(jelly(back))).toString("hex"), name).toBe(RECORDED[name]);
    }
    expect(await root.callRemote("echo", new PbFloat(1))).toEqual(new PbFloat(1));

    const expected = await rejection(root.callRemote("fail", "bad input"));
    expect(expected.expected).toBe(true);
    expect(expected.message).toBe("bad input");
    expect(expected.remoteType).toBe("twisted.spread.pb.Error");
    const crash = await rejection(root.callRemote("crash", "oops"));
    expect([crash.remoteType, crash.message, crash.code]).toEqual([
      "builtins.ValueError",
      "oops",
      "ERR_PB_REMOTE_FAILURE",
    ]);
    const nosuch = await rejection(root.callRemote("nosuch"));
    expect(nosuch.remoteType).toBe("twisted.spread.flavors.NoSuchMethod");

    const cb = Referenceable.fromMethods({ got: (v: unknown) => ["seen", v] });
    expect(await root.callRemote("callback", cb, 5)).toEqual(["seen", 5]);

    class Unregistered extends Copyable {
      static copyType = "weftapp.Unregistered";
      x = 1;
    }
    const insecure = await rejection(root.callRemote("echo", new Unregistered()));
    expect(insecure.remoteType).toBe("twisted.spread.jelly.InsecureJelly");
    expect(await root.callRemote("echo", "still serving")).toBe("still serving");

    const good = new PBClientFactory();
    factories.push(good);
    reactor.connectTCP("127.0.0.1", loginPort, good);
    const avatar: RemoteReference = await good.login(new UsernamePassword("alice", "secret"));
    expect(await avatar.callRemote("whoami")).toBe("alice");
    const bad = new PBClientFactory();
    factories.push(bad);
    reactor.connectTCP("127.0.0.1", loginPort, bad);
    const refused = await rejection(bad.login(new UsernamePassword("alice", "wrong")));
    expect(refused.check("twisted.cred.error.UnauthorizedLogin")).not.toBeNull();
  });
});
