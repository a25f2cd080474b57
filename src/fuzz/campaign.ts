/**
 * A fuzzing campaign against a live target: generate cases (seeded), run them with bounded
 * concurrency, judge each outcome, check liveness with the probe, watch a spawned target, and turn
 * what the oracles find into deduplicated, shrunk, confirmed findings.
 *
 * Whenever something fires, fuzzing pauses (no new cases; in-flight ones finish), the finding is
 * confirmed and shrunk alone against the target, then fuzzing resumes. A target that crashed or
 * went unresponsive without `--spawn` cannot be restarted: the campaign ends there.
 *
 * (A little over 600 lines, on purpose: one class, because the pause, the suspects and the restarts
 * are state every handler shares; the generators, executor, oracles and shrinker live elsewhere.)
 */
import type fc from "fast-check";
import { caseArb, type FuzzCase, type Seeds, sameDelivery, wholeCase } from "./cases.js";
import type { Corpus } from "./corpus.js";
import { compareWithReference } from "./differential.js";
import type { TargetAddress } from "./endpoint.js";
import { escapeBytes } from "./escapes.js";
import type { Finding } from "./findings.js";
import { analyze, decodeFrames, type FramingModel, isCompleteRequest } from "./framing.js";
import { describeExit, type ExitInfo, ProcessMonitor } from "./monitor.js";
import { connectTo, runOverNet } from "./net-executor.js";
import { describeOutcome, judge, type Verdict } from "./oracles.js";
import { type Outcome, waitRule } from "./outcome.js";
import { caseBias, caseRandom } from "./random.js";
import { shrink } from "./shrink.js";

/** What a campaign needs. */
export interface CampaignOptions {
  model: FramingModel;
  target: TargetAddress;
  reference?: TargetAddress | undefined;
  allow?: readonly RegExp[];
  probe?: Uint8Array | undefined;
  expect?: Uint8Array | undefined;
  /** Probe after every N cases (default 1). */
  probeEvery?: number;
  runs?: number | undefined;
  timeSec?: number | undefined;
  seed: number;
  timeoutMs: number;
  concurrency: number;
  lenient: boolean;
  corpus?: Corpus | undefined;
  spawn?: string | undefined;
  maxRssMiB?: number | undefined;
  /** Milliseconds the delivery plans may wait between chunks (default min(50, timeout / 4)). */
  maxDelayMs?: number;
  /** Called for every case with its number, label and result (the case log). */
  onCase?: ((n: number, c: FuzzCase, result: string) => void) | undefined;
  /** Called when a finding is final. */
  onFinding?: (f: Finding) => void;
}

/** Why a campaign could not start (exit code 2). */
export class CampaignSetupError extends Error {}

/** The result of a campaign. */
export interface CampaignResult {
  cases: number;
  findings: Finding[];
  elapsedMs: number;
  /** Why it stopped early, if it did (a crash or dead target without `--spawn`). */
  stoppedEarly: string | null;
}

/** Live counters for the status line. */
export interface CampaignStatus {
  cases: number;
  findings: number;
  startedAt: number;
}

const RECENT = 64;

/** Runs a campaign; see the module comment. */
export class Campaign {
  readonly status: CampaignStatus = { cases: 0, findings: 0, startedAt: Date.now() };
  readonly #o: CampaignOptions;
  /** The case log (settable after construction). */
  onCase: ((n: number, c: FuzzCase, result: string) => void) | undefined;
  readonly #arb: fc.Arbitrary<FuzzCase>;
  readonly #findings = new Map<string, Finding>();
  readonly #monitor: ProcessMonitor | null;
  #expectProbe: { reply: Uint8Array; closed: boolean } | null = null;
  #next = 0;
  #inFlight = 0;
  #paused = false;
  #stop: string | null = null;
  #deadline = Number.POSITIVE_INFINITY;
  #sinceProbe = 0;
  #probing = false;
  /** Cases completed since the last good probe (liveness suspects), and recent ones (crash suspects). */
  #suspects: { n: number; value: fc.Value<FuzzCase> }[] = [];
  #recent: { n: number; value: fc.Value<FuzzCase> }[] = [];
  #inFlightCases = new Map<number, fc.Value<FuzzCase>>();
  #exitSeen: ExitInfo | null = null;
  #twins = new Map<string, Outcome>();
  #handling: Promise<void> = Promise.resolve();
  #rssAt = 0;

