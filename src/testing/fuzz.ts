/**
 * In-process fuzzing for your own test suite: the generators and oracles of `weft fuzz`, driven
 * against a Protocol on a {@link MemoryTransport} with the manual {@link Clock} (no sockets, no real
 * time), or against a sans-I/O decoder. Each returns a fast-check property: run it with `fc.assert`
 * (seeded, shrunk to the fewest bytes, then the fewest chunks).
 *
 * Fuzzing your own length-prefixed protocol:
 *
 * ```ts
 * import fc from "fast-check";
 * import { Int16StringReceiver } from "weft";
 * import { fuzzProtocol } from "weft/testing";
 *
 * class Upper extends Int16StringReceiver {
 *   override stringReceived(data: Uint8Array): void {
 *     this.sendString(new TextDecoder().decode(data).toUpperCase());
 *   }
 * }
 *
 * it("survives anything", () => {
 *   fc.assert(fuzzProtocol(() => new Upper(), { framing: "length-prefixed", prefix: 2 }), { numRuns: 500 });
 * });
 * ```
 *
 * A failing case throws from `fc.assert` with the oracle (`crash`, `hang`, `accepted-malformed`,
 * `malformed-reply`, `inconsistent`, `liveness`), what the protocol did and what was expected.
 */
import fc from "fast-check";
import { Clock } from "../core/clock.js";
import { ConnectionDone } from "../core/errors.js";
import type { Address } from "../core/interfaces.js";
import type { Protocol } from "../core/protocol.js";
import { caseArb, type FuzzCase } from "../fuzz/cases.js";
import { sameOutcome } from "../fuzz/differential.js";
import { escapeBytes } from "../fuzz/escapes.js";
import {
  analyze,
  decodeFrames,
  type FramingModel,
  type FramingName,
  isCompleteRequest,
  withoutStacks,
} from "../fuzz/framing.js";
import { type FramingOptions, framingModel } from "../fuzz/framings/index.js";
import { describeOutcome, judge, type Verdict } from "../fuzz/oracles.js";
import type { Outcome } from "../fuzz/outcome.js";
import type { Decoder, DecoderFactory } from "../protocols/framing/decoder.js";
import { MemoryTransport } from "./memory.js";

/** Options of {@link fuzzProtocol} and {@link fuzzDecoder}. */
export interface InProcessFuzzOptions extends FramingOptions {
  /** The framing: a name (with the {@link FramingOptions}) or a model of your own. */
  framing: FramingName | FramingModel;
  /** A known-good request: its frames seed structure-aware mutations, and it checks liveness. */
  probe?: Uint8Array;
  /** A reply to a malformed first frame is not a finding. Default false. */
  lenient?: boolean;
  /** Virtual time a case waits for the protocol to close or reply, in ms. Default 1000. */
  timeoutMs?: number;
  /** The clock your factory's protocols use for timers: it is advanced through the delays. */
  clock?: Clock;
}

/** What builds the protocol under test: a factory (its `buildProtocol`) or a function. */
export type ProtocolSource = { buildProtocol(addr: Address): Protocol | null } | (() => Protocol);

/** A fuzz finding thrown from a property (fast-check reports it with the shrunk case). */
export class FuzzFindingError extends Error {
  /** What fired. */
  readonly verdict: Verdict;
  constructor(verdict: Verdict, c: FuzzCase) {
    super(
      `${verdict.oracle}: sent "${escapeBytes(c.bytes, 200)}" in chunks [${c.chunks.join(", ")}]` +
        `${c.delays.some((d) => d > 0) ? ` with delays [${c.delays.join(", ")}] ms` : ""}` +
        `${c.halfClose ? ", then half-closed" : ""}; observed ${verdict.observed}; expected ${verdict.expected}`,
    );
    this.verdict = verdict;
    this.name = "FuzzFindingError";
  }
}

function modelOf(o: InProcessFuzzOptions): FramingModel {
  return typeof o.framing === "string" ? framingModel(o.framing, o) : o.framing;
}

/** One clean-close reason for every case (an error per case would cost more than the case). */
const DONE = new ConnectionDone();

const PEER: Address = { type: "TCP", host: "192.0.2.1", port: 40000 };

/** Runs `c` against a fresh protocol; a crash verdict if anything throws out of it. */
function runInMemory(
  source: ProtocolSource,
  c: FuzzCase,
  clock: Clock,
  timeoutMs: number,
): Outcome | Verdict {
  const transport = new MemoryTransport({ lenient: true });
  let p: Protocol | null;
  try {
    p = typeof source === "function" ? source() : source.buildProtocol(PEER);
    if (p === null) {
      return {
        reply: new Uint8Array(0),
        closed: true,
        reset: false,
        timedOut: false,
        connectError: null,
      };
    }
    p.makeConnection(transport);
    let offset = 0;
    for (let i = 0; i < c.chunks.length; i++) {
      const d = c.delays[i] ?? 0;
      if (d > 0) clock.advance(d / 1000);
      if (transport.disconnecting) break;
      const n = c.chunks[i] as number;
      p.dataReceived(c.bytes.slice(offset, offset + n));
      offset += n;
    }
    if (!transport.disconnecting) clock.advance(timeoutMs / 1000);
    const closedByIt = transport.disconnecting;
    if (c.halfClose || closedByIt) p.connectionLost(DONE);
    return {
      reply: transport.value().slice(),
      closed: closedByIt,
      reset: false,
      timedOut: !closedByIt && !c.halfClose,
      connectError: null,
    };
  } catch (err) {
    return {
      oracle: "crash",
      signature: "crash:throw",
      observed: `threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`,
      expected: "nothing a peer sends throws out of the protocol",
    };
  }
}

