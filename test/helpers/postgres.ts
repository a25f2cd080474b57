/**
 * A real, throwaway PostgreSQL server for the tests: a temporary data directory, a Unix socket in
 * that directory only (no TCP), `fsync=off`. `initdb` and `pg_ctl` come from
 * `$(pg_config --bindir)` or `/usr/lib/postgresql/<n>/bin` (a stock Debian install does not put them
 * on PATH), and run as the `postgres` user through `runuser` when we are root (both refuse to run
 * as root). Starts in about a second; `stop()` takes 0.1 s.
 */
import { execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A running test server. */
export interface TestPostgres {
  /** The directory holding the data directory and the socket (`host` for the client). */
  readonly dir: string;
  /** The superuser the cluster was made with. */
  readonly user: string;
  /** A `postgres://` URL of the `postgres` database over the socket. */
  readonly url: string;
  /** Stops the server (`pg_ctl stop -m fast`): connections are dropped. */
  stop(): void;
  /** Starts it again after `stop()`. */
  start(): void;
  /** Stops it and removes its directory. */
  dispose(): void;
}

const USER = "weft";

/** The directory of PostgreSQL's server programs, or null when PostgreSQL is not installed. */
export function postgresBinDir(): string | null {
  try {
    const dir = execFileSync("pg_config", ["--bindir"], { encoding: "utf8" }).trim();
    if (existsSync(join(dir, "initdb"))) return dir;
  } catch {
    // no pg_config: look in Debian's place
  }
  const base = "/usr/lib/postgresql";
  if (!existsSync(base)) return null;
  const versions = readdirSync(base)
    .filter((v) => existsSync(join(base, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? null : join(base, versions[0], "bin");
}

const asRoot = process.getuid?.() === 0;

function runAsPostgres(program: string, args: string[]): void {
  const [cmd, argv] = asRoot
    ? ["runuser", ["-u", "postgres", "--", program, ...args]]
    : [program, args];
  execFileSync(cmd, argv, { stdio: "pipe", timeout: 60_000 });
}

/** The url of database `database` on a server whose socket is in `dir`. */
export function postgresUrl(dir: string, database = "postgres"): string {
  return `postgres://${USER}@localhost/${database}?host=${encodeURIComponent(dir)}`;
}

/** Creates and starts a server; throws with the install hint when PostgreSQL is missing. */
export function startTestPostgres(): TestPostgres {
  const bin = postgresBinDir();
  if (bin === null) {
    throw new Error(
      "PostgreSQL is not installed (no pg_config, no /usr/lib/postgresql/*/bin/initdb): apt-get install -y postgresql",
    );
  }
  const dir = mkdtempSync(join(tmpdir(), "weft-pg-"));
  if (asRoot)
    chownSync(dir, Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" })), 0);
  const data = join(dir, "data");
  runAsPostgres(join(bin, "initdb"), [
    "-D",
    data,
    "-A",
    "trust",
    "-U",
    USER,
    "--no-sync",
    "-E",
    "UTF8",
    "--locale=C.UTF-8",
  ]);
  const start = (): void =>
    runAsPostgres(join(bin, "pg_ctl"), [
      "-D",
      data,
      "-o",
      `-k ${dir} -c listen_addresses= -c fsync=off -c synchronous_commit=off -c full_page_writes=off`,
      "-l",
      join(dir, "server.log"),
      "-w",
      "start",
    ]);
  let running = false;
  const stop = (): void => {
    if (!running) return;
    running = false;
    runAsPostgres(join(bin, "pg_ctl"), ["-D", data, "-m", "fast", "-w", "stop"]);
  };
  start();
  running = true;
  return {
    dir,
    user: USER,
    url: postgresUrl(dir),
    stop,
    start: () => {
      if (running) return;
      start();
      running = true;
    },
    dispose: () => {
      try {
        stop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
