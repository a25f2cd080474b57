/**
 * `weft fuzz <framing> <endpoint> [options]` and `weft fuzz replay <file> [endpoint]`: fire
 * generated valid, malformed and mutated frames at a live server and report what it did with them
 * (the engine is `src/fuzz/`). Exit codes: 0 no finding, 1 findings, 2 bad usage, unreachable
 * target, or a probe that fails before fuzzing.
 */
import { createWriteStream, mkdtempSync, type WriteStream } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Command, Option } from "commander";
import { Campaign, CampaignSetupError } from "../fuzz/campaign.js";
import { Corpus } from "../fuzz/corpus.js";
import { readAllowList } from "../fuzz/differential.js";
import { parseTarget } from "../fuzz/endpoint.js";
import { bytesArgument } from "../fuzz/escapes.js";
import { type FramingSpec, writeFindingFile } from "../fuzz/findings.js";
import { FRAMING_NAMES, type FramingName } from "../fuzz/framing.js";
import { defaultMaxLength } from "../fuzz/framings/index.js";
import { randomSeed } from "../fuzz/random.js";
import { modelFromSpec, replayFinding } from "../fuzz/replay.js";
import { findingsTable, jsonReport, statusLine } from "../fuzz/report.js";
import {
  type CliIO,
  CommandOutput,
  describeError,
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  intParser,
  isOneOf,
  parseSeconds,
  processIO,
} from "./common.js";

interface FuzzOptions {
  prefix?: string;
  endian: string;
  shape?: string;
  delimiter?: string;
  probe?: string;
  expect?: string;
  probeEvery: number;
  reference?: string;
  allow?: string;
  maxLength?: number;
  time?: number;
  runs?: number;
  seed?: number;
  timeout: number;
  concurrency: number;
  corpus?: string;
  spawn?: string;
  maxRss?: number;
  out?: string;
  json?: boolean;
  lenient?: boolean;
}

const PREFIXES = ["1", "2", "3", "4", "8", "varint"] as const;

/** Registers `weft fuzz` (and `weft fuzz replay`). */
export function addFuzzCommand(program: Command, io: CliIO, setExit: (code: number) => void): void {
  const fuzz = program
    .command("fuzz")
    .description(
      "fuzz a netstring, line, length-prefixed or AMP server: generated valid, malformed and mutated frames, delivered in random chunks",
    )
    .argument("<framing>", `one of ${FRAMING_NAMES.join(", ")}`)
    .argument("<endpoint>", "the target: tcp:HOST:PORT, unix:PATH, HOST:PORT or PORT")
    .addOption(
      new Option("--prefix <width>", "length-prefixed: prefix width").choices([...PREFIXES]),
    )
    .option("--endian <order>", "length-prefixed: big or little", "big")
    .option("--shape <module>", "length-prefixed: a module exporting a defineShape shape")
    .option("--delimiter <bytes>", "line: the delimiter (escapes allowed)")
    .option("--probe <bytes>", "a known-good request (\\r \\n \\t \\\\ \\xHH escapes, or @file)")
    .option("--expect <bytes>", "the exact reply to --probe (escapes, or @file)")
    .option("--probe-every <n>", "probe after every N cases", intParser(1, 1e9), 1)
    .option("--reference <endpoint>", "differential mode: a reference server to compare with")
    .option("--allow <file>", "with --reference: allow-list of differences (one regexp a line)")
    .option("--max-length <n>", "the target's frame limit", intParser(0, 2 ** 53 - 1))
    .option("--time <seconds>", "fuzz for this long (default 60 s unless --runs)", parseSeconds)
    .option("--runs <n>", "fuzz this many cases", intParser(1, 1e12))
    .option("--seed <n>", "the campaign's seed (reproduces it)", intParser(0, 2 ** 31 - 1))
    .option("--timeout <ms>", "per-case timeout", intParser(1, 600000), 1000)
    .option("--concurrency <n>", "cases in flight at once", intParser(1, 1024), 8)
    .option("--corpus <dir>", "load saved cases and save new interesting ones")
    .option("--spawn <command>", "start the target (sh -c), restart it after a crash")
    .option(
      "--max-rss <MiB>",
      "with --spawn: memory of the target beyond this is a finding",
      intParser(1, 1e7),
    )
    .option("--out <dir>", "write one replayable file per finding and a log of every case")
    .option("--json", "print one JSON object at the end")
    .option("--lenient", "a reply to a malformed first frame is not a finding")
    .action(async (framing: string, endpoint: string, opts: FuzzOptions) => {
      setExit(await fuzzCommand(framing, endpoint, opts, io));
    });
  fuzz
    .command("replay")
    .description("replay a finding file exactly; exit 1 if its oracle still fires, 0 if not")
    .argument("<file>", "a finding file written by --out")
    .argument("[endpoint]", "the target (default: the one the finding was made on)")
    .action(async (file: string, endpoint: string | undefined) => {
      const out = new CommandOutput("fuzz replay", io, setExit);
      try {
        const r = await replayFinding(file, endpoint);
        io.stdout(`${r.fired ? "still fires" : "no longer fires"}: ${r.message}\n`);
        setExit(r.fired ? EXIT_FAILURE : EXIT_OK);
      } catch (err) {
        out.failed(err, EXIT_USAGE);
      }
    });
}

