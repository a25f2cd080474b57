/**
 * The registry a suite is configured against: which services exist and, for each, which front-end
 * protocols. It is an immutable value built from {@link WeftModule}s — weft's built-in one
 * (`BUILTIN_REGISTRY` in `builtins.ts`) plus the modules a configuration loads — never a global
 * that importing a file fills in. `registry.with(module)` returns a new registry.
 *
 * Every definition is checked when it is added (shape, names, no redefinition), so a mistake in a
 * user's module is a ConfigError naming its path (`config.modules[0].services[1].create: …`), not a
 * crash at the first connection.
 */
import * as v from "valibot";
import type { ConfigIssue } from "../errors.js";
import type { FrontEndDefinition, ServiceDefinition, WeftModule } from "./definition.js";
import { looseObject, nonEmptyString, strictObject } from "./fields.js";
import { frontEndLimitsShape } from "./limits.js";
import { checkWith, isStandardSchema, throwIssues } from "./standard-schema.js";

const NAME = /^[A-Za-z][\w-]*$/;
const name = v.pipe(
  nonEmptyString,
  v.regex(NAME, "must be a name: a letter, then letters, digits, _ or -"),
);
const fn = v.function("must be a function");
const schema = v.custom<unknown>(
  isStandardSchema,
  "must be a Standard Schema (a valibot, zod or ArkType schema, …)",
);

const frontEndEntries = {
  description: nonEmptyString,
  defaultEndpoints: v.optional(v.array(nonEmptyString, "must be an array of endpoint strings")),
  options: v.optional(schema),
  build: fn,
  endpoint: v.optional(fn),
  limits: v.optional(frontEndLimitsShape),
};
const serviceShape = strictObject({
  name,
  description: v.optional(nonEmptyString),
  settings: v.optional(schema),
  create: fn,
  frontEnds: v.record(
    name,
    strictObject(frontEndEntries),
    "must be an object: protocol name → front-end",
  ),
  stop: v.optional(fn),
});
const extensionShape = strictObject({ service: name, protocol: name, ...frontEndEntries });
const moduleShape = strictObject(
  {
    services: v.optional(v.array(looseObject({}), "must be an array of service definitions")),
    frontEnds: v.optional(v.array(looseObject({}), "must be an array of front-end definitions")),
  },
  { what: "must be an object { services?, frontEnds? } (export default defineWeftModule({ … }))" },
);

/** A front-end as registered: its service, protocol and definition. */
export interface RegisteredFrontEnd {
  /** The name of the service it serves. */
  readonly service: string;
  /** Its protocol name (a `listen` entry's `protocol`). */
  readonly protocol: string;
  /** The front-end definition. */
  readonly definition: FrontEndDefinition;
}

interface Entry {
  readonly definition: ServiceDefinition;
  readonly frontEnds: ReadonlyMap<string, FrontEndDefinition>;
}

/** Services and their front-ends, in the order they were added. Immutable. */
export class ServiceRegistry {
  #entries: ReadonlyMap<string, Entry> = new Map();

  /** An empty registry; add modules with {@link with}, or start from {@link ServiceRegistry.of}. */
  constructor() {
    Object.freeze(this);
  }

  static #from(entries: ReadonlyMap<string, Entry>): ServiceRegistry {
    const registry = new ServiceRegistry();
    registry.#entries = entries; // set once, here, before anyone sees it
    return registry;
  }

  /** A registry holding `modules`, in order (each checked as by {@link with}). */
  static of(...modules: readonly WeftModule[]): ServiceRegistry {
    return modules.reduce<ServiceRegistry>(
      (r, m, i) => r.with(m, `modules[${i}]`),
      new ServiceRegistry(),
    );
  }

  /**
   * This registry plus `module`'s services and front-ends. Throws ConfigError (paths below
   * `where`) when the module is malformed or redefines a service or front-end already here.
   */
  with(module: unknown, where = "module"): ServiceRegistry {
    const shape = checkWith(moduleShape, module, where);
    if (!shape.ok) throwIssues(shape.issues);
    const mod = module as WeftModule;
    const issues: ConfigIssue[] = [];
    const entries = new Map<
      string,
      { definition: ServiceDefinition; frontEnds: Map<string, FrontEndDefinition> }
    >();
    for (const [k, e] of this.#entries) entries.set(k, { ...e, frontEnds: new Map(e.frontEnds) });

    for (const [i, service] of (mod.services ?? []).entries()) {
      const at = `${where}.services[${i}]`;
      const checked = checkWith(serviceShape, service, at);
      if (!checked.ok) {
        issues.push(...checked.issues);
        continue;
      }
      if (entries.has(service.name)) {
        issues.push({
          path: `${at}.name`,
          message: `service ${JSON.stringify(service.name)} is already defined`,
        });
        continue;
      }
      entries.set(service.name, {
        definition: service,
        frontEnds: new Map(Object.entries(service.frontEnds)),
      });
    }
    for (const [i, ext] of (mod.frontEnds ?? []).entries()) {
      const at = `${where}.frontEnds[${i}]`;
      const checked = checkWith(extensionShape, ext, at);
      if (!checked.ok) {
        issues.push(...checked.issues);
        continue;
      }
      const target = entries.get(ext.service);
      if (target === undefined) {
        issues.push({
          path: `${at}.service`,
          message: `no service ${JSON.stringify(ext.service)} (known: ${[...entries.keys()].join(", ")})`,
        });
      } else if (target.frontEnds.has(ext.protocol)) {
        issues.push({
          path: `${at}.protocol`,
          message: `${ext.service} already has a ${JSON.stringify(ext.protocol)} front-end`,
        });
      } else {
        target.frontEnds.set(ext.protocol, ext);
      }
    }
    if (issues.length > 0) throwIssues(issues);
    return ServiceRegistry.#from(entries);
  }

  /** The services, in the order they were added. */
  get services(): readonly ServiceDefinition[] {
    return [...this.#entries.values()].map((e) => e.definition);
  }

  /** The service named `name`, if any. */
  service(name: string): ServiceDefinition | undefined {
    return this.#entries.get(name)?.definition;
  }

  /** The `protocol` front-end of `service`, if any. */
  frontEnd(service: string, protocol: string): FrontEndDefinition | undefined {
    return this.#entries.get(service)?.frontEnds.get(protocol);
  }

  /** Every front-end: of each service in order, in the order they were added. */
  frontEnds(service?: string): readonly RegisteredFrontEnd[] {
    const out: RegisteredFrontEnd[] = [];
    for (const [name, e] of this.#entries) {
      if (service !== undefined && name !== service) continue;
      for (const [protocol, definition] of e.frontEnds)
        out.push({ service: name, protocol, definition });
    }
    return out;
  }
}
