/**
 * Fuzz benchmark (issue 11):
 * 1. cases/s of `weft fuzz netstring` against weft's netstring server (the transform front-end of
 *    `weft serve`, in a child process) at --concurrency 1, 8 and 32, beside the raw
 *    connect–request–close rate of a hand-written `node:net` client against the same server in
 *    the same run (target: ≥ 0.5× raw at 32);
 * 2. in-process cases/s of `fuzzProtocol` on a NetstringReceiver (target: ≥ 50,000/s);
 * 3. time to find each planted bug of test/fuzz/targets, median over BENCH_SEEDS seeds: until the
 *    first case an oracle fires on ("detected") and until the finding is shrunk ("reported").
 *
 * Env: BENCH_SECONDS per rate measurement (default 2), BENCH_SEEDS (default 5), BENCH_FIND_SECONDS
 * cap per search (default 20), BENCH_TIMEOUT per-case timeout in ms for the rates (default 1000).
 * Prints the tables and writes bench/fuzz/RESULTS.md.
 * Run: `node --import tsx bench/fuzz/run.ts` (also part of `npm run bench`).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import net from "node:net";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { Campaign, type CampaignOptions } from "../../src/fuzz/campaign.js";
import { parseTarget } from "../../src/fuzz/endpoint.js";
import { modelFromSpec } from "../../src/fuzz/replay.js";
import { NetstringReceiver } from "../../src/protocols/receivers/index.js";
import { fuzzProtocol } from "../../src/testing/index.js";

const SECONDS = Number(process.env["BENCH_SECONDS"] ?? "2");
const SEEDS = Number(process.env["BENCH_SEEDS"] ?? "5");
const FIND_SECONDS = Number(process.env["BENCH_FIND_SECONDS"] ?? "20");
const TIMEOUT = Number(process.env["BENCH_TIMEOUT"] ?? "1000");
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

// ---------------------------------------------------------------------------------------------
// 1. Over the network

const REQUEST = "11:upper.hello,";
const REPLY = "5:HELLO,";

function startServer(): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "bench/fuzz/server.ts")], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      const m = /listening (\d+)/.exec(out);
      if (m !== null) resolve({ port: Number(m[1]), child });
    });
    child.on("exit", (code) => reject(new Error(`bench server exited (${code}): ${out}`)));
  });
}

/** One connect–request–close exchange; resolves with the reply. */
function exchange(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1", () => s.write(REQUEST));
    let reply = "";
    s.setEncoding("latin1");
    s.on("data", (d: string) => (reply += d));
    s.on("close", () => resolve(reply));
    s.on("error", reject);
  });
}

/** The raw rate: `concurrency` closed-loop clients for `seconds`; exchanges per second. */
async function rawRate(port: number, concurrency: number, seconds: number): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let done = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const r = await exchange(port);
        if (r !== REPLY) throw new Error(`raw client got ${JSON.stringify(r)}`);
        done++;
      }
    }),
  );
  return done / ((performance.now() - start) / 1000);
}

async function campaign(o: Partial<CampaignOptions> & { endpoint: string; maxLength?: number }) {
  const model = await modelFromSpec({ name: "netstring", maxLength: o.maxLength ?? 99999 });
  const c = new Campaign({
    model,
    target: parseTarget(o.endpoint),
    seed: o.seed ?? 1,
    timeoutMs: o.timeoutMs ?? TIMEOUT,
    concurrency: o.concurrency ?? 8,
    lenient: false,
    ...o,
  });
  await c.setup();
  return c;
}

/** `weft fuzz` cases/s for `seconds` (and the number of findings, which must be 0). */
async function fuzzRate(port: number, concurrency: number, probeEvery: number) {
  const c = await campaign({
    endpoint: `tcp:127.0.0.1:${port}`,
    probe: enc(REQUEST),
    expect: enc(REPLY),
    probeEvery,
    concurrency,
    timeSec: SECONDS,
  });
  const r = await c.run();
  return { rate: r.cases / (r.elapsedMs / 1000), findings: r.findings.length };
}

