/**
 * `weft get-poetry`: the Twisted tutorial's client 6.0. Fetches poems from every endpoint in
 * parallel, transforms each through a transform server when asked, falls back to the untransformed
 * poem (with a warning) when the transform fails or its server is down, prints a progress line per
 * poem and a summary on stderr, the poems on stdout, and exits 1 if every download failed.
 */
import type { Command } from "commander";
import type { Deferred } from "../core/deferred.js";
import { DeferredList } from "../core/deferred-list.js";
import { createReactor, type Reactor } from "../core/reactor.js";
import type { ClientEndpointLike } from "../services/client.js";
import { getPoem, type PoetryVia } from "../services/poetry/clients.js";
import { TransformProxy, type TransformVia } from "../services/transform/clients.js";
import {
  type CliIO,
  CommandOutput,
  clientEndpoint,
  describeError,
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  isOneOf,
  parseSeconds,
} from "./common.js";

/** Options of `weft get-poetry`. */
export interface GetPoetryOptions {
  /** `NAME@ENDPOINT`: transform each poem with NAME on that transform server. */
  transform?: string;
  /** Transform protocol. Default netstring. */
  via: TransformVia;
  /** Poetry protocol. Default raw. */
  poemVia: PoetryVia;
  /** Poem name (netstring/AMP poetry servers). */
  name?: string;
  /** Seconds per download / transform. */
  timeout: number;
}

/** Run get-poetry; resolves with the exit code. */
export async function getPoetry(
  endpoints: string[],
  options: GetPoetryOptions,
  io: CliIO,
  reactor: Reactor = createReactor(),
): Promise<number> {
  let proxy: TransformProxy | null = null;
  let transformName = "";
  let poetryEndpoints: ClientEndpointLike[];
  try {
    if (options.transform !== undefined) {
      const at = options.transform.indexOf("@");
      if (at <= 0 || at === options.transform.length - 1)
        throw new Error("--transform must be NAME@ENDPOINT");
      transformName = options.transform.slice(0, at);
      proxy = new TransformProxy(clientEndpoint(reactor, options.transform.slice(at + 1)), {
        via: options.via,
        timeout: options.timeout,
        clock: reactor,
      });
    }
    poetryEndpoints = endpoints.map((e) => clientEndpoint(reactor, e)); // all valid before starting
  } catch (err) {
    new CommandOutput("get-poetry", io).error(describeError(err));
    return EXIT_USAGE;
  }
  const started = reactor.seconds();
  const tasks = endpoints.map((text, i): Deferred<string | null> => {
    const task = i + 1;
    const d: Deferred<string> = getPoem(poetryEndpoints[i] as ClientEndpointLike, {
      via: options.poemVia,
      timeout: options.timeout,
      clock: reactor,
      ...(options.name !== undefined ? { name: options.name } : {}),
    });
    const got = d.addCallback((poem): string | Deferred<string> => {
      io.stderr(`Task ${task}: got ${Buffer.byteLength(poem)} bytes of poetry from ${text}\n`);
      if (proxy === null) return poem;
      return proxy.xform(transformName, poem).addErrback((err: Error) => {
        io.stderr(
          `Task ${task}: warning: transform ${transformName} failed (${describeError(err)}); using the untransformed poem\n`,
        );
        return poem;
      });
    });
    return got.addErrback((err: Error) => {
      io.stderr(`Task ${task}: failed to get a poem from ${text}: ${describeError(err)}\n`);
      return null;
    });
  });
  const results = await new DeferredList(tasks, { consumeErrors: true });
  proxy?.close();
  let ok = 0;
  for (const [success, value] of results) {
    if (success && typeof value === "string") {
      ok++;
      io.stdout(value.endsWith("\n") ? value : `${value}\n`);
    }
  }
  const elapsed = reactor.seconds() - started;
  io.stderr(
    `Got ${ok} poem${ok === 1 ? "" : "s"} of ${endpoints.length} in ${elapsed.toFixed(2)} seconds.\n`,
  );
  return ok === 0 ? EXIT_FAILURE : EXIT_OK;
}

/** Register `weft get-poetry`. */
export function addGetPoetryCommand(
  program: Command,
  io: CliIO,
  setExit: (code: number) => void,
): void {
  program
    .command("get-poetry")
    .description(
      "download poems in parallel (Twisted tutorial client 6.0), optionally transforming each",
    )
    .argument("<endpoint...>", "poetry servers: tcp:HOST:PORT, HOST:PORT or PORT (127.0.0.1)")
    .option(
      "-t, --transform <name@endpoint>",
      "transform each poem, e.g. cummingsify@tcp:127.0.0.1:10001",
    )
    .option("--via <protocol>", "transform protocol: netstring, line or amp", "netstring")
    .option(
      "--poem-via <protocol>",
      "poetry protocol: raw (fast/slow servers), netstring or amp",
      "raw",
    )
    .option("--name <poem>", "poem to ask for (netstring and amp poetry servers)")
    .option("--timeout <seconds>", "per download and per transform", parseSeconds, 30)
    .addHelpText(
      "after",
      "\nPoems go to stdout, progress and warnings to stderr.\nExit codes: 0 at least one poem, 1 every download failed, 2 bad usage.",
    )
    .action(
      async (
        endpoints: string[],
        opts: { transform?: string; via: string; poemVia: string; name?: string; timeout: number },
      ) => {
        const out = new CommandOutput("get-poetry", io, setExit);
        const { via, poemVia } = opts;
        if (!isOneOf<TransformVia>(via, ["netstring", "line", "amp"])) {
          out.usage("--via must be netstring, line or amp");
          return;
        }
        if (!isOneOf<PoetryVia>(poemVia, ["raw", "netstring", "amp"])) {
          out.usage("--poem-via must be raw, netstring or amp");
          return;
        }
        setExit(
          await getPoetry(
            endpoints,
            {
              via,
              poemVia,
              timeout: opts.timeout,
              ...(opts.transform !== undefined ? { transform: opts.transform } : {}),
              ...(opts.name !== undefined ? { name: opts.name } : {}),
            },
            io,
          ),
        );
      },
    );
}
