/**
 * The manhole server in-process, with raw clients on real sockets: the Unix socket is born 0600;
 * a session evaluates expressions (top-level await included) against the namespace it was given;
 * over TCP a wrong, missing or malformed hello gets nothing — not one byte — and the token file is
 * created 0600 with a random token, and refused when others can read it. Every session is logged.
 */
import { chmodSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Manhole, startManhole } from "../../../src/services/manhole/server.js";
import { ensureTokenFile } from "../../../src/services/manhole/token.js";

let dir = "";
const logged: Array<{ obj: object; msg: string | undefined }> = [];
const logger = {
  debug: () => {},
  info: (obj: object, msg?: string) => logged.push({ obj, msg }),
  warn: (obj: object, msg?: string) => logged.push({ obj, msg }),
  error: (obj: object, msg?: string) => logged.push({ obj, msg }),
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "weft-manhole-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Session {
  socket: net.Socket;
  output: () => string;
  /** Resolves once the output matches `re` (5 s at most). */
  until(re: RegExp): Promise<string>;
  closed: Promise<void>;
}

function connect(target: { path: string } | { port: number }, hello: string): Session {
  const socket =
    "path" in target ? net.connect(target.path) : net.connect(target.port, "127.0.0.1");
  let out = "";
  const waiters = new Set<() => void>();
  socket.setEncoding("utf8");
  socket.on("data", (d: string) => {
    out += d;
    for (const w of [...waiters]) w();
  });
  socket.on("error", () => {});
  const closed = new Promise<void>((r) => socket.once("close", () => r()));
  void closed.then(() => {
    for (const w of [...waiters]) w();
  });
  socket.write(hello);
  return {
    socket,
    output: () => out,
    closed,
    until(re) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no ${re} in ${JSON.stringify(out)}`)),
          5000,
        );
        const check = (): void => {
          if (re.test(out)) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve(out);
          }
        };
        waiters.add(check);
        check();
      });
    },
  };
}

const hello = (token: string | null) =>
  `${JSON.stringify({ v: 1, token, terminal: false, columns: 80 })}\n`;

describe("manhole over a Unix socket", () => {
  let manhole: Manhole | null = null;
  const suite = { answer: 41, services: new Map([["transform", { name: "t" }]]) };

  afterAll(async () => {
    await manhole?.close();
  });

  it("creates the socket 0600 and evaluates against the live namespace, await included", async () => {
    const path = join(dir, "m.sock");
    manhole = await startManhole({
      endpoint: `unix:${path}`,
      namespace: () => ({ suite }),
      logger,
    });
    expect(statSync(path).isSocket()).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const s = connect({ path }, hello(null));
    await s.until(/weft> $/);
    s.socket.write("suite.answer + 1\n");
    await s.until(/42\nweft> $/);
    suite.answer = 99; // live objects, not a copy
    s.socket.write("await new Promise((r) => setTimeout(() => r(suite.answer), 10))\n");
    await s.until(/99\nweft> $/);
    s.socket.write("suite.services.get('transform').name\n");
    await s.until(/'t'\nweft> $/);
    s.socket.write(".exit\n");
    await s.closed;
    // The server's side of the socket closes just after the client's.
    for (let i = 0; i < 100 && !logged.some((l) => l.msg === "manhole session closed"); i++)
      await new Promise((r) => setTimeout(r, 20));
    const msgs = logged.map((l) => l.msg);
    expect(msgs).toContain("manhole session opened");
    expect(msgs).toContain("manhole session closed");
    expect(
      logged
        .filter((l) => l.msg === "manhole input")
        .map((l) => (l.obj as { input: string }).input),
    ).toContain("suite.answer + 1");
  });

  it("refuses to take over a socket path a live manhole listens on", async () => {
    await expect(
      startManhole({ endpoint: `unix:${join(dir, "m.sock")}`, namespace: () => ({}), logger }),
    ).rejects.toMatchObject({ code: "ERR_MANHOLE" });
  });
});

describe("manhole over TCP with a token", () => {
  let manhole: Manhole | null = null;
  let port = 0;
  const tokenFile = () => join(dir, "token");

  beforeAll(async () => {
    manhole = await startManhole({
      endpoint: "tcp:0",
      tokenFile: tokenFile(),
      namespace: () => ({ secret: "inside" }),
      logger,
    });
    port = Number(manhole.address.split(":").at(-1));
  });

  afterAll(async () => {
    await manhole?.close();
  });

  it("creates the token file 0600 with a random 256-bit token", () => {
    expect(statSync(tokenFile()).mode & 0o777).toBe(0o600);
    expect(readFileSync(tokenFile(), "utf8")).toMatch(/^[0-9a-f]{64}\n$/);
  });

  it("the right token opens a session", async () => {
    const token = readFileSync(tokenFile(), "utf8").trim();
    const s = connect({ port }, hello(token));
    await s.until(/weft> $/);
    s.socket.write("secret\n");
    await s.until(/'inside'\nweft> $/);
    s.socket.end(".exit\n");
    await s.closed;
  });

  it("a wrong, missing or malformed hello gets nothing at all", async () => {
    for (const first of [hello("0".repeat(64)), hello(null), "secret\n", `${"x".repeat(5000)}`]) {
      const s = connect({ port }, first);
      await s.closed;
      expect(s.output()).toBe("");
    }
    expect(
      logged.filter((l) => l.msg === "manhole connection refused").length,
    ).toBeGreaterThanOrEqual(4);
  });

  it("requires a token file for tcp:, and refuses one readable by others", async () => {
    await expect(
      startManhole({ endpoint: "tcp:0", namespace: () => ({}), logger }),
    ).rejects.toMatchObject({
      code: "ERR_MANHOLE",
    });
    const loose = join(dir, "loose-token");
    writeFileSync(loose, "abc\n");
    chmodSync(loose, 0o644);
    expect(() => ensureTokenFile(loose)).toThrow(
      expect.objectContaining({ code: "ERR_MANHOLE_TOKEN" }),
    );
  });
});
