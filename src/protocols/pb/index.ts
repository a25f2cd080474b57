/** Perspective Broker: banana, jelly, brokers, references, login — wire-compatible with Twisted. */

export {
  BananaDecoder,
  type BananaItem,
  type BananaLimits,
  type BananaOut,
  decodeAll,
  PB_VOCABULARY,
  PREFIX_LIMIT,
  SIZE_LIMIT,
} from "./banana.js";
export { BananaEncoder, type BananaEncoderOptions } from "./banana-encoder.js";
export {
  Broker,
  type BrokerFactory,
  MAX_BROKER_REFS,
  PB_VERSION,
  type PbLogger,
} from "./broker.js";
export {
  BananaEncodeError,
  BananaError,
  CopiedFailure,
  DeadReferenceError,
  InsecureJelly,
  JellyError,
  NoSuchMethod,
  PBConnectionLost,
  PbError,
  PbProtocolError,
  UnauthorizedLogin,
} from "./errors.js";
export { PBClientFactory, type PBFactoryOptions, PBServerFactory } from "./factory.js";
export {
  Avatar,
  Copyable,
  Referenceable,
  RemoteCopy,
  type RemoteMethod,
  type RemoteResult,
  Root,
  type RootProvider,
} from "./flavors.js";
export {
  Jellier,
  Jellyable,
  type JellyInvoker,
  jelly,
  jellyFlat,
  jellyScalar,
  type Sexp,
} from "./jelly.js";
export {
  type AvatarResult,
  type Credentials,
  type CredentialsChecker,
  challenge,
  InMemoryPasswordChecker,
  Portal,
  PortalRoot,
  type Realm,
  respond,
  type UsernameHashedPassword,
  UsernamePassword,
} from "./login.js";
export { RemoteReference } from "./reference.js";
export {
  globalSecurity,
  pbSecurity,
  type RemoteCopyClass,
  type RemoteCopyLike,
  SecurityOptions,
  setUnjellyableForClass,
} from "./security.js";
export { Unjellier, type UnjellyInvoker, unjelly } from "./unjelly.js";
export { asTuple, FrozenSet, isTuple, PbFloat, PbTuple, tuple, Unpersistable } from "./values.js";
