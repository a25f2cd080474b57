// Imported by every thread pool worker of the examples before any task: the examples run under
// tsx, and on Node 20 a worker can import a `.ts` task module only after tsx's ESM loader is
// registered in that worker. A built application (plain `.js`) needs no bootstrap.
import { register } from "tsx/esm/api";

register();
