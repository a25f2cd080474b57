/**
 * The suite's registry, configuration schema and modules, in process: every problem is a ConfigError
 * naming its JSON path; a registry is an immutable value; a user's service and a user's protocol for
 * a built-in service run through `startSuite` on 127.0.0.1 with real sockets.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import * as v from "valibot";
import { afterAll, describe, expect, it } from "vitest";
import { ServerFactory } from "../../src/core/factory.js";
import { LineOnlyReceiver } from "../../src/protocols/receivers/index.js";
import { ConfigError } from "../../src/services/errors.js";
import {
  BUILTIN_REGISTRY,
  checkSuiteConfig,
  defaultSuiteConfig,
  defineFrontEnd,
  defineService,
  defineWeftModule,
  loadSuiteConfig,
  ServiceRegistry,
  type StandardSchemaV1,
  startSuite,
  validateSuiteConfig,
} from "../../src/services/suite/index.js";
import type { TransformService } from "../../src/services/transform/service.js";
import { lines, reactor } from "./helpers.js";

/** The ConfigError `fn` throws. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error("no ConfigError thrown");
}

/** A line protocol answering each line with `reply(line)`. */
class ReplyLine extends LineOnlyReceiver<ReplyFactory> {
  override lineReceived(line: Uint8Array): void {
    this.sendLine(this.factory.reply(Buffer.from(line).toString("utf8")));
  }
}
class ReplyFactory extends ServerFactory<ReplyLine> {
  readonly reply: (line: string) => string;
  constructor(reply: (line: string) => string) {
    super();
    this.protocol = ReplyLine;
    this.reply = reply;
  }
}

/** A user's service with valibot settings and a front-end option. */
const stopped: string[] = [];
const greeter = defineService({
  name: "greeter",
  settings: v.strictObject({ greeting: v.optional(v.string(), "hello") }),
  create: (s) => ({ greet: (name: string) => `${s.greeting}, ${name}` }),
  frontEnds: {
    line: {
      description: "NAME → GREETING, NAME",
      defaultEndpoints: ["tcp:7001", "tcp:7002"],
      options: v.strictObject({ shout: v.optional(v.boolean()) }),
      build: ({ service, options }) => {
        const { shout } = options as { shout?: boolean };
        return new ReplyFactory((name) => {
          const text = service.greet(name);
          return shout === true ? text.toUpperCase() : text;
        });
      },
    },
  },
  stop: () => void stopped.push("greeter"),
});

/** A user's protocol for the built-in transform service: `NAME:TEXT` (synchronous transforms). */
const colon = defineFrontEnd<TransformService>({
  service: "transform",
  protocol: "colon",
  description: "NAME:TEXT → result",
  build: ({ service }) =>
    new ReplyFactory((line) => {
      const i = line.indexOf(":");
      return String(service.apply(line.slice(0, i), line.slice(i + 1)));
    }),
});

const userModule = defineWeftModule({ services: [greeter], frontEnds: [colon] });