  constructor(options: CampaignOptions) {
    this.#o = options;
    this.onCase = options.onCase;
    this.#monitor =
      options.spawn !== undefined ? new ProcessMonitor(options.spawn, options.target) : null;
    const seeds: Seeds = {
      probeFrames: options.probe !== undefined ? decodeFrames(options.model, options.probe) : [],
      corpus: options.corpus?.entries ?? [],
    };
    const maxDelay = options.maxDelayMs ?? Math.min(50, Math.floor(options.timeoutMs / 4));
    this.#arb = caseArb(options.model, seeds, maxDelay);
  }

  /** The case number `n` of this campaign, as fast-check generated it. */
  generate(n: number): fc.Value<FuzzCase> {
    return this.#arb.generate(caseRandom(this.#o.seed, n), caseBias(n));
  }

  /** Starts the target (with `--spawn`), checks it is reachable and that the probe passes. */
  async setup(): Promise<void> {
    const o = this.#o;
    if (this.#monitor !== null) {
      this.#monitor.onExit = (info) => {
        this.#exitSeen = info;
      };
      if (!(await this.#monitor.start())) {
        const exit = this.#monitor.exit;
        await this.#monitor.stop();
        throw new CampaignSetupError(
          `the spawned target never accepted on ${o.target.text}` +
            (exit !== null
              ? ` (${describeExit(exit)}: ${exit.stderrTail.trim().slice(-300)})`
              : ""),
        );
      }
    }
    const s = await connectTo(o.target, Math.max(o.timeoutMs, 1000));
    if (typeof s === "string")
      throw new CampaignSetupError(`cannot connect to ${o.target.text}: ${s}`);
    s.destroy();
    if (o.reference !== undefined) {
      const r = await connectTo(o.reference, Math.max(o.timeoutMs, 1000));
      if (typeof r === "string")
        throw new CampaignSetupError(`cannot connect to the reference ${o.reference.text}: ${r}`);
      r.destroy();
    }
    if (o.probe !== undefined) {
      const out = await this.#runProbe();
      if (out.connectError !== null)
        throw new CampaignSetupError(`the probe could not connect: ${out.connectError}`);
      if (o.expect !== undefined) {
        if (!this.#probeMatches(out, o.expect)) {
          throw new CampaignSetupError(
            `the probe failed before fuzzing: sent "${escapeBytes(o.probe)}", expected "${escapeBytes(o.expect)}", got ${describeOutcome(out)}`,
          );
        }
      } else {
        this.#expectProbe = { reply: out.reply, closed: out.closed };
      }
    }
  }