/** Runs a campaign for the command line; returns the exit code. */
export async function fuzzCommand(
  framing: string,
  endpoint: string,
  opts: FuzzOptions,
  io: CliIO = processIO,
): Promise<number> {
  const out = new CommandOutput("fuzz", io);
  if (!isOneOf<FramingName>(framing, FRAMING_NAMES)) {
    out.error(`unknown framing ${JSON.stringify(framing)}: use one of ${FRAMING_NAMES.join(", ")}`);
    return EXIT_USAGE;
  }
  let spec: FramingSpec;
  let campaign: Campaign;
  let outDir: string | null = opts.out !== undefined ? resolve(opts.out) : null;
  const seed = opts.seed ?? randomSeed();
  let probe: Uint8Array | undefined;
  let expect: Uint8Array | undefined;
  try {
    if (opts.endian !== "big" && opts.endian !== "little")
      throw new Error(`--endian must be big or little, not ${opts.endian}`);
    if (framing !== "length-prefixed" && (opts.prefix !== undefined || opts.shape !== undefined))
      throw new Error("--prefix and --shape apply to length-prefixed only");
    if (opts.prefix !== undefined && opts.shape !== undefined)
      throw new Error("give --prefix or --shape, not both");
    if (opts.expect !== undefined && opts.probe === undefined)
      throw new Error("--expect needs --probe");
    if (opts.maxRss !== undefined && opts.spawn === undefined)
      throw new Error("--max-rss needs --spawn");
    if (opts.allow !== undefined && opts.reference === undefined)
      throw new Error("--allow needs --reference");
    spec = { name: framing, maxLength: opts.maxLength ?? defaultMaxLength(framing) };
    if (framing === "length-prefixed") {
      if (opts.shape !== undefined) spec.shape = resolve(opts.shape);
      else
        spec.prefix =
          opts.prefix === "varint" ? "varint" : (Number(opts.prefix ?? 4) as 1 | 2 | 3 | 4 | 8);
      spec.endian = opts.endian;
    }
    if (opts.delimiter !== undefined) {
      if (framing !== "line") throw new Error("--delimiter applies to line only");
      spec.delimiter = Buffer.from(bytesArgument(opts.delimiter)).toString("base64");
    }
    const model = await modelFromSpec(spec);
    const target = parseTarget(endpoint);
    const reference = opts.reference !== undefined ? parseTarget(opts.reference) : undefined;
    probe = opts.probe !== undefined ? bytesArgument(opts.probe) : undefined;
    expect = opts.expect !== undefined ? bytesArgument(opts.expect) : undefined;
    campaign = new Campaign({
      model,
      target,
      reference,
      allow: opts.allow !== undefined ? readAllowList(opts.allow) : [],
      probe,
      expect,
      probeEvery: opts.probeEvery,
      runs: opts.runs,
      timeSec: opts.time,
      seed,
      timeoutMs: opts.timeout,
      concurrency: opts.concurrency,
      lenient: opts.lenient === true,
      corpus: opts.corpus !== undefined ? new Corpus(opts.corpus) : undefined,
      spawn: opts.spawn,
      maxRssMiB: opts.maxRss,
      onFinding: (f) => {
        outDir ??= mkdtempSync(join(tmpdir(), "weft-fuzz-"));
        f.file = writeFindingFile(outDir, campaign.status.findings, f, {
          framing: spec,
          endpoint,
          timeoutMs: opts.timeout,
          lenient: opts.lenient === true,
          probe,
          expect,
          reference: opts.reference,
          spawn: opts.spawn,
          maxRss: opts.maxRss,
        });
      },
    });
  } catch (err) {
    out.error(describeError(err));
    return EXIT_USAGE;
  }
  let log: WriteStream | null = null;
  if (outDir !== null) {
    const { mkdirSync } = await import("node:fs");
    mkdirSync(outDir, { recursive: true });
    log = createWriteStream(join(outDir, "cases.log"));
    log.write("seed\tcase\tresult\tlabel\tbytes\tchunks\thalf-close\n");
    const l = log;
    campaign.onCase = (n, c, result) => {
      l.write(
        `${seed}\t${n}\t${result}\t${c.label}\t${c.bytes.length}\t${c.chunks.length}\t${c.halfClose}\n`,
      );
    };
  }
  try {
    await campaign.setup();
  } catch (err) {
    log?.end();
    out.error(err instanceof CampaignSetupError ? err.message : describeError(err));
    return EXIT_USAGE;
  }
  const tty = io === processIO && process.stdout.isTTY === true;
  if (!opts.json)
    io.stdout(
      `weft fuzz: ${framing} → ${endpoint}, seed ${seed}${opts.time !== undefined ? `, ${opts.time}s` : ""}${opts.runs !== undefined ? `, ${opts.runs} runs` : ""}\n`,
    );
  const s = campaign.status;
  const ticker = opts.json
    ? null
    : setInterval(
        () => {
          const line = statusLine(s.cases, s.findings, Date.now() - s.startedAt);
          io.stdout(tty ? `\r${line}\u001b[K` : `${line}\n`);
        },
        tty ? 250 : 5000,
      );
  const onSigint = () => campaign.interrupt();
  process.once("SIGINT", onSigint);
  let result: Awaited<ReturnType<Campaign["run"]>>;
  try {
    result = await campaign.run();
  } finally {
    process.removeListener("SIGINT", onSigint);
    if (ticker !== null) clearInterval(ticker);
    log?.end();
  }
  if (opts.json) {
    io.stdout(
      jsonReport(result.cases, result.findings, endpoint, {
        seed,
        elapsedMs: result.elapsedMs,
        ...(result.stoppedEarly !== null ? { stoppedEarly: result.stoppedEarly } : {}),
      }),
    );
  } else {
    if (tty) io.stdout("\n");
    io.stdout(`${statusLine(result.cases, result.findings.length, result.elapsedMs)}\n`);
    if (result.stoppedEarly !== null) io.stdout(`stopped early: ${result.stoppedEarly}\n`);
    io.stdout(findingsTable(result.findings, endpoint));
  }
  return result.findings.length > 0 ? EXIT_FAILURE : EXIT_OK;
}
