/**
 * weft's own services and their front-ends: the built-in registry. This file is the one place a
 * built-in front-end and its default ports are written; adding a protocol to a service is one
 * entry in its `frontEnds` (and `defaultSuiteConfig()`, `weft serve --help` and the default
 * `npm start` pick it up from here).
 */
import { resolve } from "node:path";
import * as v from "valibot";
import { serverFromString, TCPServerEndpoint, UNIXServerEndpoint } from "../../core/endpoints.js";
import { udpServerFromString } from "../../core/udp-endpoint.js";
import { CalculatorAMPFactory } from "../calculator/amp.js";
import { CalculatorLineFactory } from "../calculator/line.js";
import { CalculatorPBFactory } from "../calculator/pb.js";
import { CalculatorService } from "../calculator/service.js";
import { CalculatorXmlRpcServer } from "../calculator/xmlrpc.js";
import { ConfigError } from "../errors.js";
import { FibonacciAMPFactory } from "../fibonacci/amp.js";
import { FileFibonacciStore } from "../fibonacci/file-store.js";
import { FibonacciLineFactory } from "../fibonacci/line.js";
import { MemoryFibonacciStore } from "../fibonacci/memory-store.js";
import { FibonacciService } from "../fibonacci/service.js";
import type { FibonacciStore } from "../fibonacci/store.js";
import { PoetryAMPFactory } from "../poetry/amp.js";
import { FastPoetryFactory } from "../poetry/fast.js";
import { PoetryNetstringFactory } from "../poetry/netstring.js";
import { PoetryService } from "../poetry/service.js";
import { SlowPoetryFactory } from "../poetry/slow.js";
import { TransformAMPFactory } from "../transform/amp.js";
import { TransformLineFactory } from "../transform/line.js";
import { TransformNetstringFactory } from "../transform/netstring.js";
import { TransformService } from "../transform/service.js";
import { TransformUDPProtocol } from "../transform/udp.js";
import { WeblogAMPFactory } from "../weblog/amp.js";
import { DemoLog } from "../weblog/demo.js";
import { WeblogPushFactory, WeblogRequestFactory } from "../weblog/line.js";
import { WeblogService } from "../weblog/service.js";
import {
  defineService,
  defineWeftModule,
  type FrontEndContext,
  type FrontEndEndpoint,
  type SuiteReactor,
} from "./definition.js";
import { integer, nonEmptyString, seconds, strictObject } from "./fields.js";
import { ServiceRegistry } from "./registry.js";

const settingsOf = <const E extends v.ObjectEntries>(entries: E) =>
  strictObject(entries, { alsoAllowed: ["listen"] });

/** The poetry service's settings (its keys besides `listen`). */
export type PoetrySettings = {
  /** Folder of `NAME.txt` poems (relative to the config file). Default: the bundled poems. */
  poems?: string | undefined;
  /** The poem the fast and slow front-ends serve. Default: the first name in sorted order. */
  poem?: string | undefined;
  /** Slow front-end pacing. */
  slow?:
    | {
        /** Bytes per slice (an integer >= 1). Default 10. */
        bytesPerTick?: number | undefined;
        /** Seconds between slices. Default 0.1. */
        interval?: number | undefined;
      }
    | undefined;
};

const poetrySettings = settingsOf({
  poems: v.optional(nonEmptyString),
  poem: v.optional(nonEmptyString),
  slow: v.optional(
    strictObject({ bytesPerTick: v.optional(integer(1)), interval: v.optional(seconds) }),
  ),
}) satisfies v.GenericSchema<PoetrySettings, PoetrySettings>;

/** A poetry `fast`/`slow` `listen` entry's own key. */
export type PoemListenOptions = {
  /**
   * The poem this port serves (seed 002's exercise: different poems on different ports from one
   * config). Default: the service's `poem`, else its default poem.
   */
  poem?: string | undefined;
};

const poemOption = strictObject(
  { poem: v.optional(nonEmptyString) },
  { alsoAllowed: ["protocol", "endpoint"] },
) satisfies v.GenericSchema<PoemListenOptions, PoemListenOptions>;

const poemOf = (s: PoetrySettings, o: PoemListenOptions) => {
  const poem = o.poem ?? s.poem;
  return poem !== undefined ? { poem } : {};
};

