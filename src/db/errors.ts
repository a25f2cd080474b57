/**
 * The database pool's typed errors: one class per kind of failure, each a {@link WeftError} with a
 * stable `code`. A caller decides what to do from the class (or the code) alone:
 *
 * - {@link DbUnavailableError}: no connection could be made (server down, socket missing, bad
 *   credentials, file not openable). Nothing was run. Retrying later may succeed.
 * - {@link DbConnectionLostError}: the connection dropped while the call ran (server restart,
 *   worker crash). The call may or may not have taken effect; a transaction did not commit unless
 *   the loss came after COMMIT was acknowledged (it did not: then the call succeeded). The pool
 *   discards that connection and makes a new one for the next call.
 * - {@link QueryFailedError}: the database refused the statement; `dbCode` is its own code
 *   (PostgreSQL's SQLSTATE such as `23505`, SQLite's `SQLITE_CONSTRAINT…`) and `cause` the driver's
 *   error. The connection is fine.
 * - {@link PoolClosedError}: the pool is closing or closed.
 * - {@link PoolMisuseError}: a programming error (a transaction handle used after its interaction
 *   ended, more than one connection on an SQLite `:memory:` database, a bad option).
 * - {@link DriverNotInstalledError}: the backend's driver package (an optional peer dependency) is
 *   not installed.
 */
import { WeftError } from "../core/errors.js";

/** Base of every error the database pool raises. */
export class DatabaseError extends WeftError {}

/** No connection to the database could be made; nothing was run. */
export class DbUnavailableError extends DatabaseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_DB_UNAVAILABLE", message, options);
  }
}

/** The connection dropped while the call ran; the pool replaces it for later calls. */
export class DbConnectionLostError extends DatabaseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_DB_CONNECTION_LOST", message, options);
  }
}

/** The database refused the statement: `dbCode` is its own error code, `cause` the driver's error. */
export class QueryFailedError extends DatabaseError {
  /** The database's code: PostgreSQL's SQLSTATE (`"23505"`), SQLite's (`"SQLITE_CONSTRAINT_PRIMARYKEY"`). */
  readonly dbCode: string;
  constructor(message: string, dbCode: string, options?: { cause?: unknown }) {
    super("ERR_DB_QUERY_FAILED", message, options);
    this.dbCode = dbCode;
  }
}

/** The pool is closing or closed: it takes no new calls. */
export class PoolClosedError extends DatabaseError {
  constructor(message = "The connection pool is closed.") {
    super("ERR_DB_POOL_CLOSED", message);
  }
}

/** The pool was used in a way it does not support (see the message). */
export class PoolMisuseError extends DatabaseError {
  constructor(message: string) {
    super("ERR_DB_MISUSE", message);
  }
}

/** The backend's driver (an optional peer dependency of weft) is not installed. */
export class DriverNotInstalledError extends DatabaseError {
  /** The npm package to install. */
  readonly driver: string;
  constructor(driver: string, options?: { cause?: unknown }) {
    super(
      "ERR_DB_DRIVER_NOT_INSTALLED",
      `The database driver ${JSON.stringify(driver)} is not installed: run \`npm install ${driver}\` (weft lists it as an optional peer dependency).`,
      options,
    );
    this.driver = driver;
  }
}
