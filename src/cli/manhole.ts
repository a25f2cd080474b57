/**
 * `weft manhole ENDPOINT`: a REPL into a running `weft serve --manhole …`. On a terminal, keys go
 * to the server's REPL raw (completion with Tab, history with the arrows, Ctrl-C, Ctrl-D); from a
 * pipe, lines go as they come and the session ends when input ends. The token comes from
 * `--token-file FILE` or `WEFT_MANHOLE_TOKEN`.
 * Exit codes: 0 the session ran and ended, 1 refused or unreachable, 2 bad usage.
 */
import net from "node:net";
import type { Command } from "commander";
import { type ManholeHello, parseManholeEndpoint } from "../services/manhole/server.js";
import { readTokenFile } from "../services/manhole/token.js";
import { type CliIO, CommandOutput, describeError, EXIT_FAILURE, EXIT_OK } from "./common.js";

/** Options of {@link manhole}. */
export interface ManholeClientOptions {
  endpoint: string;
  token?: string;
}

/**
 * Connect, send the hello, and join the session to this process's stdin/stdout. Resolves with the
 * exit code.
 */
export function manhole(
  options: ManholeClientOptions,
  io: CliIO,
  stdin: NodeJS.ReadStream = process.stdin,
  stdout: NodeJS.WriteStream = process.stdout,
): Promise<number> {
  const out = new CommandOutput("manhole", io);
  const endpoint = parseManholeEndpoint(options.endpoint);
  const terminal = stdin.isTTY === true && stdout.isTTY === true;
  return new Promise<number>((resolve) => {
    const socket =
      endpoint.kind === "unix"
        ? net.connect(endpoint.path)
        : net.connect(endpoint.port, endpoint.host);
    let started = false;
    let failed: string | null = null;
    const restore = (): void => {
      stdin.unpipe(socket);
      if (terminal) stdin.setRawMode(false);
      stdin.pause();
    };
    socket.once("connect", () => {
      const hello: ManholeHello = {
        v: 1,
        token: options.token ?? null,
        terminal,
        columns: stdout.columns ?? 80,
      };
      socket.write(`${JSON.stringify(hello)}\n`);
      if (terminal) stdin.setRawMode(true);
      stdin.pipe(socket);
    });
    socket.on("data", (chunk: Buffer) => {
      started = true;
      stdout.write(chunk);
    });
    socket.on("error", (err) => {
      failed = describeError(err);
    });
    socket.once("close", () => {
      restore();
      if (failed !== null && !started) {
        out.error(`cannot reach the manhole at ${options.endpoint}: ${failed}`);
        resolve(EXIT_FAILURE);
      } else if (!started) {
        out.error("refused: the server closed the connection (wrong token, or not yours)");
        resolve(EXIT_FAILURE);
      } else resolve(EXIT_OK);
    });
  });
}

/** Register `weft manhole` on `program`. */
export function addManholeCommand(
  program: Command,
  io: CliIO,
  setExit: (code: number) => void,
): void {
  program
    .command("manhole")
    .description("open a REPL into a running `weft serve --manhole …`")
    .argument("<endpoint>", "unix:PATH, or tcp:PORT / tcp:HOST:PORT (token required)")
    .option("--token-file <file>", "the manhole token (else $WEFT_MANHOLE_TOKEN)")
    .addHelpText(
      "after",
      "\nIn scope: suite, services (by name), frontEnds, factories, connections(), reactor, logger.\n" +
        "Top-level await works; .exit or Ctrl-D ends the session. Every session is logged by the server.\n" +
        "Exit codes: 0 the session ended, 1 refused or unreachable, 2 bad usage.",
    )
    .action(async (endpoint: string, opts: { tokenFile?: string }) => {
      const out = new CommandOutput("manhole", io, setExit);
      let token: string | undefined;
      try {
        parseManholeEndpoint(endpoint);
        token =
          opts.tokenFile !== undefined
            ? readTokenFile(opts.tokenFile)
            : process.env["WEFT_MANHOLE_TOKEN"]?.trim() || undefined;
      } catch (err) {
        out.usage(describeError(err));
        return;
      }
      setExit(await manhole({ endpoint, ...(token !== undefined ? { token } : {}) }, io));
    });
}
