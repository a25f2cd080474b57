#!/usr/bin/env node
/**
 * The `weft` command: `weft serve`, `weft get-poetry`, `weft transform`, `weft calc`, `weft manhole`.
 * Exit codes: 0 success, 1 the operation failed, 2 bad usage or invalid configuration.
 */
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Command, CommanderError } from "commander";
import { addCalcCommand } from "./calc.js";
import { type CliIO, EXIT_USAGE, processIO } from "./common.js";
import { addFuzzCommand } from "./fuzz.js";
import { addGetPoetryCommand } from "./get-poetry.js";
import { addManholeCommand } from "./manhole.js";
import { addServeCommand } from "./serve.js";
import { addTransformCommand } from "./transform.js";

/** The program, for embedding and tests. */
export function buildProgram(io: CliIO, setExit: (code: number) => void): Command {
  const program = new Command();
  program
    .name("weft")
    .description("weft: Twisted-style network services on Node.js")
    .version("0.1.0")
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  addServeCommand(program, io, setExit);
  addGetPoetryCommand(program, io, setExit);
  addTransformCommand(program, io, setExit);
  addCalcCommand(program, io, setExit);
  addManholeCommand(program, io, setExit);
  addFuzzCommand(program, io, setExit);
  for (const c of program.commands)
    c.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  return program;
}

/** Run `weft` with `argv` (without node and script); resolves with the exit code. */
export async function run(argv: string[], io: CliIO = processIO): Promise<number> {
  let code = 0;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help / --version exit 0; usage errors exit 2.
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    throw err;
  }
  if (argv.length === 0) {
    program.outputHelp();
    return EXIT_USAGE;
  }
  return code;
}

function isMain(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  run(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(
        `weft: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exit(1);
    },
  );
}
