/**
 * `weft serve --manhole …` and `weft manhole ENDPOINT`, both as real processes: a session through
 * the Unix socket sees the live suite (its front-ends, a client's open connection through
 * `connections()`), and over TCP a wrong `WEFT_MANHOLE_TOKEN` is refused (exit 1) while the token
 * file's token opens a session.
 */
import { statSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { portOf, type WeftChild, weft } from "./serve-process.js";

let dir = "";
let server: WeftChild | null = null;
let port = 0;
let tcpManhole = 0;

/** A free TCP port on 127.0.0.1 (probed, then released). */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "weft-serve-manhole-"));
  const config = join(dir, "suite.json");
  await writeFile(
    config,
    JSON.stringify({
      services: { transform: { listen: [{ protocol: "line", endpoint: "tcp:0" }] } },
    }),
  );
  tcpManhole = await freePort();
  server = weft([
    "serve",
    "-c",
    config,
    "--manhole",
    `unix:${join(dir, "m.sock")}`,
    "--log-level",
    "info",
  ]);
  port = portOf((await server.waitFor(/transform.*\n/)).input, "transform", "line");
}, 30_000);

afterAll(async () => {
  await server?.kill();
  await rm(dir, { recursive: true, force: true });
});

/** Runs `weft manhole ARGS`, typing each of `lines` once the previous answer came. */
async function session(args: string[], lines: string[], env: NodeJS.ProcessEnv = process.env) {
  const client = weft(["manhole", ...args], { stdin: "pipe", env });
  let prompts = 0;
  for (const line of lines) {
    prompts++;
    await client.waitFor(new RegExp(`(weft> [^]*){${prompts}}$`));
    client.child.stdin?.write(`${line}\n`);
  }
  client.child.stdin?.end();
  const exit = await client.exited;
  return { exit, out: client.stdout(), err: client.stderr() };
}

describe("weft manhole into weft serve", () => {
  it("the socket is 0600 and a session sees the live suite and its open connections", async () => {
    const path = join(dir, "m.sock");
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const client = net.connect(port, "127.0.0.1");
    await new Promise<void>((r) => client.once("connect", () => r()));
    try {
      const { exit, out } = await session(
        [`unix:${path}`],
        [
          "suite.frontEnds.map((f) => f.service + '/' + f.protocol).join()",
          "connections().length",
          "await Promise.resolve(Object.keys(services).join())",
          ".exit",
        ],
      );
      expect(exit.code).toBe(0);
      expect(out).toContain("'transform/line'");
      expect(out).toMatch(/weft> 1\n/);
      expect(out).toContain("'transform'");
    } finally {
      client.destroy();
    }
    await server?.waitFor(/manhole session closed/, { stderr: true });
    expect(server?.stderr()).toContain('"input":"connections().length"');
  }, 30_000);
});

describe("weft serve --manhole tcp: with a token", () => {
  let tcpServer: WeftChild | null = null;
  const tokenFile = () => join(dir, "manhole.token");

  beforeAll(async () => {
    tcpServer = weft([
      "serve",
      "-c",
      join(dir, "suite.json"),
      "--manhole",
      `tcp:${tcpManhole}`,
      "--manhole-token-file",
      tokenFile(),
      "--state-dir",
      join(dir, "tcp-state"),
    ]);
    await tcpServer.waitFor(/transform.*\n/);
  }, 30_000);

  afterAll(async () => {
    await tcpServer?.kill();
  });

  it("a wrong WEFT_MANHOLE_TOKEN is refused with exit 1; the token file opens a session", async () => {
    const wrong = await session([`tcp:127.0.0.1:${tcpManhole}`], [], {
      ...process.env,
      WEFT_MANHOLE_TOKEN: "not-the-token",
    });
    expect(wrong.exit.code).toBe(1);
    expect(wrong.out).toBe("");
    expect(wrong.err).toMatch(/refused/);
    const right = await session(
      [`tcp:127.0.0.1:${tcpManhole}`, "--token-file", tokenFile()],
      ["6 * 7", ".exit"],
    );
    expect(right.exit.code).toBe(0);
    expect(right.out).toMatch(/weft> 42\n/);
  }, 30_000);
});