type PoemContext = FrontEndContext<PoetryService, PoetrySettings, PoemListenOptions>;

/** Poems, fast or slow, or by name. */
export const poetryDefinition = defineService<PoetryService, PoetrySettings>({
  name: "poetry",
  description: "serve poems: the default one at once or slowly, any one by name",
  settings: poetrySettings,
  create: (s, ctx) => {
    const options = s.poem !== undefined ? { defaultPoem: s.poem } : {};
    return s.poems !== undefined
      ? PoetryService.fromDirectory(resolve(ctx.baseDir, s.poems), options)
      : PoetryService.bundled(options);
  },
  frontEnds: {
    fast: {
      description: "writes the default poem (or the entry's `poem`) and closes",
      defaultEndpoints: ["tcp:10000"],
      options: poemOption,
      build: ({ service, settings, options, logger }: PoemContext) =>
        new FastPoetryFactory(service, { logger, ...poemOf(settings, options) }),
    },
    slow: {
      description:
        "writes the default poem (or the entry's `poem`) a few bytes at a time, then closes",
      defaultEndpoints: ["tcp:10010"],
      options: poemOption,
      build: ({ service, settings, options, logger, clock }: PoemContext) =>
        new SlowPoetryFactory(service, {
          logger,
          clock,
          ...poemOf(settings, options),
          ...(settings.slow?.bytesPerTick !== undefined
            ? { bytesPerTick: settings.slow.bytesPerTick }
            : {}),
          ...(settings.slow?.interval !== undefined ? { interval: settings.slow.interval } : {}),
        }),
    },
    netstring: {
      description: "poem by name: one netstring in, one netstring out",
      defaultEndpoints: ["tcp:10011"],
      build: ({ service, logger }) => new PoetryNetstringFactory(service, { logger }),
    },
    amp: {
      description: "AMP GetPoem(name) → poem",
      defaultEndpoints: ["tcp:10012"],
      build: ({ service, logger }) => new PoetryAMPFactory(service, { logger }),
    },
  },
});

/** Named text transforms. */
export const transformDefinition = defineService({
  name: "transform",
  description: "named text transforms (upper, reverse, cummingsify, …)",
  create: () => new TransformService(),
  frontEnds: {
    netstring: {
      description: "the tutorial's protocol: netstring NAME.TEXT → netstring result, close",
      defaultEndpoints: ["tcp:10001"],
      build: ({ service, logger }) => new TransformNetstringFactory(service, { logger }),
    },
    line: {
      description: "persistent lines: NAME SP TEXT → OK SP RESULT | ERROR SP CODE SP MESSAGE",
      defaultEndpoints: ["tcp:10002"],
      build: ({ service, logger }) => new TransformLineFactory(service, { logger }),
    },
    amp: {
      description: "AMP Transform(name, text) → text",
      defaultEndpoints: ["tcp:10003"],
      build: ({ service, logger }) => new TransformAMPFactory(service, { logger }),
    },
    udp: {
      description:
        "one datagram NAME SP TEXT → one datagram result (never larger than the request; per-source rate limit)",
      defaultEndpoints: ["udp:10004"],
      build: ({ service, clock }) => new TransformUDPProtocol(service, { clock }),
      endpoint: (reactor, description) => {
        const udp = udpServerFromString(reactor, description);
        return {
          async listen(protocol: TransformUDPProtocol) {
            const port = await udp.listen(protocol);
            return {
              getHost: () => port.getHost(),
              stopListening: () => port.stopListening(),
              // A datagram port has no connections to close.
              closeConnections: () => Promise.resolve(),
            };
          },
        };
      },
    },
  },
});

/** The calculator's settings (its keys besides `listen`). */
export type CalculatorSettings = {
  /** Simulated work per calculation, in seconds. Default 0. */
  delay?: number | undefined;
};

const calculatorSettings = settingsOf({
  delay: v.optional(seconds),
}) satisfies v.GenericSchema<CalculatorSettings, CalculatorSettings>;

/** A calculator `listen` entry's own key. */
export type CalculatorListenOptions = {
  /**
   * The id this port answers with (an integer). Default: its position among the service's
   * `listen` entries of the same protocol, from 0 (the article's `enumerate`: PB on 8992–8994
   * answers 0, 1, 2).
   */
  serverId?: number | undefined;
};

