/**
 * AMP (Twisted's Asynchronous Messaging Protocol): the box codec, argument types, typed commands,
 * the protocol, and its errors.
 */
export * from "./arguments.js";
export * from "./box.js";
export * from "./command.js";
export * from "./errors.js";
export * from "./protocol.js";
