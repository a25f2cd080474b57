/**
 * What the pool needs from a backend (PostgreSQL through `pg`, SQLite on the thread pool): open a
 * connection, run one statement on it, close it. Errors leave a backend already typed (errors.ts):
 * QueryFailedError when the database refused the statement, DbConnectionLostError when the
 * connection dropped (the connection then reports `broken`), DbUnavailableError from `connect`.
 */

/** A value a statement parameter can take. */
export type SqlValue = string | number | bigint | boolean | null | Uint8Array;

/** A result row: column name to value (as the driver decodes it). */
export type Row = Record<string, unknown>;

/** One statement's result. */
export interface StatementResult {
  /** The rows it returned (empty for a statement that returns none). */
  rows: Row[];
  /** Rows inserted, updated or deleted (0 when the driver does not say). */
  rowCount: number;
}

/** One open connection of a backend. */
export interface BackendConnection {
  /** Runs one statement (parameters positional: `$1` for PostgreSQL, `?` for SQLite). */
  run(sql: string, params: readonly SqlValue[]): Promise<StatementResult>;
  /** True once the connection is known to be unusable (dropped, crashed): the pool discards it. */
  readonly broken: boolean;
  /** Closes it; never rejects. */
  close(): Promise<void>;
}

/** A database backend. */
export interface Backend {
  /** `"postgres"` or `"sqlite"`. */
  readonly kind: "postgres" | "sqlite";
  /** Opens a connection; rejects with a typed error (DbUnavailableError, DriverNotInstalledError). */
  connect(): Promise<BackendConnection>;
}
