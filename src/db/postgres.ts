/**
 * The PostgreSQL backend, on the `pg` driver: one `pg.Client` per pooled connection, its queries
 * sent as they come (pg is asynchronous: no thread is involved).
 *
 * Errors: a statement the server refuses fails with QueryFailedError carrying its SQLSTATE
 * (`dbCode`), except the connection-level classes 08 (connection exception) and 57P (the server is
 * shutting down or restarting), which, like a socket error or an unexpected end, fail with
 * DbConnectionLostError and mark the connection broken. A client that errors while idle (the
 * server restarted) is marked broken too, so the pool never lends it out again.
 */
import type { Backend, BackendConnection, Row, SqlValue, StatementResult } from "./backend.js";
import type { PostgresConfig } from "./config.js";
import { loadDriver } from "./driver.js";
import {
  DbConnectionLostError,
  DbUnavailableError,
  DriverNotInstalledError,
  QueryFailedError,
} from "./errors.js";

/** The part of `pg.Client` used here. */
interface PgClient {
  connect(): Promise<void>;
  query(
    text: string,
    values: readonly SqlValue[],
  ): Promise<{ rows: Row[]; rowCount: number | null }>;
  end(): Promise<void>;
  on(event: "error", listener: (err: Error) => void): unknown;
  on(event: "end", listener: () => void): unknown;
}

interface PgModule {
  Client: new (config: Record<string, unknown>) => PgClient;
}

function isPgModule(mod: unknown): mod is PgModule {
  return typeof (mod as { Client?: unknown } | null)?.Client === "function";
}

const SQLSTATE = /^[0-9A-Z]{5}$/;

/** The SQLSTATE of an error the server sent (pg's DatabaseError has a `severity`), else null. */
function sqlState(err: unknown): string | null {
  const e = err as { code?: unknown; severity?: unknown } | null;
  if (typeof e?.severity !== "string") return null; // a socket error: its code is errno's (EPIPE)
  return typeof e.code === "string" && SQLSTATE.test(e.code) ? e.code : null;
}

class PostgresConnection implements BackendConnection {
  readonly #client: PgClient;
  #broken = false;

  constructor(client: PgClient) {
    this.#client = client;
    client.on("error", () => {
      this.#broken = true;
    });
    client.on("end", () => {
      this.#broken = true;
    });
  }

  get broken(): boolean {
    return this.#broken;
  }

  async run(sql: string, params: readonly SqlValue[]): Promise<StatementResult> {
    if (this.#broken) {
      throw new DbConnectionLostError(
        "The connection to PostgreSQL was lost before the statement.",
      );
    }
    let r: { rows: Row[]; rowCount: number | null };
    try {
      r = await this.#client.query(sql, params);
    } catch (err) {
      throw this.#classify(err);
    }
    return { rows: r.rows, rowCount: r.rowCount ?? 0 };
  }

  #classify(err: unknown): Error {
    const state = sqlState(err);
    const message = err instanceof Error ? err.message : String(err);
    if (state !== null && !state.startsWith("08") && !state.startsWith("57P")) {
      return new QueryFailedError(`PostgreSQL refused the statement: ${message}`, state, {
        cause: err,
      });
    }
    if (state === null && !this.#broken && err instanceof TypeError) return err; // bad arguments
    this.#broken = true;
    return new DbConnectionLostError(`The connection to PostgreSQL was lost: ${message}`, {
      cause: err,
    });
  }

  async close(): Promise<void> {
    this.#broken = true;
    await this.#client.end().catch(() => undefined);
  }
}

/** See the module documentation. */
export class PostgresBackend implements Backend {
  readonly kind = "postgres";
  readonly #config: PostgresConfig;

  constructor(config: PostgresConfig) {
    this.#config = config;
  }

  async connect(): Promise<BackendConnection> {
    const pg = await loadDriver("pg");
    if (!isPgModule(pg)) throw new DriverNotInstalledError("pg");
    const { kind: _kind, connectTimeout, ...rest } = this.#config;
    const client = new pg.Client({
      ...rest,
      connectionTimeoutMillis: Math.round((connectTimeout ?? 10) * 1000),
    });
    const conn = new PostgresConnection(client);
    try {
      await client.connect();
    } catch (err) {
      await conn.close();
      const message = err instanceof Error ? err.message : String(err);
      throw new DbUnavailableError(`Cannot connect to PostgreSQL: ${message}`, { cause: err });
    }
    return conn;
  }
}
