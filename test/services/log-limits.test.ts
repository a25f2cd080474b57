/**
 * The front-ends' log helpers: peer faults are warn records without stacks or messages, with a
 * short escaped excerpt, rate-limited per (service, protocol, code) with one summary per interval;
 * our own faults keep the error (and its stack) at error; connection records are rate-limited too.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Clock } from "../../src/core/clock.js";
import { UnknownTransformError } from "../../src/services/errors.js";
import {
  CONNECTIONS_PER_INTERVAL,
  EXCERPT_BYTES,
  excerpt,
  flushLogLimits,
  LOG_INTERVAL,
  limitsOf,
  logConnection,
  logPeerFault,
  logServiceFault,
  PEER_FAULTS_PER_INTERVAL,
  type ServiceLogger,
} from "../../src/services/log.js";

interface Rec {
  level: "debug" | "info" | "warn" | "error";
  obj: Record<string, unknown>;
  msg: string | undefined;
}

function recorder(): { logger: ServiceLogger; records: Rec[]; clock: Clock } {
  const records: Rec[] = [];
  const at =
    (level: Rec["level"]) =>
    (obj: object, msg?: string): void =>
      void records.push({ level, obj: obj as Record<string, unknown>, msg });
  const logger: ServiceLogger = {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    isLevelEnabled: (level) => level !== "debug",
  };
  const clock = new Clock();
  limitsOf(logger, clock);
  return { logger, records, clock };
}

const conn = { transport: { getPeer: () => ({ host: "127.0.0.1", port: 4242 }) } };

describe("excerpt", () => {
  it("keeps printable ASCII, escapes the rest, and never returns the whole of a long input", () => {
    expect(excerpt("upper")).toBe("upper");
    expect(excerpt(new Uint8Array([0x61, 0x0d, 0x0a, 0x00, 0xff, 0x5c]))).toBe(
      "a\\x0d\\x0a\\x00\\xff\\\\",
    );
    expect(excerpt("é€")).toBe("\\xe9\\u20ac");
    expect(excerpt("x".repeat(1000))).toBe(
      `${"x".repeat(EXCERPT_BYTES)}…(+${1000 - EXCERPT_BYTES})`,
    );
  });

  it("property: bounded length, one line, printable ASCII only", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 200 }), fc.uint8Array({ maxLength: 200 })),
        (input) => {
          const e = excerpt(input);
          expect(e.length).toBeLessThanOrEqual(EXCERPT_BYTES * 6 + 16);
          expect(/^[\x20-\x7e…]*$/.test(e)).toBe(true);
        },
      ),
    );
  });
});

describe("logPeerFault", () => {
  it("logs warn with code, peer and excerpt — no error object, no message of the peer's", () => {
    const { logger, records } = recorder();
    const err = UnknownTransformError.forName("evil\r\nname");
    logPeerFault(
      logger,
      { service: "transform", protocol: "netstring", conn, error: err, input: "evil\r\nname" },
      "transform refused",
    );
    expect(records).toEqual([
      {
        level: "warn",
        obj: {
          service: "transform",
          protocol: "netstring",
          code: "ERR_UNKNOWN_TRANSFORM",
          peer: "127.0.0.1:4242",
          input: "evil\\x0d\\x0aname",
        },
        msg: "transform refused",
      },
    ]);
  });

  it(`lets ${PEER_FAULTS_PER_INTERVAL} per kind and interval through, then one summary per interval`, () => {
    const { logger, records, clock } = recorder();
    const fault = (code: string) =>
      logPeerFault(logger, { service: "s", protocol: "p", error: code }, "bad");
    for (let i = 0; i < 100; i++) fault("ERR_A");
    fault("ERR_B");
    expect(records.filter((r) => r.msg === "bad")).toHaveLength(PEER_FAULTS_PER_INTERVAL + 1);
    clock.advance(LOG_INTERVAL);
    const summaries = records.filter((r) => r.msg?.startsWith("suppressed"));
    expect(summaries).toEqual([
      {
        level: "warn",
        obj: {
          suppressed: 100 - PEER_FAULTS_PER_INTERVAL,
          kind: "s/p/ERR_A",
          interval: LOG_INTERVAL,
        },
        msg: `suppressed ${100 - PEER_FAULTS_PER_INTERVAL} similar peer faults in ${LOG_INTERVAL}s`,
      },
    ]);
    fault("ERR_A");
    expect(records.at(-1)?.msg).toBe("bad");
  });

  it("logs nothing (and keeps no limits) when warn is off", () => {
    const records: Rec[] = [];
    const logger: ServiceLogger = {
      debug: () => undefined,
      info: () => undefined,
      warn: (obj) =>
        void records.push({ level: "warn", obj: obj as Record<string, unknown>, msg: "" }),
      error: () => undefined,
      isLevelEnabled: () => false,
    };
    logPeerFault(logger, { service: "s", protocol: "p", error: "ERR_X" }, "bad");
    expect(records).toEqual([]);
  });
});

describe("logServiceFault", () => {
  it("keeps our own faults at error with the error itself (and so its stack)", () => {
    const { logger, records } = recorder();
    const err = new TypeError("a bug of ours");
    logServiceFault(logger, { service: "transform", protocol: "netstring", conn }, err, "failed");
    expect(records).toEqual([
      {
        level: "error",
        obj: { service: "transform", protocol: "netstring", err, peer: "127.0.0.1:4242" },
        msg: "failed",
      },
    ]);
  });
});

describe("logConnection", () => {
  it(`is rate-limited per event, service and protocol (${CONNECTIONS_PER_INTERVAL} per interval); flush writes the summary`, () => {
    const { logger, records, clock } = recorder();
    for (let i = 0; i < 50; i++) logConnection(logger, "connection made", "poetry", "fast", conn);
    logConnection(logger, "connection lost", "poetry", "fast", conn, new Error("gone"));
    expect(records.filter((r) => r.msg === "connection made")).toHaveLength(
      CONNECTIONS_PER_INTERVAL,
    );
    expect(records.filter((r) => r.msg === "connection lost")).toHaveLength(1);
    flushLogLimits(logger);
    expect(records.at(-1)).toEqual({
      level: "info",
      obj: {
        suppressed: 50 - CONNECTIONS_PER_INTERVAL,
        kind: "connection made/poetry/fast",
        interval: LOG_INTERVAL,
      },
      msg: `suppressed ${50 - CONNECTIONS_PER_INTERVAL} similar connection records in ${LOG_INTERVAL}s`,
    });
    expect(clock.getDelayedCalls()).toHaveLength(0);
  });
});
