/** `weft transform NAME`: send stdin through a transform server and print the result. */
import type { Command } from "commander";
import { createReactor } from "../core/reactor.js";
import { TransformProxy, type TransformVia } from "../services/transform/clients.js";
import {
  type CliIO,
  CommandOutput,
  clientEndpoint,
  EXIT_OK,
  EXIT_USAGE,
  isOneOf,
  parseSeconds,
} from "./common.js";

/** Default transform server per protocol (the default `weft serve` ports on 127.0.0.1). */
export const DEFAULT_TRANSFORM_ENDPOINTS: Record<TransformVia, string> = {
  netstring: "tcp:127.0.0.1:10001",
  line: "tcp:127.0.0.1:10002",
  amp: "tcp:127.0.0.1:10003",
};

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === "string" ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}

/** `text` without one final `\n` (or `\r\n`). */
export function withoutFinalNewline(text: string): string {
  if (text.endsWith("\r\n")) return text.slice(0, -2);
  return text.endsWith("\n") ? text.slice(0, -1) : text;
}

/** Register `weft transform`. */
export function addTransformCommand(
  program: Command,
  io: CliIO,
  setExit: (code: number) => void,
  stdin: NodeJS.ReadableStream = process.stdin,
): void {
  program
    .command("transform")
    .description("transform stdin with a named transform on a transform server; print the result")
    .argument(
      "<name>",
      "transform: cummingsify, reverse, upper, title, rot13, or one the server registered",
    )
    .option("--via <protocol>", "netstring, line or amp", "netstring")
    .option(
      "--to <endpoint>",
      "transform server (default: 127.0.0.1 on 10001 / 10002 / 10003 by protocol)",
    )
    .option("--timeout <seconds>", "give up after this long", parseSeconds, 30)
    .addHelpText(
      "after",
      "\nExit codes: 0 done, 1 the transform failed (unknown name, server down…), 2 bad usage.",
    )
    .action(async (name: string, opts: { via: string; to?: string; timeout: number }) => {
      const out = new CommandOutput("transform", io, setExit);
      const via = opts.via;
      if (!isOneOf<TransformVia>(via, ["netstring", "line", "amp"])) {
        out.usage("--via must be netstring, line or amp");
        return;
      }
      const reactor = createReactor();
      let proxy: TransformProxy;
      try {
        proxy = new TransformProxy(
          clientEndpoint(reactor, opts.to ?? DEFAULT_TRANSFORM_ENDPOINTS[via]),
          {
            via,
            timeout: opts.timeout,
            clock: reactor,
          },
        );
      } catch (err) {
        out.failed(err, EXIT_USAGE);
        return;
      }
      // The newline that ends stdin's last line belongs to the terminal, not to the text: keep it out
      // of the transform (`echo abc | weft transform reverse` prints `cba`, not a newline first)
      // and end the output with one.
      const text = withoutFinalNewline(await readAll(stdin));
      try {
        io.stdout(`${await proxy.xform(name, text)}\n`);
        setExit(EXIT_OK);
      } catch (err) {
        out.failed(err);
      } finally {
        proxy.close();
      }
    });
}
