/**
 * `weft/testing`: helpers for testing protocols without sockets or real time.
 * The fast-check arbitraries use `fast-check`, a dependency of weft.
 */
export { Clock } from "../core/clock.js";
export * from "./amp-arbitraries.js";
export * from "./arbitraries.js";
export * from "./memory.js";
