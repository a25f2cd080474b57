/** The state API for services (see `directory.ts`). */
export { fsyncDirectory, writeFileAtomic } from "./atomic.js";
export { AutoSaver, type AutoSaverOptions } from "./autosave.js";
export { defaultStateDir, StateDirectory, StateFile, type StateSpec } from "./directory.js";
export {
  StateCorruptError,
  StateError,
  StateIOError,
  StateLockedError,
  StateVersionError,
} from "./errors.js";
export { DirectoryLock, type LockRecord } from "./lock.js";
