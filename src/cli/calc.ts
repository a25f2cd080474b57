/**
 * `weft calc A B`: the calculator client, spreading calls over the calculator's ports, over PB (the
 * article's protocol, default), AMP, lines or XML-RPC. Prints, as the article's client does, one
 * `(sum, server)` line per answer, then `total: N`.
 */
import { type Command, Option } from "commander";
import type { Deferred } from "../core/deferred.js";
import { createReactor } from "../core/reactor.js";
import { CalculatorClient } from "../services/calculator/client.js";
import { CalculatorLineClient } from "../services/calculator/line-client.js";
import { CalculatorPBClient } from "../services/calculator/pb-client.js";
import { type Calculation, type Int, parseDecimalInt } from "../services/calculator/service.js";
import { CalculatorXmlRpcClient } from "../services/calculator/xmlrpc-client.js";
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

/** The calculator's default ports per protocol (`weft serve`'s default suite). */
export const CALC_DEFAULT_PORTS: Readonly<Record<CalcVia, string>> = {
  pb: "8992,8993,8994",
  amp: "8996,8997,8998",
  line: "8995",
  xmlrpc: "8999",
};

/** The protocols `weft calc --via` speaks. */
export type CalcVia = "pb" | "amp" | "line" | "xmlrpc";

interface CalcClient {
  calculateAll(pairs: ReadonlyArray<readonly [Int, Int]>): Deferred<Calculation[]>;
  close(): void;
}

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
    .addOption(
      new Option("--via <protocol>", "protocol to speak")
        .choices(["pb", "amp", "line", "xmlrpc"])
        .default("pb"),
    )
    .option(
      "--ports <list>",
      "comma-separated calculator ports (default: pb 8992-8994, amp 8996-8998, line 8995, xmlrpc 8999)",
    )
    .option("--host <address>", "calculator host", "127.0.0.1")
    .option("-n, --count <n>", "number of calls (default: one per port)", intParser(1, 100000))
    .option("--timeout <seconds>", "per call", parseSeconds, 30)
    .allowExcessArguments(false)
    .addHelpText(
      "after",
      "\nEach answer prints `(SUM, SERVER)`, then `total: N`.\nExit codes: 0 every call answered, 1 a call failed, 2 bad usage.",
    )
    .action(
      async (
        aText: string,
        bText: string,
        opts: { via: CalcVia; ports?: string; host: string; count?: number; timeout: number },
      ) => {
        const a = parseInt_(aText);
        const b = parseInt_(bText);
        const ports = (opts.ports ?? CALC_DEFAULT_PORTS[opts.via]).split(",").map((p) => p.trim());
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
        const clientOptions = { timeout: opts.timeout, clock: reactor };
        const endpoints = ports.map((p) => clientEndpoint(reactor, `${host}:${p}`));
        const client: CalcClient =
          opts.via === "pb"
            ? new CalculatorPBClient(endpoints, clientOptions)
            : opts.via === "amp"
              ? new CalculatorClient(endpoints, clientOptions)
              : opts.via === "line"
                ? new CalculatorLineClient(endpoints, clientOptions)
                : new CalculatorXmlRpcClient(
                    ports.map((p) => ({ host: opts.host, port: Number(p) })),
                    clientOptions,
                  );
        const count = opts.count ?? ports.length;
        const pairs = Array.from({ length: count }, () => [a, b] as const);
        try {
          const answers = await client.calculateAll(pairs);
          let total = 0n;
          for (const r of answers) {
            io.stdout(`(${r.result}, ${r.server})\n`);
            total += BigInt(r.result);
          }
          io.stdout(`total: ${total}\n`);
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