describe("configuration errors name the JSON path", () => {
  it.each([
    [
      { services: { transform: { listen: [{ protocol: "line", endpoint: "tcp:1" }] } }, hots: 1 },
      ['config.hots: unknown key "hots" (allowed: host, portOffset, modules, services)'],
    ],
    [
      {
        services: {
          poetry: { listen: [{ protocol: "fast", endpoint: "tcp:1" }, { protocol: "slow" }] },
        },
      },
      ["config.services.poetry.listen[1].endpoint: missing"],
    ],
    [
      {
        services: {
          poetry: {
            poems: 3,
            slow: { interval: -1, x: 1 },
            listen: [{ protocol: "fast", endpoint: "tcp:1" }],
          },
          calculator: { listen: [{ protocol: "amp", endpoint: "tcp:1", serverId: 1.5 }] },
        },
      },
      [
        "config.services.poetry.poems: must be a non-empty string",
        "config.services.poetry.slow.interval: must be a number of seconds >= 0",
        'config.services.poetry.slow.x: unknown key "x" (allowed: bytesPerTick, interval)',
        "config.services.calculator.listen[0].serverId: must be an integer",
      ],
    ],
    [
      { services: { transform: { colour: 1, listen: [{ protocol: "line", endpoint: "" }, 7] } } },
      [
        'config.services.transform.colour: unknown key "colour" (allowed: listen)',
        "config.services.transform.listen[0].endpoint: must be a non-empty string",
        "config.services.transform.listen[1]: must be an object { protocol, endpoint }",
      ],
    ],
    [
      { modules: "./x.mjs", portOffset: 70000, services: { transform: { listen: [] } } },
      [
        "config.portOffset: must be an integer 0..65535",
        "config.modules: must be an array of module paths (relative to the config file)",
      ],
    ],
  ])("%j", (value, expected) => {
    const err = configError(() => validateSuiteConfig(value));
    expect(err.issues.map((i) => `${i.path}: ${i.message}`)).toEqual(expected);
    expect(err.message).toBe(expected.join("\n  "));
  });

  it("a user's schema (any Standard Schema) reports under the service's path", () => {
    const registry = BUILTIN_REGISTRY.with(userModule);
    const err = configError(() =>
      checkSuiteConfig(
        {
          services: {
            greeter: { greeting: 5, listen: [{ protocol: "line", endpoint: "tcp:0", shout: "y" }] },
          },
        },
        registry,
      ),
    );
    expect(err.issues.map((i) => i.path)).toEqual([
      "config.services.greeter.greeting",
      "config.services.greeter.listen[0].shout",
    ]);
    // An asynchronous schema cannot check a config before it starts: an issue, not a hang.
    const asyncSchema: StandardSchemaV1 = {
      "~standard": { version: 1, vendor: "t", validate: async (value) => ({ value }) },
    };
    const slow = ServiceRegistry.of(
      defineWeftModule({
        services: [
          defineService({ name: "s", settings: asyncSchema, create: () => 1, frontEnds: {} }),
        ],
      }),
    );
    expect(
      configError(() =>
        checkSuiteConfig(
          { services: { s: { listen: [{ protocol: "x", endpoint: "tcp:0" }] } } },
          slow,
        ),
      ).issues,
    ).toEqual([
      { path: "config.services.s", message: "the schema validates asynchronously (not supported)" },
      { path: "config.services.s.listen[0].protocol", message: 's has no "x" front-end (known: )' },
    ]);
  });
});

describe("the registry", () => {
  it("is an immutable value: with() returns a new registry and leaves the built-in one alone", () => {
    const registry = BUILTIN_REGISTRY.with(userModule);
    expect(registry.services.map((s) => s.name)).toEqual([
      "poetry",
      "transform",
      "calculator",
      "weblog",
      "fibonacci",
      "greeter",
    ]);
    expect(registry.frontEnds("transform").map((f) => f.protocol)).toEqual([
      "netstring",
      "line",
      "amp",
      "udp",
      "colon",
    ]);
    expect(BUILTIN_REGISTRY.service("greeter")).toBeUndefined();
    expect(BUILTIN_REGISTRY.frontEnd("transform", "colon")).toBeUndefined();
    expect(Object.isFrozen(registry)).toBe(true);
  });

  it("the default config is built from the registry's default endpoints, in registry order", () => {
    expect(defaultSuiteConfig(BUILTIN_REGISTRY.with(userModule)).services["greeter"]).toEqual({
      listen: [
        { protocol: "line", endpoint: "tcp:7001" },
        { protocol: "line", endpoint: "tcp:7002" },
      ],
    });
    expect(Object.keys(defaultSuiteConfig().services)).toEqual([
      "poetry",
      "transform",
      "calculator",
      "weblog",
      "fibonacci",
    ]);
  });

  it.each([
    [
      { services: [greeter] },
      { services: [greeter] },
      'modules[1].services[0].name: service "greeter" is already defined',
    ],
    [
      { frontEnds: [colon] },
      { frontEnds: [colon] },
      'modules[1].frontEnds[0].protocol: transform already has a "colon" front-end',
    ],
    [
      {},
      { frontEnds: [{ ...colon, service: "nope" }] },
      'modules[1].frontEnds[0].service: no service "nope" (known: transform)',
    ],
    [
      {},
      { services: [{ ...greeter, name: "two words" }] },
      "modules[1].services[0].name: must be a name",
    ],
    [
      {},
      { services: [{ ...greeter, settings: { parse: () => 1 } }] },
      "modules[1].services[0].settings: must be a Standard Schema",
    ],
    [{}, { extras: [] }, 'modules[1].extras: unknown key "extras" (allowed: services, frontEnds)'],
    [{}, 42, "modules[1]: must be an object { services?, frontEnds? }"],
  ])("rejects a module that redefines or misdefines something (%#)", (first, second, message) => {
    const base = ServiceRegistry.of(defineWeftModule({ services: [transformLike()] }));
    const add = () => base.with(first, "modules[0]").with(second, "modules[1]");
    expect(add).toThrow(ConfigError);
    expect(add).toThrow(message);
  });
});

