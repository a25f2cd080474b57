/**
 * The suite: serve services over several protocols from one configuration. Built-in services and
 * their front-ends live in `builtins.ts`; a configuration's `"modules"` add more (the contract is in
 * `definition.ts`); `config.ts` checks a configuration against a registry and `runner.ts` starts it.
 */
export {
  BUILTIN_MODULE,
  BUILTIN_REGISTRY,
  type CalculatorListenOptions,
  type CalculatorSettings,
  calculatorDefinition,
  type PoetrySettings,
  poetryDefinition,
  transformDefinition,
  type XmlRpcListenOptions,
} from "./builtins.js";
export {
  type CalculatorConfig,
  checkSuiteConfig,
  defaultSuiteConfig,
  type ListenConfig,
  type PlannedListen,
  type PlannedService,
  type PoetryConfig,
  type ServiceConfig,
  type SuiteConfig,
  type SuitePlan,
  type TransformConfig,
  validateSuiteConfig,
} from "./config.js";
export {
  defineFrontEnd,
  defineService,
  defineWeftModule,
  type FrontEndContext,
  type FrontEndDefinition,
  type FrontEndEndpoint,
  type FrontEndExtension,
  type ServiceContext,
  type ServiceDefinition,
  type SuiteReactor,
  type WeftModule,
} from "./definition.js";
export { formatAddress, resolveServerEndpoint } from "./endpoints.js";
export { type FrontEndLimits, SUITE_IDLE_TIMEOUT, type SuiteLimits } from "./limits.js";
export { type LoadedSuiteConfig, loadSuiteConfig, registryWithModules } from "./modules.js";
export { type RegisteredFrontEnd, ServiceRegistry } from "./registry.js";
export {
  type RunningFrontEnd,
  type RunningSuite,
  type StartSuiteOptions,
  startSuite,
} from "./runner.js";
export type { SchemaOutput, StandardSchemaV1 } from "./standard-schema.js";