function isVerdict(x: Outcome | Verdict): x is Verdict {
  return "oracle" in x;
}

/**
 * A fast-check property that fuzzes the protocols `source` builds (one per case, as a server does
 * per connection) with the `weft fuzz` generators and oracles; see the module example.
 */
export function fuzzProtocol(
  source: ProtocolSource,
  options: InProcessFuzzOptions,
): fc.IPropertyWithHooks<[FuzzCase]> {
  const model = modelOf(options);
  const clock = options.clock ?? new Clock();
  const timeoutMs = options.timeoutMs ?? 1000;
  const lenient = options.lenient ?? false;
  const probe = options.probe;
  let probeReply: Outcome | null = null;
  const probeCase = (bytes: Uint8Array): FuzzCase => ({
    bytes,
    chunks: [bytes.length],
    delays: [0],
    halfClose: false,
    label: "probe",
  });
  const arb = caseArb(
    model,
    { probeFrames: probe !== undefined ? decodeFrames(model, probe) : [], corpus: [] },
    Math.min(50, timeoutMs / 4),
  );
  return fc.property(arb, (c) => withoutStacks(() => checkCase(c)));
  function checkCase(c: FuzzCase): void {
    if (probe !== undefined && probeReply === null) {
      const first = runInMemory(source, probeCase(probe), clock, timeoutMs);
      if (isVerdict(first)) throw new FuzzFindingError(first, probeCase(probe));
      probeReply = first;
    }
    const out = runInMemory(source, c, clock, timeoutMs);
    if (isVerdict(out)) throw new FuzzFindingError(out, c);
    const a = analyze(model, c.bytes);
    const v = judge(model, a, out, { lenient, timeoutMs });
    if (v !== null) throw new FuzzFindingError(v, c);
    if (a.frames === 1 && isCompleteRequest(a) && !c.halfClose && c.chunks.length > 1) {
      const whole = runInMemory(source, probeCase(c.bytes), clock, timeoutMs);
      if (!isVerdict(whole) && !sameOutcome(out, whole)) {
        throw new FuzzFindingError(
          {
            oracle: "inconsistent",
            signature: "inconsistent",
            observed: describeOutcome(out),
            expected: `${describeOutcome(whole)} (as when the request is sent in one chunk)`,
          },
          c,
        );
      }
    }
    if (probe !== undefined && probeReply !== null) {
      const again = runInMemory(source, probeCase(probe), clock, timeoutMs);
      if (isVerdict(again) || !sameOutcome(again, probeReply)) {
        throw new FuzzFindingError(
          {
            oracle: "liveness",
            signature: "liveness",
            observed: `after this case the probe got ${isVerdict(again) ? again.observed : describeOutcome(again)}`,
            expected: describeOutcome(probeReply),
          },
          c,
        );
      }
    }
  }
}

/** What a decoder did with a whole input. */
interface DecoderRun {
  frames: number;
  errors: number;
  afterError: number;
  threw: string | null;
}

function runDecoder<F>(
  factory: DecoderFactory<F>,
  bytes: Uint8Array,
  chunks: number[],
): DecoderRun {
  const r: DecoderRun = { frames: 0, errors: 0, afterError: 0, threw: null };
  let d: Decoder;
  try {
    d = factory({
      onFrame() {
        if (r.errors > 0) r.afterError++;
        else r.frames++;
      },
      onError() {
        r.errors++;
      },
    });
    let offset = 0;
    for (const n of chunks) {
      d.feed(bytes.slice(offset, offset + n));
      offset += n;
    }
    d.end();
  } catch (err) {
    r.threw = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  }
  return r;
}

/**
 * A fast-check property that fuzzes a sans-I/O decoder of the framing: fed any case in any
 * chunking, it must never throw, report at most one error and nothing after it, deliver the same
 * frames as weft's own decoder of the grammar before the same verdict (an error exactly when the
 * input is malformed or unfinished), whatever the chunking.
 */
export function fuzzDecoder<F>(
  factory: DecoderFactory<F>,
  options: InProcessFuzzOptions,
): fc.IPropertyWithHooks<[FuzzCase]> {
  const model = modelOf(options);
  const probe = options.probe;
  const arb = caseArb(
    model,
    { probeFrames: probe !== undefined ? decodeFrames(model, probe) : [], corpus: [] },
    0,
  );
  return fc.property(arb, (c) => {
    const r = withoutStacks(() => runDecoder(factory, c.bytes, c.chunks));
    const a = analyze(model, c.bytes);
    const fail = (oracle: Verdict["oracle"], observed: string, expected: string) => {
      throw new FuzzFindingError({ oracle, signature: oracle, observed, expected }, c);
    };
    if (r.threw !== null) fail("crash", `threw ${r.threw}`, "no throw, whatever the bytes");
    if (r.errors > 1 || r.afterError > 0)
      fail(
        "malformed-reply",
        `${r.errors} errors, ${r.afterError} frames after the first error`,
        "at most one error, nothing after it",
      );
    const bad = a.error !== null || a.partial;
    if (bad && r.errors === 0)
      fail(
        "accepted-malformed",
        `${r.frames} frames and no error`,
        `${a.frames} frames, then an error (${a.error ?? "unfinished frame"})`,
      );
    if (!bad && r.errors > 0)
      fail(
        "inconsistent",
        `an error after ${r.frames} frames`,
        `${a.frames} valid frames, no error`,
      );
    if (r.frames !== a.frames)
      fail(
        "inconsistent",
        `${r.frames} frames`,
        `${a.frames} frames (as the grammar's decoder delivers)`,
      );
  });
}