const serverIdOption = strictObject(
  { serverId: v.optional(integer()) },
  { alsoAllowed: ["protocol", "endpoint"] },
) satisfies v.GenericSchema<CalculatorListenOptions, CalculatorListenOptions>;

type CalculatorContext = FrontEndContext<
  CalculatorService,
  CalculatorSettings,
  CalculatorListenOptions
>;
const serverIdOf = (ctx: CalculatorContext) => ctx.options.serverId ?? ctx.protocolIndex;

/** A calculator `xmlrpc` `listen` entry's own keys. */
export type XmlRpcListenOptions = {
  /**
   * The id this server answers with (an integer, the second item of each `[sum, id]`). Default:
   * its position among the service's `xmlrpc` `listen` entries, from 0.
   */
  serverId?: number | undefined;
  /**
   * Largest request body accepted, in bytes (an integer >= 1): a larger one is answered
   * `413 Payload Too Large` and the connection closed. Default 65536.
   */
  maxBodyBytes?: number | undefined;
  /**
   * Seconds a client may take to send the request headers (capped at `requestTimeout`): then it
   * is answered `408 Request Timeout` and the connection closed. Default 10.
   */
  headersTimeout?: number | undefined;
  /** Seconds a client may take to send the whole request (`408` beyond, as above). Default 30. */
  requestTimeout?: number | undefined;
};

const xmlRpcOptions = strictObject(
  {
    serverId: v.optional(integer()),
    maxBodyBytes: v.optional(integer(1)),
    headersTimeout: v.optional(seconds),
    requestTimeout: v.optional(seconds),
  },
  { alsoAllowed: ["protocol", "endpoint"] },
) satisfies v.GenericSchema<XmlRpcListenOptions, XmlRpcListenOptions>;

/**
 * Where an XML-RPC server listens: a `tcp:` or `unix:` server endpoint string, read by
 * `serverFromString` (so host, port offset and escaping are the suite's), then served by
 * `node:http` instead of a weft Factory.
 */
function httpEndpoint(
  reactor: SuiteReactor,
  description: string,
): FrontEndEndpoint<CalculatorXmlRpcServer> {
  const parsed = serverFromString(reactor, description);
  if (parsed instanceof TCPServerEndpoint) {
    const host = parsed.options.interface ?? "127.0.0.1";
    return { listen: (server) => server.listen({ port: parsed.port, host }) };
  }
  if (parsed instanceof UNIXServerEndpoint) {
    return { listen: (server) => server.listen({ path: parsed.path }) };
  }
  throw new ConfigError(
    `XML-RPC listens on a tcp: or unix: endpoint, not ${JSON.stringify(description)}`,
  );
}

/** Adds integers, as several servers on several ports. */
export const calculatorDefinition = defineService({
  name: "calculator",
  description: "adds integers, one server id a port",
  settings: calculatorSettings,
  create: (s, ctx) => new CalculatorService({ delay: s.delay ?? 0, clock: ctx.clock }),
  frontEnds: {
    pb: {
      description:
        "Perspective Broker, as the article: root.callRemote('calculate', a, b) → (sum, server id)",
      defaultEndpoints: ["tcp:8992", "tcp:8993", "tcp:8994"],
      options: serverIdOption,
      // A PB client holds references (the root object) between calls, however far apart.
      limits: { idleTimeout: null },
      build: (ctx: CalculatorContext) =>
        new CalculatorPBFactory(ctx.service, { logger: ctx.logger, serverId: serverIdOf(ctx) }),
    },
    amp: {
      description: "AMP Calculate(a, b) → result, server",
      defaultEndpoints: ["tcp:8996", "tcp:8997", "tcp:8998"],
      options: serverIdOption,
      build: (ctx: CalculatorContext) =>
        new CalculatorAMPFactory(ctx.service, { logger: ctx.logger, serverId: serverIdOf(ctx) }),
    },
    line: {
      description: "lines: A SP B → OK SP SUM SP SERVER",
      defaultEndpoints: ["tcp:8995"],
      options: serverIdOption,
      build: (ctx: CalculatorContext) =>
        new CalculatorLineFactory(ctx.service, { logger: ctx.logger, serverId: serverIdOf(ctx) }),
    },
    xmlrpc: {
      description:
        "XML-RPC over HTTP POST: calculate(a, b) → [sum, server id]; faults for bad input",
      defaultEndpoints: ["tcp:8999"],
      options: xmlRpcOptions,
      build: (ctx: FrontEndContext<CalculatorService, CalculatorSettings, XmlRpcListenOptions>) =>
        new CalculatorXmlRpcServer(ctx.service, {
          logger: ctx.logger,
          serverId: ctx.options.serverId ?? ctx.protocolIndex,
          ...(ctx.options.maxBodyBytes === undefined
            ? {}
            : { maxBodyBytes: ctx.options.maxBodyBytes }),
          ...(ctx.options.headersTimeout === undefined
            ? {}
            : { headersTimeout: ctx.options.headersTimeout }),
          ...(ctx.options.requestTimeout === undefined
            ? {}
            : { requestTimeout: ctx.options.requestTimeout }),
        }),
      endpoint: httpEndpoint,
    },
  },
});

