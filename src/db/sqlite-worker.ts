/**
 * The SQLite side of a pooled connection, run inside that connection's worker thread: each pool
 * connection owns one worker (a ThreadPool of one thread), and this module's state, per worker, is
 * that connection's database handle, as adbapi keeps one DB-API connection per thread.
 *
 * Statements are prepared once and cached (up to {@link STATEMENT_CACHE} per connection). Errors
 * leave as weft's typed errors, which the pool rebuilds on the main thread by class name:
 * QueryFailedError (with SQLite's extended code, e.g. `SQLITE_CONSTRAINT_PRIMARYKEY`),
 * DbUnavailableError when the file cannot be opened, DbConnectionLostError when this worker has no
 * open database (it was replaced after a crash).
 */
import type { Row, SqlValue, StatementResult } from "./backend.js";
import { loadDriver } from "./driver.js";
import {
  DbConnectionLostError,
  DbUnavailableError,
  DriverNotInstalledError,
  QueryFailedError,
} from "./errors.js";

/** The part of better-sqlite3's Statement used here. */
interface Statement {
  readonly reader: boolean;
  all(...params: unknown[]): Row[];
  run(...params: unknown[]): { changes: number };
}

/** The part of better-sqlite3's Database used here. */
interface Database {
  prepare(sql: string): Statement;
  pragma(source: string, options: { simple: true }): unknown;
  close(): void;
}

type DatabaseConstructor = new (filename: string, options: { timeout: number }) => Database;

function isDatabaseConstructor(value: unknown): value is DatabaseConstructor {
  return typeof value === "function" && typeof value.prototype?.prepare === "function";
}

const STATEMENT_CACHE = 256;

let db: Database | null = null;
const statements = new Map<string, Statement>();

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "SQLITE_ERROR";
}

/**
 * Opens the database of this worker's connection: WAL journal for a file (readers do not block the
 * writer, and one fsync per transaction at most), `busyTimeout` ms of waiting for another
 * connection's lock. Resolves with the journal mode in force.
 */
export async function open(filename: string, busyTimeout: number): Promise<string> {
  const Driver = await loadDriver("better-sqlite3");
  if (!isDatabaseConstructor(Driver)) throw new DriverNotInstalledError("better-sqlite3");
  try {
    db = new Driver(filename, { timeout: busyTimeout });
    const mode =
      filename === ":memory:" ? "memory" : db.pragma("journal_mode = WAL", { simple: true });
    db.pragma("foreign_keys = ON", { simple: true });
    return String(mode);
  } catch (err) {
    db = null;
    const message = err instanceof Error ? err.message : String(err);
    throw new DbUnavailableError(
      `Cannot open the SQLite database ${JSON.stringify(filename)}: ${message}`,
      {
        cause: err,
      },
    );
  }
}

/** Runs one statement with positional parameters (booleans are bound as 1 and 0). */
export function run(sql: string, params: SqlValue[]): StatementResult {
  if (db === null) {
    throw new DbConnectionLostError(
      "This SQLite connection's worker has no open database (it was restarted after a crash).",
    );
  }
  for (let i = 0; i < params.length; i++) {
    const p = params[i];
    if (typeof p === "boolean") params[i] = p ? 1 : 0;
  }
  try {
    let stmt = statements.get(sql);
    if (stmt === undefined) {
      stmt = db.prepare(sql);
      if (statements.size >= STATEMENT_CACHE) {
        const oldest = statements.keys().next().value;
        if (oldest !== undefined) statements.delete(oldest);
      }
      statements.set(sql, stmt);
    }
    if (stmt.reader) {
      const rows = stmt.all(...params);
      return { rows, rowCount: rows.length };
    }
    return { rows: [], rowCount: stmt.run(...params).changes };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new QueryFailedError(`SQLite refused the statement: ${message}`, codeOf(err), {
      cause: err,
    });
  }
}

/** Closes the database (idempotent). */
export function close(): void {
  statements.clear();
  const d = db;
  db = null;
  d?.close();
}
