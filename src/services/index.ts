/**
 * Layer 3: protocol-independent services (poetry, transform, calculator), their wire front-ends and
 * clients, and a suite runner that serves them from a configuration.
 */
export * from "./amp-base.js";
export * from "./calculator/amp.js";
export * from "./calculator/client.js";
export * from "./calculator/line.js";
export * from "./calculator/service.js";
export * from "./client.js";
export * from "./errors.js";
export * from "./log.js";
export * from "./poetry/amp.js";
export * from "./poetry/clients.js";
export * from "./poetry/fast.js";
export * from "./poetry/netstring.js";
export * from "./poetry/service.js";
export * from "./poetry/slow.js";
export * from "./suite/index.js";
export * from "./transform/amp.js";
export * from "./transform/clients.js";
export * from "./transform/line.js";
export * from "./transform/line-codec.js";
export * from "./transform/netstring.js";
export * from "./transform/service.js";
