/**
 * `weft/services`: the protocol-independent services (poetry, transform, calculator, weblog,
 * fibonacci), the state API for services, their wire
 * front-ends and clients, the bases for writing your own front-ends, and the suite runner that
 * serves them from a configuration (what `weft serve` runs).
 *
 * This list is the public API of `weft/services`, written out name by name.
 *
 * @module weft/services
 */

// ---- shared: front-end bases, clients, logging, errors ------------------------------------------
export { ServiceAMP, ServiceAMPFactory } from "./amp-base.js";
// ---- calculator ----------------------------------------------------------------------------------
export {
  Calculate,
  CalculatorAMPFactory,
  type CalculatorAMPOptions,
  calculatorLocator,
} from "./calculator/amp.js";
export { CalculatorClient } from "./calculator/client.js";
export {
  CalculatorLineFactory,
  type CalculatorLineOptions,
  CalculatorLineProtocol,
} from "./calculator/line.js";
export { CalculatorLineClient } from "./calculator/line-client.js";
export { CalculatorPBFactory, type CalculatorPBOptions, CalculatorRoot } from "./calculator/pb.js";
export { CalculatorPBClient } from "./calculator/pb-client.js";
export {
  type Calculation,
  CalculatorService,
  type CalculatorServiceOptions,
  type Int,
} from "./calculator/service.js";
export { type CalculatorXmlRpcOptions, CalculatorXmlRpcServer } from "./calculator/xmlrpc.js";
export { CalculatorXmlRpcClient, type XmlRpcServerAddress } from "./calculator/xmlrpc-client.js";
export { XmlRpcFault } from "./calculator/xmlrpc-codec.js";
export {
  type ClientEndpointLike,
  type ClientOptions,
  KeptConnection,
  type Outcome,
  oneShot,
} from "./client.js";
export {
  BadReplyError,
  BadRequestError,
  ConfigError,
  type ConfigIssue,
  NoReplyError,
  PoemIncompleteError,
  PoemNotFoundError,
  RemoteServiceError,
  TransformFailedError,
  UnknownTransformError,
} from "./errors.js";
// ---- fibonacci -----------------------------------------------------------------------------------
export {
  AMP_VALUE_LIMIT,
  Digits,
  FibonacciAMPFactory,
  FibonacciNumberTooLargeError,
  fibonacciLocator,
  Next,
} from "./fibonacci/amp.js";
export {
  FIBONACCI_STATE,
  type FibonacciState,
  FileFibonacciStore,
  type FileFibonacciStoreOptions,
} from "./fibonacci/file-store.js";
export { FibonacciLineFactory, FibonacciLineProtocol } from "./fibonacci/line.js";
export { MemoryFibonacciStore } from "./fibonacci/memory-store.js";
export { FibonacciCursor, fibonacciAt, fibonacciPair } from "./fibonacci/sequence.js";
export {
  FibonacciClosedError,
  type FibonacciNumber,
  FibonacciService,
  type FibonacciServiceOptions,
} from "./fibonacci/service.js";
export type { FibonacciStore } from "./fibonacci/store.js";
export { ServiceServerFactory } from "./front-end.js";
export { type FrontEndOptions, type ServiceLogger, silentLogger } from "./log.js";
// ---- poetry --------------------------------------------------------------------------------------
export { GetPoem, PoetryAMPFactory, poetryLocator } from "./poetry/amp.js";
export { type GetPoemOptions, getPoem, type PoetryVia } from "./poetry/clients.js";
export { FastPoetryFactory, FastPoetryProtocol, type PoemFrontEndOptions } from "./poetry/fast.js";
export { PoetryNetstringFactory, PoetryNetstringProtocol } from "./poetry/netstring.js";
export { type Poem, PoetryService, type PoetryServiceOptions } from "./poetry/service.js";
export { SlowPoetryFactory, type SlowPoetryOptions, SlowPoetryProtocol } from "./poetry/slow.js";
// ---- state: the locked, versioned state directory services keep their state in -------------------
export {
  AutoSaver,
  type AutoSaverOptions,
  DirectoryLock,
  defaultStateDir,
  type LockRecord,
  StateCorruptError,
  StateDirectory,
  StateError,
  StateFile,
  StateIOError,
  StateLockedError,
  type StateSpec,
  StateVersionError,
  writeFileAtomic,
} from "./state/index.js";
export {
  type FibonacciSettings,
  fibonacciDefinition,
  type PoemListenOptions,
  type WeblogSettings,
  weblogDefinition,
} from "./suite/builtins.js";
// ---- the suite runner (`weft serve`): registry, config, modules ----------------------------------
export {
  BUILTIN_MODULE,
  BUILTIN_REGISTRY,
  type CalculatorConfig,
  type CalculatorListenOptions,
  type CalculatorSettings,
  calculatorDefinition,
  checkSuiteConfig,
  defaultSuiteConfig,
  defineFrontEnd,
  defineService,
  defineWeftModule,
  type FrontEndContext,
  type FrontEndDefinition,
  type FrontEndEndpoint,
  type FrontEndExtension,
  type ListenConfig,
  type LoadedSuiteConfig,
  loadSuiteConfig,
  type PlannedListen,
  type PlannedService,
  type PoetryConfig,
  type PoetrySettings,
  poetryDefinition,
  type RegisteredFrontEnd,
  type RunningFrontEnd,
  type RunningSuite,
  registryWithModules,
  type SchemaOutput,
  type ServiceConfig,
  type ServiceContext,
  type ServiceDefinition,
  ServiceRegistry,
  type StandardSchemaV1,
  type StartSuiteOptions,
  type SuiteConfig,
  type SuitePlan,
  type SuiteReactor,
  startSuite,
  type TransformConfig,
  transformDefinition,
  validateSuiteConfig,
  type WeftModule,
  type XmlRpcListenOptions,
} from "./suite/index.js";
// ---- transform -----------------------------------------------------------------------------------
export { Transform, TransformAMPFactory, transformLocator } from "./transform/amp.js";
export {
  TransformLineClientProtocol,
  TransformProxy,
  type TransformProxyOptions,
  type TransformVia,
} from "./transform/clients.js";
export {
  TransformLineFactory,
  type TransformLineOptions,
  TransformLineProtocol,
} from "./transform/line.js";
export { TransformNetstringFactory, TransformNetstringProtocol } from "./transform/netstring.js";
export {
  BUILTIN_TRANSFORMS,
  type TransformFn,
  TransformService,
  type TransformServiceOptions,
} from "./transform/service.js";
export {
  type TransformUDPOptions,
  TransformUDPProtocol,
  type TransformUDPStats,
} from "./transform/udp.js";
// ---- weblog --------------------------------------------------------------------------------------
export {
  HitBox,
  Hits,
  MAX_HITS_PER_CALL,
  Subscribe,
  WeblogAMPFactory,
  type WeblogAMPOptions,
} from "./weblog/amp.js";
export { DemoLog, type DemoLogOptions } from "./weblog/demo.js";
export {
  WeblogPushFactory,
  type WeblogPushOptions,
  WeblogPushProtocol,
  WeblogRequestFactory,
  WeblogRequestProtocol,
} from "./weblog/line.js";
export { formatHit, type Hit, logTime, parseHit } from "./weblog/parse.js";
export {
  type HitsSince,
  type NumberedHit,
  WeblogService,
  type WeblogServiceOptions,
} from "./weblog/service.js";
export { LogTailer, type LogTailerOptions, type LogTailerStats } from "./weblog/tail.js";
export { batchText, hitLine, parseWeblogLine, type WeblogLine } from "./weblog/wire.js";
