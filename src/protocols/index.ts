export * from "./amp/index.js";
export * from "./receivers/index.js";
