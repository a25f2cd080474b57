/**
 * Which database a pool talks to: a URL or an object, parsed into one of two configurations.
 *
 * - `postgres://user:password@host:port/database?…` or `postgresql://…`: handed to `pg` as its
 *   `connectionString` (a Unix socket: `postgres:///weft?host=/run/postgresql`).
 * - `sqlite:/path/to/file.db`, `sqlite:relative.db`, `sqlite:///abs/path.db`, `sqlite::memory:`.
 */
import { PoolMisuseError } from "./errors.js";

/** A PostgreSQL database (driver: `pg`). */
export interface PostgresConfig {
  kind: "postgres";
  /** A `postgres://` URL; the fields below override its parts. */
  connectionString?: string;
  /** Host name, or the directory of a Unix socket. */
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  /** Seconds a connection attempt may take. Default 10. */
  connectTimeout?: number;
}

/** An SQLite database, file or `:memory:` (driver: `node-sqlite3-wasm`, run on worker threads). */
export interface SqliteConfig {
  kind: "sqlite";
  /** A file path, or `:memory:`. */
  filename: string;
  /** Milliseconds a statement waits for another connection's lock before SQLITE_BUSY. Default 5000. */
  busyTimeout?: number;
}

/** A database, as the pool's `database` option takes it. */
export type DatabaseConfig = PostgresConfig | SqliteConfig;

/** Parses a database URL (see the module documentation); an object is checked and returned. */
export function parseDatabaseConfig(database: string | DatabaseConfig): DatabaseConfig {
  if (typeof database !== "string") {
    if (database.kind === "postgres" || database.kind === "sqlite") return database;
    throw new PoolMisuseError(
      `Unknown database kind ${JSON.stringify((database as { kind?: unknown }).kind)} (postgres or sqlite expected).`,
    );
  }
  if (/^postgres(ql)?:\/\//i.test(database)) {
    return { kind: "postgres", connectionString: database };
  }
  const m = /^sqlite:(.*)$/i.exec(database);
  if (m !== null) {
    let filename = m[1] ?? "";
    if (filename.startsWith("//")) filename = filename.slice(2);
    if (filename === "")
      throw new PoolMisuseError(`No SQLite file in ${JSON.stringify(database)}.`);
    return { kind: "sqlite", filename };
  }
  throw new PoolMisuseError(
    `Unknown database URL ${JSON.stringify(database)}: postgres://…, postgresql://… or sqlite:<file> (sqlite::memory:) expected.`,
  );
}
