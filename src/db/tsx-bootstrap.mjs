// Imported by an SQLite connection's worker only when weft runs from its TypeScript sources
// (tests, benches, examples under tsx): on Node 20 a worker can import the `.ts` worker module only
// after tsx's ESM loader is registered in it. The published package runs `.js` and never loads this.
import { register } from "tsx/esm/api";

register();
