/**
 * `weft/db`: Twisted's `adbapi.ConnectionPool` for PostgreSQL (driver `pg`) and SQLite (driver
 * `better-sqlite3`, run on worker threads). Both drivers are optional peer dependencies, loaded
 * only when a pool first connects; `weft` and `weft/services` never load them.
 *
 * This list is the public API of `weft/db`, written out name by name.
 *
 * @module weft/db
 */
export type { Row, SqlValue } from "./backend.js";
export {
  type DatabaseConfig,
  type PostgresConfig,
  parseDatabaseConfig,
  type SqliteConfig,
} from "./config.js";
export {
  DatabaseError,
  DbConnectionLostError,
  DbUnavailableError,
  DriverNotInstalledError,
  PoolClosedError,
  PoolMisuseError,
  QueryFailedError,
} from "./errors.js";
export {
  ConnectionPool,
  type ConnectionPoolOptions,
  type DbHandle,
  type PoolReactor,
  type PoolStats,
} from "./pool.js";