  /** Runs the campaign to its end (`runs`, `time`, or an early stop); then stops a spawned target. */
  async run(): Promise<CampaignResult> {
    const o = this.#o;
    const started = Date.now();
    this.status.startedAt = started;
    const runs = o.runs;
    const seconds = o.timeSec ?? (runs === undefined ? 60 : undefined);
    if (seconds !== undefined) this.#deadline = started + seconds * 1000;
    const workers = Array.from({ length: Math.max(1, o.concurrency) }, () => this.#worker(runs));
    await Promise.all(workers);
    await this.#handling;
    await this.#monitor?.stop();
    return {
      cases: this.status.cases,
      findings: [...this.#findings.values()],
      elapsedMs: Date.now() - started,
      stoppedEarly: this.#stop,
    };
  }

  /** Stops taking new cases (e.g. on SIGINT). */
  interrupt(reason = "interrupted"): void {
    this.#stop ??= reason;
  }

  async #worker(runs: number | undefined): Promise<void> {
    for (;;) {
      while (this.#paused && this.#stop === null) await this.#handling;
      if (this.#stop !== null) return;
      if (Date.now() >= this.#deadline) return;
      if (runs !== undefined && this.#next >= runs) return;
      const n = this.#next++;
      this.#inFlight++;
      try {
        await this.#one(n);
      } finally {
        this.#inFlight--;
      }
    }
  }

  async #one(n: number): Promise<void> {
    const o = this.#o;
    const value = this.generate(n);
    const c = value.value;
    this.#inFlightCases.set(n, value);
    const verdict = await this.#evaluate(c, true);
    this.#inFlightCases.delete(n);
    this.status.cases++;
    this.#remember(n, value);
    if (verdict !== null && verdict.oracle === "crash") {
      this.onCase?.(n, c, verdict.oracle);
      this.#schedule(() => this.#onCrash());
      return;
    }
    this.onCase?.(n, c, verdict?.oracle ?? "ok");
    if (verdict !== null) this.#schedule(() => this.#onVerdict(n, value, verdict));
    if (this.#exitSeen !== null) this.#schedule(() => this.#onCrash());
    if (o.maxRssMiB !== undefined && this.#monitor !== null && Date.now() - this.#rssAt >= 100) {
      this.#rssAt = Date.now(); // reading /proc costs: at most every 100 ms
      const rss = this.#monitor.rssMiB();
      if (rss > o.maxRssMiB) this.#schedule(() => this.#onMemory(rss));
    }
    if (o.probe !== undefined && ++this.#sinceProbe >= (o.probeEvery ?? 1) && !this.#probing) {
      this.#sinceProbe = 0;
      this.#probing = true;
      try {
        const ok = await this.#probeOk(2);
        if (ok === "dead") this.#schedule(() => this.#onCrash());
        else if (ok === "failed") this.#schedule(() => this.#onLiveness());
        else this.#suspects = [];
      } finally {
        this.#probing = false;
      }
    } else if (o.probe === undefined) {
      this.#suspects = [];
    }
  }

  #remember(n: number, value: fc.Value<FuzzCase>): void {
    this.#recent.push({ n, value });
    if (this.#recent.length > RECENT) this.#recent.shift();
    this.#suspects.push({ n, value });
    if (this.#suspects.length > RECENT) this.#suspects.shift();
  }

  /** Runs `fn` alone: fuzzing pauses until it (and everything scheduled before it) is done. */
  #schedule(fn: () => Promise<void>): void {
    this.#paused = true;
    this.#handling = this.#handling
      .then(async () => {
        while (this.#inFlight > 0) await new Promise((r) => setTimeout(r, 5));
        if (this.#stop === null) await fn();
      })
      .catch(() => {})
      .finally(() => {
        this.#paused = false;
      });
  }

  /** Runs a case on the target (and the reference) and judges it alone; `null` when nothing fires. */
  async #evaluate(c: FuzzCase, twins: boolean): Promise<Verdict | null> {
    const o = this.#o;
    const a = analyze(o.model, c.bytes);
    const rule = waitRule(a, c.halfClose);
    const [out, ref] = await Promise.all([
      runOverNet(o.target, o.model, c, rule, o.timeoutMs),
      o.reference !== undefined
        ? runOverNet(o.reference, o.model, c, rule, o.timeoutMs)
        : Promise.resolve(null),
    ]);
    if (out.connectError !== null) {
      return (await this.#targetDown())
        ? {
            oracle: "crash",
            signature: "crash",
            observed: `could not connect: ${out.connectError}`,
            expected: "the target keeps accepting connections",
          }
        : null;
    }
    o.corpus?.consider(a, out, c.bytes);
    const v = judge(o.model, a, out, { lenient: o.lenient, timeoutMs: o.timeoutMs });
    if (v !== null) return v;
    if (ref !== null && ref.connectError === null) {
      const d = compareWithReference(c, out, ref, o.allow ?? []);
      if (d !== null) return d;
    }
    if (twins && a.frames === 1 && isCompleteRequest(a) && !c.halfClose && !out.reset) {
      const whole = wholeCase(c);
      if (!sameDelivery(whole, c)) {
        const key = Buffer.from(c.bytes).toString("latin1");
        let base = this.#twins.get(key);
        if (base === undefined) {
          base = await runOverNet(o.target, o.model, whole, rule, o.timeoutMs);
          if (this.#twins.size > 10000) this.#twins.clear();
          if (base.connectError === null && !base.reset) this.#twins.set(key, base);
        }
        // The replies are compared, not whether the target had closed yet: after a complete reply the
        // close is only awaited for a short settle time, and a FIN late under load is no bug.
        if (
          base.connectError === null &&
          !base.reset &&
          !Buffer.from(out.reply).equals(Buffer.from(base.reply))
        ) {
          return {
            oracle: "inconsistent",
            signature: `inconsistent:${out.reply.length === 0 ? "no reply" : "different reply"}`,
            observed: describeOutcome(out),
            expected: `${describeOutcome(base)} (as when the request is sent in one chunk)`,
          };
        }
      }
    }
    return null;
  }

  /** Whether the target is down: three connects in a row fail (or the spawned process exited). */
  async #targetDown(): Promise<boolean> {
    if (this.#monitor !== null && this.#exitSeen !== null) return true;
    for (let i = 0; i < 3; i++) {
      const s = await connectTo(this.#o.target, Math.max(this.#o.timeoutMs, 500));
      if (typeof s !== "string") {
        s.destroy();
        return false;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return true;
  }

  async #runProbe(): Promise<Outcome> {
    const o = this.#o;
    const probe = o.probe as Uint8Array;
    const c: FuzzCase = {
      bytes: probe,
      chunks: [probe.length],
      delays: [0],
      halfClose: false,
      label: "probe",
    };
    const rule =
      o.expect !== undefined
        ? { replyFrames: -1, quietStop: false, replyBytes: o.expect.length }
        : waitRule(analyze(o.model, probe), false);
    return runOverNet(o.target, o.model, c, rule, o.timeoutMs);
  }

  #probeMatches(out: Outcome, expect: Uint8Array): boolean {
    if (out.connectError !== null) return false;
    const got = Buffer.from(out.reply);
    const want = Buffer.from(expect);
    if (out.closed) return got.equals(want);
    return got.length >= want.length && got.subarray(0, want.length).equals(want);
  }

  /** `ok`, `failed` (wrong or no reply, `tries` times in a row) or `dead` (cannot connect). */
  async #probeOk(tries: number): Promise<"ok" | "failed" | "dead"> {
    const o = this.#o;
    for (let i = 0; i < tries; i++) {
      const out = await this.#runProbe();
      if (out.connectError !== null) return (await this.#targetDown()) ? "dead" : "failed";
      const ok =
        o.expect !== undefined
          ? this.#probeMatches(out, o.expect)
          : Buffer.from(out.reply).equals(
              Buffer.from(this.#expectProbe?.reply ?? new Uint8Array(0)),
            );
      if (ok) return "ok";
      this.#lastProbe = out;
      if (i + 1 < tries) await new Promise((r) => setTimeout(r, 50));
    }
    return "failed";
  }

  #lastProbe: Outcome | null = null;

  #probeExpected(): string {
    const o = this.#o;
    const reply = o.expect ?? this.#expectProbe?.reply ?? new Uint8Array(0);
    return `the probe "${escapeBytes(o.probe ?? new Uint8Array(0), 200)}" answered "${escapeBytes(reply, 300)}"`;
  }

  #shrinkBudget(): { maxTries: number; deadline: number } {
    return {
      maxTries: 400,
      deadline: Date.now() + Math.max(3000, Math.min(30000, (this.#o.timeSec ?? 30) * 500)),
    };
  }

  #add(n: number, c: FuzzCase, v: Verdict, shrunk: boolean, extra: Partial<Finding> = {}): void {
    const existing = this.#findings.get(v.signature);
    if (existing !== undefined) {
      existing.hits++;
      return;
    }
    const f: Finding = {
      ...v,
      case: c,
      seed: this.#o.seed,
      caseNumber: n,
      shrunk,
      hits: 1,
      ...extra,
    };
    this.#findings.set(v.signature, f);
    this.status.findings = this.#findings.size;
    this.#o.onFinding?.(f);
  }

  /** A per-case verdict: confirm, shrink, record. */
  async #onVerdict(n: number, value: fc.Value<FuzzCase>, v: Verdict): Promise<void> {
    if (this.#findings.has(v.signature)) {
      this.#findings.get(v.signature)!.hits++;
      return;
    }
    const again = await this.#evaluate(value.value, true);
    if (again === null || again.signature !== v.signature) return; // not reproducible: no finding
    const r = await shrink(
      this.#arb,
      value,
      again,
      (c) => this.#evaluate(c, true),
      this.#shrinkBudget(),
    );
    const extra: Partial<Finding> = {};
    if (r.verdict.oracle === "inconsistent") extra.baseline = wholeCase(r.case);
    this.#add(n, r.case, r.verdict, true, extra);
  }

  /** The target stopped accepting (or the spawned process exited). */
  async #onCrash(): Promise<void> {
    const m = this.#monitor;
    if (m !== null && this.#exitSeen === null && m.pid !== null && !(await this.#targetDown())) {
      return; // an earlier report of the same crash already restarted the target
    }
    const exit = m !== null ? (this.#exitSeen ?? (await m.waitExit(500))) : null;
    const suspects = [...this.#inFlightCases.entries()].map(([n, value]) => ({ n, value }));
    const window = 2 * Math.max(1, this.#o.concurrency) + 2;
    suspects.push(...this.#recent.slice(-window).reverse());
    const signature = `crash:${exit !== null ? describeExit(exit) : "refused"}`;
    const base: Verdict = {
      oracle: "crash",
      signature,
      observed:
        exit !== null
          ? `the target exited (${describeExit(exit)})`
          : "the target stopped accepting connections",
      expected: "the target keeps running and accepting connections",
    };
    if (m === null) {
      const last = suspects[0];
      if (last !== undefined) this.#add(last.n, last.value.value, base, false);
      this.#stop = "the target stopped accepting connections (no --spawn to restart it)";
      return;
    }
    const known = this.#findings.get(signature);
    if (known !== undefined) {
      known.hits++;
      await this.#restart();
      return;
    }
    // Find the case that crashes it: replay the suspects one by one on a fresh target.
    for (const s of suspects) {
      const v = await this.#crashes(s.value.value);
      if (v === null) continue;
      const r = await shrink(
        this.#arb,
        s.value,
        v,
        (c) => this.#crashes(c),
        this.#shrinkBudget(),
        (x) => x.oracle === "crash",
      );
      const extra: Partial<Finding> = this.#lastExit !== null ? { exit: this.#lastExit } : {};
      this.#add(s.n, r.case, { ...r.verdict, signature }, true, extra);
      break;
    }
    await this.#restart();
  }

  #lastExit: ExitInfo | null = null;

  async #restart(): Promise<boolean> {
    const m = this.#monitor;
    if (m === null) return false;
    this.#exitSeen = null;
    const ok = await m.restart();
    this.#exitSeen = null;
    if (!ok) this.#stop = "the spawned target did not come back after a restart";
    return ok;
  }

  /** Runs `c` on a running spawned target; a crash verdict if the target exits or stops accepting. */
  async #crashes(c: FuzzCase): Promise<Verdict | null> {
    const m = this.#monitor as ProcessMonitor;
    if (m.exit !== null || this.#exitSeen !== null || m.pid === null) {
      if (!(await this.#restart())) return null;
    }
    const o = this.#o;
    const a = analyze(o.model, c.bytes);
    await runOverNet(o.target, o.model, c, waitRule(a, c.halfClose), o.timeoutMs);
    const exit = await m.waitExit(Math.min(50, o.timeoutMs));
    let down = exit !== null;
    if (!down) {
      const s = await connectTo(o.target, o.timeoutMs);
      if (typeof s === "string") down = true;
      else s.destroy();
    }
    if (!down) return null;
    const info = exit ?? (await m.waitExit(200));
    this.#lastExit = info;
    return {
      oracle: "crash",
      signature: `crash:${info !== null ? describeExit(info) : "refused"}`,
      observed:
        info !== null
          ? `the target exited (${describeExit(info)}); stderr: ${info.stderrTail.trim().split("\n").slice(-3).join(" / ")}`
          : "the target stopped accepting connections",
      expected: "the target keeps running and accepting connections",
    };
  }

  /** The probe failed: a case since the last good probe broke the target for everyone. */
  async #onLiveness(): Promise<void> {
    const suspects = this.#suspects.slice().reverse();
    this.#suspects = [];
    const observed = this.#lastProbe !== null ? describeOutcome(this.#lastProbe) : "no reply";
    const base: Verdict = {
      oracle: "liveness",
      signature: "liveness",
      observed: `the probe got ${observed}`,
      expected: this.#probeExpected(),
    };
    if (this.#monitor === null) {
      const last = suspects[0];
      if (last !== undefined) this.#add(last.n, last.value.value, base, false);
      this.#stop = "the target stopped answering the probe (no --spawn to restart it)";
      return;
    }
    for (const s of suspects) {
      const v = await this.#breaksProbe(s.value.value);
      if (v === null) continue;
      const r = await shrink(
        this.#arb,
        s.value,
        v,
        (c) => this.#breaksProbe(c),
        this.#shrinkBudget(),
        (x) => x.oracle === "liveness",
      );
      this.#add(s.n, r.case, r.verdict, true);
      break;
    }
    await this.#restart();
  }

  /** On a fresh target: runs `c`, then the probe; a liveness verdict if the probe fails. */
  async #breaksProbe(c: FuzzCase): Promise<Verdict | null> {
    if (!(await this.#restart())) return null;
    const o = this.#o;
    const a = analyze(o.model, c.bytes);
    await runOverNet(o.target, o.model, c, waitRule(a, c.halfClose), o.timeoutMs);
    const ok = await this.#probeOk(1);
    if (ok === "ok") return null;
    return {
      oracle: "liveness",
      signature: "liveness",
      observed: `after this case the probe got ${this.#lastProbe !== null ? describeOutcome(this.#lastProbe) : "no connection"}`,
      expected: this.#probeExpected(),
    };
  }

  /** The target's memory went over `--max-rss`: find and shrink the case that does it. */
  async #onMemory(rss: number): Promise<void> {
    const suspects = [...this.#recent].reverse();
    for (const s of suspects.slice(0, 16)) {
      const v = await this.#grows(s.value.value);
      if (v === null) continue;
      const r = await shrink(
        this.#arb,
        s.value,
        v,
        (c) => this.#grows(c),
        this.#shrinkBudget(),
        (x) => x.oracle === "memory",
      );
      this.#add(s.n, r.case, r.verdict, true);
      await this.#restart();
      return;
    }
    // Growth no single case explains (accumulated): report the last case, unshrunk.
    const last = suspects[0];
    if (last !== undefined) {
      this.#add(
        last.n,
        last.value.value,
        {
          oracle: "memory",
          signature: "memory:accumulated",
          observed: `the target's processes hold ${rss.toFixed(0)} MiB`,
          expected: `at most ${this.#o.maxRssMiB} MiB (--max-rss)`,
        },
        false,
      );
    }
    await this.#restart();
  }

  /** On a fresh target: runs `c` and samples its memory for a while; a memory verdict over the limit. */
  async #grows(c: FuzzCase): Promise<Verdict | null> {
    if (!(await this.#restart())) return null;
    const o = this.#o;
    const m = this.#monitor as ProcessMonitor;
    const a = analyze(o.model, c.bytes);
    let peak = 0;
    const timer = setInterval(() => {
      peak = Math.max(peak, m.rssMiB());
    }, 20);
    try {
      await runOverNet(o.target, o.model, c, waitRule(a, c.halfClose), o.timeoutMs);
      await new Promise((r) => setTimeout(r, 50));
      peak = Math.max(peak, m.rssMiB());
    } finally {
      clearInterval(timer);
    }
    if (peak <= (o.maxRssMiB ?? Number.POSITIVE_INFINITY)) return null;
    return {
      oracle: "memory",
      signature: "memory",
      observed: `the target's processes grew to ${peak.toFixed(0)} MiB`,
      expected: `at most ${o.maxRssMiB} MiB (--max-rss)`,
    };
  }
}