const positiveSeconds = v.pipe(seconds, v.minValue(0.001, "must be a number of seconds >= 0.001"));

/** The Fibonacci service's settings (its keys besides `listen`). */
export type FibonacciSettings = {
  /**
   * Write each claim ahead (fsync before a number is handed out): after `kill -9` no number is
   * ever handed out twice. Default false: saved every `saveInterval` and on stop, so after `kill -9`
   * the numbers of at most one interval are handed out again.
   */
  strict?: boolean | undefined;
  /** Fewest positions claimed at once (an integer >= 1; skipped when the process stops). Default 1. */
  block?: number | undefined;
  /** Default mode: seconds between saves. Default 1. */
  saveInterval?: number | undefined;
  /**
   * Keep the sequence in a database instead of the state directory, shared by every process
   * configured with the same one: `postgres://…` or `sqlite:/path/file.db` (`weft/db`; its driver
   * must be installed). Claims are blocks of `block` positions, one `UPDATE … RETURNING` each.
   */
  store?: string | undefined;
};

const fibonacciSettings = settingsOf({
  strict: v.optional(v.boolean("must be true or false")),
  block: v.optional(integer(1)),
  saveInterval: v.optional(positiveSeconds),
  store: v.optional(nonEmptyString),
}) satisfies v.GenericSchema<FibonacciSettings, FibonacciSettings>;

/** Distinct Fibonacci numbers for every client, kept across restarts in the state directory. */
export const fibonacciDefinition = defineService<FibonacciService, FibonacciSettings>({
  name: "fibonacci",
  description: "distinct Fibonacci numbers (2, 3, 5, 8, …) for all clients, across restarts",
  settings: fibonacciSettings,
  create: async (s, ctx) => {
    let store: FibonacciStore;
    if (s.store !== undefined) {
      // Loaded only when configured: `npm start` never loads weft/db or a database driver.
      const { PoolFibonacciStore } = await import("../fibonacci/pool-store.js");
      store = await PoolFibonacciStore.open({ database: s.store });
    } else if (ctx.state === null) {
      ctx.logger.warn(
        { service: "fibonacci" },
        "no state directory: the sequence restarts at 2 on every start",
      );
      store = new MemoryFibonacciStore();
    } else {
      store = await FileFibonacciStore.open(ctx.state, {
        clock: ctx.clock,
        logger: ctx.logger,
        ...(s.strict !== undefined ? { strict: s.strict } : {}),
        ...(s.saveInterval !== undefined ? { interval: s.saveInterval } : {}),
      });
    }
    return new FibonacciService(store, s.block !== undefined ? { block: s.block } : {});
  },
  frontEnds: {
    line: {
      description: "any line → the next number (decimal, any length)",
      defaultEndpoints: ["tcp:8890"],
      build: ({ service, logger }) => new FibonacciLineFactory(service, { logger }),
    },
    amp: {
      description: "AMP Next(acceptBig?) → position, number (big-value split past 65,535 digits)",
      defaultEndpoints: ["tcp:8891"],
      build: ({ service, logger }) => new FibonacciAMPFactory(service, { logger }),
    },
  },
  stop: (service) => service.close(),
});

