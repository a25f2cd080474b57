/** `weft calc A B`: the calculator client, spreading calls over the calculator's ports. */
import type { Command } from "commander";
import { createReactor } from "../core/reactor.js";
import { CalculatorClient } from "../services/calculator/client.js";
import { type Int, parseDecimalInt } from "../services/calculator/service.js";
import {
  type CliIO,
  clientEndpoint,
  describeError,
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  intParser,
  parseSeconds,
} from "./common.js";

function parseInt_(text: string): Int | undefined {
  if (!/^-?\d+$/.test(text)) return undefined;
  return parseDecimalInt(text);
}

/** Register `weft calc`. */
export function addCalcCommand(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command("calc")
    .description("add A and B on the calculator servers, spreading the calls over their ports")
    .argument("<a>", "integer (any size)")
    .argument("<b>", "integer (any size)")
    .option("--ports <list>", "comma-separated calculator ports", "8992,8993,8994")
    .option("--host <address>", "calculator host", "127.0.0.1")
    .option("-n, --count <n>", "number of calls (default: one per port)", intParser(1, 100000))
    .option("--timeout <seconds>", "per call", parseSeconds, 30)
    .allowExcessArguments(false)
    .addHelpText(
      "after",
      "\nEach call prints `server S: A + B = R`.\nExit codes: 0 every call answered, 1 a call failed, 2 bad usage.",
    )
    .action(
      async (
        aText: string,
        bText: string,
        opts: { ports: string; host: string; count?: number; timeout: number },
      ) => {
        const a = parseInt_(aText);
        const b = parseInt_(bText);
        const ports = opts.ports.split(",").map((p) => p.trim());
        if (a === undefined || b === undefined) {
          io.stderr("weft calc: A and B must be integers\n");
          setExit(EXIT_USAGE);
          return;
        }
        if (
          ports.length === 0 ||
          ports.some((p) => !/^\d+$/.test(p) || Number(p) < 1 || Number(p) > 65535)
        ) {
          io.stderr("weft calc: --ports must be a comma-separated list of ports 1..65535\n");
          setExit(EXIT_USAGE);
          return;
        }
        const reactor = createReactor();
        const host = opts.host.includes(":") ? `[${opts.host}]` : opts.host;
        const client = new CalculatorClient(
          ports.map((p) => clientEndpoint(reactor, `${host}:${p}`)),
          { timeout: opts.timeout, clock: reactor },
        );
        const count = opts.count ?? ports.length;
        const pairs = Array.from({ length: count }, () => [a, b] as const);
        try {
          const answers = await client.calculateAll(pairs);
          for (const r of answers) io.stdout(`server ${r.server}: ${a} + ${b} = ${r.result}\n`);
          setExit(EXIT_OK);
        } catch (err) {
          io.stderr(`weft calc: ${describeError(err)}\n`);
          setExit(EXIT_FAILURE);
        } finally {
          client.close();
        }
      },
    );
}
