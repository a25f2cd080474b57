/**
 * `weft serve --uid nobody --umask 027`, as root (CI runs as root): the server binds a privileged
 * port first, then runs as `nobody` (checked in /proc/PID/status), still answers on that port, its
 * pidfile was created under the umask, and SIGTERM still stops it cleanly and removes the pidfile
 * (the folder belongs to nobody). Runs only as root (CI runs as root).
 */
import { readFileSync, statSync } from "node:fs";
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ask, portOf, weft } from "./serve-process.js";

const isRoot = process.getuid?.() === 0;

function passwd(name: string): { uid: number; gid: number } {
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${name}:`));
  const f = line?.split(":") ?? [];
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

/** A free port below 1024 (only root may bind it). */
async function privilegedPort(): Promise<number> {
  for (let port = 1000; port > 900; port--) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once("error", () => resolve(false));
      s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error("no free port in 901..1000");
}

let dir = "";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "weft-uid-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!isRoot)("weft serve --uid/--gid (as root)", () => {
  it("binds a privileged port, then runs as nobody; the pidfile follows --umask", async () => {
    const nobody = passwd("nobody");
    // nobody must reach its folder after the drop (mkdtemp makes the parent 0700).
    await chmod(dir, 0o755);
    const run = join(dir, "run");
    await mkdir(run);
    await chown(run, nobody.uid, nobody.gid);
    const port = await privilegedPort();
    const config = join(dir, "suite.json");
    await writeFile(
      config,
      JSON.stringify({
        services: { transform: { listen: [{ protocol: "line", endpoint: `tcp:${port}` }] } },
      }),
    );
    const pidfile = join(run, "weft.pid");
    const server = weft([
      "serve",
      "-c",
      config,
      "--uid",
      "nobody",
      "--umask",
      "027",
      "--pidfile",
      pidfile,
    ]);
    try {
      const table = (await server.waitFor(/transform.*\n/)).input;
      expect(portOf(table, "transform", "line")).toBe(port);
      const status = readFileSync(`/proc/${server.child.pid}/status`, "utf8");
      expect(status).toMatch(
        new RegExp(`^Uid:\\s+${nobody.uid}\\s+${nobody.uid}\\s+${nobody.uid}`, "m"),
      );
      expect(status).toMatch(
        new RegExp(`^Gid:\\s+${nobody.gid}\\s+${nobody.gid}\\s+${nobody.gid}`, "m"),
      );
      expect(server.stderr()).toMatch(/"uid":\d+,"gid":\d+.*dropped privileges/);
      expect(statSync(pidfile).mode & 0o777).toBe(0o640);
      expect(await ask(port, "upper as nobody")).toBe("OK AS NOBODY");
      server.child.kill("SIGTERM");
      expect((await server.exited).code).toBe(0);
      expect(() => statSync(pidfile)).toThrow(/ENOENT/);
    } finally {
      await server.kill();
    }
  }, 30_000);

  it("a user that does not exist is an error before anything is served (exit 1)", async () => {
    const config = join(dir, "zero.json");
    await writeFile(
      config,
      JSON.stringify({
        services: { transform: { listen: [{ protocol: "line", endpoint: "tcp:0" }] } },
      }),
    );
    const server = weft(["serve", "-c", config, "--uid", "no-such-user-weft"]);
    const { code } = await server.exited;
    expect(code).toBe(1);
    expect(server.stderr()).toMatch(/ERR_PRIVILEGE_DROP: cannot switch to uid no-such-user-weft/);
    expect(server.stdout()).toBe("");
  }, 30_000);
});