/** The weblog service's settings (its keys besides `listen`). */
export type WeblogSettings = {
  /** The access log to tail (relative to the config file). Default: a generated demo log. */
  log?: string | undefined;
  /** Hits kept (the seed: the last 100). Default 100. */
  keep?: number | undefined;
  /** Most hits a client may be behind before its oldest are dropped (and counted). Default 1000. */
  backlog?: number | undefined;
  /** Seconds between reads of the log. Default 1. */
  pollInterval?: number | undefined;
  /** Seconds between pushes (push and AMP front-ends). Default 5. */
  pushInterval?: number | undefined;
  /** The demo log (when `log` is absent): hits appended every `interval` seconds. */
  demo?:
    | {
        /** Seconds between appends. Default 1. */
        interval?: number | undefined;
        /** Hits appended each time (an integer >= 1). Default 3. */
        hitsPerInterval?: number | undefined;
      }
    | undefined;
};

const weblogSettings = settingsOf({
  log: v.optional(nonEmptyString),
  keep: v.optional(integer(1)),
  backlog: v.optional(integer(1)),
  pollInterval: v.optional(positiveSeconds),
  pushInterval: v.optional(positiveSeconds),
  demo: v.optional(
    strictObject({
      interval: v.optional(positiveSeconds),
      hitsPerInterval: v.optional(integer(1)),
    }),
  ),
}) satisfies v.GenericSchema<WeblogSettings, WeblogSettings>;

/** Tails a web server's access log and sends its new hits to every client. */
export const weblogDefinition = defineService<WeblogService, WeblogSettings>({
  name: "weblog",
  description: "the newest hits of an access log, on request or pushed to every client",
  settings: weblogSettings,
  create: (s, ctx) => {
    const demo =
      s.log === undefined
        ? new DemoLog({
            clock: ctx.clock,
            ...(s.demo?.interval !== undefined ? { interval: s.demo.interval } : {}),
            ...(s.demo?.hitsPerInterval !== undefined
              ? { hitsPerInterval: s.demo.hitsPerInterval }
              : {}),
          })
        : null;
    return new WeblogService({
      path: demo?.path ?? resolve(ctx.baseDir, s.log as string),
      clock: ctx.clock,
      logger: ctx.logger,
      ...(s.keep !== undefined ? { keep: s.keep } : {}),
      ...(s.backlog !== undefined ? { backlog: s.backlog } : {}),
      ...(s.pollInterval !== undefined ? { pollInterval: s.pollInterval } : {}),
      ...(demo !== null ? { onStop: () => demo.stop() } : {}),
    });
  },
  frontEnds: {
    // The seed's request-driven server: the client asks, the server answers.
    line: {
      description: "request-driven lines: NEW? → HIT <json>… END, or NONE",
      defaultEndpoints: ["tcp:8888"],
      build: ({ service, logger }) => new WeblogRequestFactory(service, { logger }),
    },
    // Pushes to a client that may never send a byte: no idle timeout.
    push: {
      description: "pushed lines: HIT <json> for every new hit, every pushInterval (server push)",
      defaultEndpoints: ["tcp:8880"],
      limits: { idleTimeout: null },
      build: ({ service, settings, logger, clock }) =>
        new WeblogPushFactory(service, {
          logger,
          clock,
          ...(settings.pushInterval !== undefined ? { interval: settings.pushInterval } : {}),
        }),
    },
    // Server-initiated Hits calls to a subscriber that may never call again: no idle timeout.
    amp: {
      description: "AMP Subscribe(), then server-initiated Hits(hits, dropped) calls (server push)",
      defaultEndpoints: ["tcp:8881"],
      limits: { idleTimeout: null },
      build: ({ service, settings, logger, clock }) =>
        new WeblogAMPFactory(service, {
          logger,
          clock,
          ...(settings.pushInterval !== undefined ? { interval: settings.pushInterval } : {}),
        }),
    },
  },
  stop: (service) => service.stop(),
});

/** weft's built-in services as a module. */
export const BUILTIN_MODULE = defineWeftModule({
  services: [
    poetryDefinition,
    transformDefinition,
    calculatorDefinition,
    weblogDefinition,
    fibonacciDefinition,
  ],
});

/** The registry of weft's built-in services (what a configuration without `"modules"` can name). */
export const BUILTIN_REGISTRY: ServiceRegistry = /* @__PURE__ */ ServiceRegistry.of(BUILTIN_MODULE);