// ---------------------------------------------------------------------------------------------
// 2. In process

class Echo extends NetstringReceiver {
  override stringReceived(data: Uint8Array): void {
    this.sendString(data);
  }
}

function inProcessRate(withProbe: boolean): number {
  const runs = 20000;
  const options = withProbe
    ? { framing: "netstring" as const, probe: enc("5:hello,") }
    : { framing: "netstring" as const };
  const t0 = performance.now();
  fc.assert(
    fuzzProtocol(() => new Echo(), options),
    { numRuns: runs, seed: 1 },
  );
  return runs / ((performance.now() - t0) / 1000);
}

// ---------------------------------------------------------------------------------------------
// 3. Time to find the planted bugs

interface TargetModule {
  createTarget(o: { inProcess: boolean }): {
    listen(port?: number): Promise<number>;
    close(): Promise<void>;
  };
}

const script = (name: string) => join(ROOT, "test/fuzz/targets", `${name}.mjs`);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => resolve(typeof a === "object" && a !== null ? a.port : 0));
    });
  });
}

interface Search {
  detectedMs: number | null;
  reportedMs: number | null;
  oracle: string;
}

/** The oracle each planted bug is searched for (others it also trips are ignored here). */
const BUGS: Record<string, string> = {
  "accepts-malformed": "accepted-malformed",
  "wrong-length": "malformed-reply",
  hang: "hang",
  poisoned: "liveness",
  "split-header": "inconsistent",
  crash: "crash",
  alloc: "memory",
};