/** A minimal "transform" service for registry tests that need one. */
function transformLike() {
  return defineService({ name: "transform", create: () => ({}), frontEnds: {} });
}

describe("startSuite with a user's module", () => {
  let dir = "";
  afterAll(async () => {
    if (dir !== "") await rm(dir, { recursive: true, force: true });
  });

  it("serves a user's service and a user's protocol for a built-in service, then runs stop hooks", async () => {
    const suite = await startSuite(
      reactor,
      {
        services: {
          greeter: {
            greeting: "hi",
            listen: [
              { protocol: "line", endpoint: "tcp:0" },
              { protocol: "line", endpoint: "tcp:0", shout: true },
            ],
          },
          transform: { listen: [{ protocol: "colon", endpoint: "tcp:0" }] },
        },
      },
      { registry: BUILTIN_REGISTRY.with(userModule) },
    );
    try {
      expect(suite.frontEnds.map((f) => `${f.service}/${f.protocol}`)).toEqual([
        "transform/colon",
        "greeter/line",
        "greeter/line",
      ]);
      const [colonPort, quiet, loud] = suite.frontEnds.map((f) => f.address.port as number);
      expect(await lines(colonPort as number, "upper:abc\r\nreverse:abc\r\n", 2)).toEqual([
        "ABC",
        "cba",
      ]);
      expect(await lines(quiet as number, "ann\r\n", 1)).toEqual(["hi, ann"]);
      expect(await lines(loud as number, "bob\r\n", 1)).toEqual(["HI, BOB"]);
      expect(suite.services.get("greeter")).toHaveProperty("greet");
    } finally {
      await suite.stop();
    }
    expect(stopped).toEqual(["greeter"]);
  });

  it("a build that throws, or returns no Factory, is a ConfigError at that listen entry", async () => {
    const broken = BUILTIN_REGISTRY.with(
      defineWeftModule({
        frontEnds: [
          {
            ...colon,
            protocol: "throws",
            build: () => {
              throw new Error("no way");
            },
          },
          { ...colon, protocol: "empty", build: () => ({}) as ServerFactory },
        ],
      }),
    );
    const config = (protocol: string) => ({
      services: {
        transform: {
          listen: [
            { protocol: "line", endpoint: "tcp:0" },
            { protocol, endpoint: "tcp:0" },
          ],
        },
      },
    });
    await expect(startSuite(reactor, config("throws"), { registry: broken })).rejects.toThrow(
      "config.services.transform.listen[1]: no way",
    );
    await expect(startSuite(reactor, config("empty"), { registry: broken })).rejects.toThrow(
      "config.services.transform.listen[1]: the empty front-end's build did not return a Factory",
    );
  });

  it("loadSuiteConfig loads modules relative to the config file; startSuite alone does the same", async () => {
    dir = await mkdtemp(join(tmpdir(), "weft-suite-modules-"));
    const fixture = pathToFileURL(join(import.meta.dirname, "fixtures", "greeter-module.ts")).href;
    await writeFile(
      join(dir, "reexport.mjs"),
      `export { default } from ${JSON.stringify(fixture)};\n`,
    );
    const config = {
      modules: ["./reexport.mjs"],
      services: { "fixture-greeter": { listen: [{ protocol: "line", endpoint: "tcp:0" }] } },
    };
    await writeFile(join(dir, "suite.json"), JSON.stringify(config));
    const loaded = await loadSuiteConfig(join(dir, "suite.json"));
    expect(loaded.baseDir).toBe(dir);
    expect(loaded.registry.service("fixture-greeter")?.name).toBe("fixture-greeter");
    const suite = await startSuite(reactor, config, { baseDir: dir });
    try {
      const port = suite.frontEnds[0]?.address.port as number;
      expect(await lines(port, "x\r\n", 1)).toEqual(["fixture says x"]);
    } finally {
      await suite.stop();
    }
  });
});
