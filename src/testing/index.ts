/**
 * `weft/testing`: helpers for testing protocols without sockets or real time.
 * The fast-check arbitraries need `fast-check` installed (an optional peer dependency).
 */
export { Clock } from "../core/clock.js";
export * from "./amp-arbitraries.js";
export * from "./arbitraries.js";
export * from "./memory.js";