async function timeToFind(name: string, seed: number): Promise<Search> {
  const wanted = BUGS[name];
  const spawned = name === "crash" || name === "alloc";
  let endpoint: string;
  let close = async (): Promise<void> => {};
  const extra: Partial<CampaignOptions> & { maxLength?: number } = {};
  if (spawned) {
    const port = await freePort();
    endpoint = `tcp:127.0.0.1:${port}`;
    extra.spawn = `exec ${JSON.stringify(process.execPath)} ${JSON.stringify(script(name))} ${port}`;
    if (name === "alloc") {
      Object.assign(extra, { maxLength: 64 * 1024 * 1024, maxRssMiB: 80, concurrency: 2 });
    }
  } else {
    const mod: TargetModule = await import(script(name));
    const t = mod.createTarget({ inProcess: true });
    endpoint = `tcp:127.0.0.1:${await t.listen(0)}`;
    close = () => t.close();
  }
  const out: Search = { detectedMs: null, reportedMs: null, oracle: "" };
  const t0 = performance.now();
  let c: Campaign | null = null;
  c = await campaign({
    endpoint,
    probe: enc("5:hello,"),
    expect: enc("5:hello,"),
    seed,
    timeoutMs: 200,
    timeSec: FIND_SECONDS,
    ...extra,
    onCase: (_n, _case, result) => {
      if (result === wanted && out.detectedMs === null) out.detectedMs = performance.now() - t0;
    },
    onFinding: (f) => {
      if (out.reportedMs !== null || f.oracle !== wanted) return;
      out.reportedMs = performance.now() - t0;
      out.detectedMs ??= out.reportedMs;
      out.oracle = f.oracle;
      c?.interrupt("found");
    },
  });
  await c.run();
  await close();
  return out;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

// ---------------------------------------------------------------------------------------------

const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

const server = await startServer();
const rateRows: string[] = [];
for (const concurrency of [1, 8, 32]) {
  const raw = await rawRate(server.port, concurrency, SECONDS);
  const fuzz = await fuzzRate(server.port, concurrency, 1);
  const sparse = await fuzzRate(server.port, concurrency, 100);
  const row = `| ${concurrency} | ${fmt(raw)} | ${fmt(fuzz.rate)} | **${fmt(fuzz.rate / raw, 2)}×** | ${fmt(sparse.rate)} | **${fmt(sparse.rate / raw, 2)}×** | ${fuzz.findings + sparse.findings} |`;
  rateRows.push(row);
  console.log(row);
}
server.child.stdin?.end();

const inProcess = inProcessRate(false);
const inProcessProbe = inProcessRate(true);
console.log(
  `in-process fuzzProtocol: ${fmt(inProcess)} cases/s, with a probe ${fmt(inProcessProbe)}`,
);

const findRows: string[] = [];
for (const bug of Object.keys(BUGS)) {
  const runs: Search[] = [];
  for (let seed = 1; seed <= SEEDS; seed++) runs.push(await timeToFind(bug, seed));
  const found = runs.filter((r) => r.reportedMs !== null);
  const oracles = [...new Set(found.map((r) => r.oracle))].join(", ");
  const det = found.map((r) => r.detectedMs ?? 0);
  const rep = found.map((r) => r.reportedMs ?? 0);
  const row = `| ${bug} | ${oracles} | ${found.length}/${runs.length} | ${found.length > 0 ? fmt(median(det)) : "—"} | ${found.length > 0 ? fmt(median(rep)) : "—"} | ${rep.map((x) => fmt(x)).join(", ")} |`;
  findRows.push(row);
  console.log(row);
}

const md = `# Fuzz benchmark (bench/fuzz/run.ts)

Node ${process.version}, ${cpus().length} cores, ${new Date().toISOString()}. **The machine was
shared** with other work while this ran (2 cores, several busy processes): absolute numbers swing
between runs; compare the ratios, which are measured within one run.

## weft fuzz over the network

Target: weft's netstring server — the transform front-end of \`weft serve\` (one request
\`NAME.TEXT\`, one reply, close), in a child process. Raw: a hand-written \`node:net\` client doing
connect → \`${REQUEST}\` → read \`${REPLY}\` → close in a closed loop, same server, same run.
\`weft fuzz\`: \`--probe '${REQUEST}' --expect '${REPLY}' --timeout ${TIMEOUT}\`, ${SECONDS} s per
measurement, the engine's own generated cases (valid, malformed, mutated; random chunking,
delays, half-closes). With the default \`--probe-every 1\` every case costs two connections (the
case and the liveness probe); the \`--probe-every 100\` column shows the cost of the cases alone.
Target: ≥ 0.5× raw at concurrency 32.

| concurrency | raw exchanges/s | weft fuzz cases/s | fuzz/raw | cases/s, --probe-every 100 | fuzz/raw | findings |
|---:|---:|---:|---:|---:|---:|---:|
${rateRows.join("\n")}

## fuzzProtocol in process

A NetstringReceiver echo on a MemoryTransport with the manual Clock, 20,000 cases
(\`fc.assert(fuzzProtocol(() => new Echo(), { framing: "netstring" }))\`): **${fmt(inProcess)}
cases/s**; with \`probe: 5:hello,\` (structure-aware mutations and a liveness check per case):
**${fmt(inProcessProbe)} cases/s**. Target: ≥ 50,000/s.

## Time to find the planted bugs (test/fuzz/targets)

Seeds 1–${SEEDS}, \`--probe '5:hello,' --expect '5:hello,' --timeout 200\`, concurrency 8 (alloc:
2), each search capped at ${FIND_SECONDS} s and stopped at its first finding. "Detected": the
first case an oracle fires on; "reported": the finding shrunk and final. crash and alloc run under
\`--spawn\` (alloc with \`--max-length 67108864 --max-rss 80\`); the others in the benchmark's own
process. Only the bug's own oracle counts (alloc also trips \`hang\`: it waits for the payload
of an over-limit header). "Detected" is the first case judged by that oracle on its own (for
liveness, crash and memory, which the campaign judges after the case, it equals "reported").
Milliseconds, median over the seeds.

| bug | oracle | found | detected (median ms) | reported (median ms) | reported, each seed (ms) |
|---|---|---:|---:|---:|---|
${findRows.join("\n")}
`;
writeFileSync(join(ROOT, "bench/fuzz/RESULTS.md"), md);
console.log("wrote bench/fuzz/RESULTS.md");
process.exit(0);
