/**
 * ShapeReceiver on a memory transport: typed frames, Twisted's limit hook, framing errors, the
 * discard mode, PostgreSQL's mid-stream switch (driven by the captured psql conversation),
 * sending, and pause/resume.
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeFrame } from "../../../src/protocols/shapes/encoder.js";
import type { ShapeError } from "../../../src/protocols/shapes/errors.js";
import {
  PG_PROTOCOL_3_0,
  PG_SSL_REQUEST,
  postgres,
} from "../../../src/protocols/shapes/presets.js";
import { ShapeReceiver } from "../../../src/protocols/shapes/receiver.js";
import { defineShape, type ShapeFrame, uint } from "../../../src/protocols/shapes/shape.js";
import { chunked } from "../../../src/testing/arbitraries.js";
import { MemoryTransport } from "../../../src/testing/memory.js";
import { hex, toHex } from "./helpers.js";

const kv = defineShape({
  before: [uint("op")],
  length: { bytes: 2, endian: "little" },
  maxLength: 8,
});

class Kv extends ShapeReceiver<typeof kv> {
  override shape = kv;
  frames: string[] = [];
  limits: number[] = [];
  errors: ShapeError[] = [];
  override frameReceived(frame: ShapeFrame<typeof kv>): void {
    this.frames.push(`${frame.op}:${toHex(frame.payload)}`);
  }
  override lengthLimitExceeded(length: number): void {
    this.limits.push(length);
    super.lengthLimitExceeded(length);
  }
  override framingError(error: ShapeError): void {
    this.errors.push(error);
    super.framingError(error);
  }
}

function connected<P extends ShapeReceiver>(p: P): { p: P; t: MemoryTransport } {
  const t = new MemoryTransport();
  p.makeConnection(t);
  return { p, t };
}

describe("ShapeReceiver", () => {
  it("delivers typed frames; a subclass declares its shape with no cast", () => {
    const { p } = connected(new Kv());
    p.dataReceived(hex("01 0200 aabb 02 00"));
    p.dataReceived(hex("00"));
    expect(p.frames).toEqual(["1:aabb", "2:"]);
  });

  it("calls lengthLimitExceeded as soon as the length is in, then delivers nothing more", () => {
    const { p, t } = connected(new Kv());
    p.dataReceived(hex("01 0100 aa 01 0900"));
    expect(p.limits).toEqual([9]);
    expect(t.disconnecting).toBe(true);
    p.dataReceived(hex("01 0100 bb"));
    expect(p.frames).toEqual(["1:aa"]);
    expect(p.bufferedBytes).toBe(0);
  });

  it("stops delivering frames of the same chunk once the transport is disconnecting", () => {
    class Closer extends Kv {
      override frameReceived(frame: ShapeFrame<typeof kv>): void {
        super.frameReceived(frame);
        this.transport.loseConnection();
      }
    }
    const { p } = connected(new Closer());
    p.dataReceived(hex("01 0100 aa 01 0100 bb"));
    expect(p.frames).toEqual(["1:aa"]);
  });

  it("reports other malformations to framingError", () => {
    const checked = defineShape({ length: 1, lengthCounts: "length+rest" });
    class R extends ShapeReceiver<typeof checked> {
      override shape = checked;
      errors: string[] = [];
      override framingError(error: ShapeError): void {
        this.errors.push(error.kind);
        super.framingError(error);
      }
    }
    const { p, t } = connected(new R());
    p.dataReceived(hex("00"));
    expect(p.errors).toEqual(["length too short"]);
    expect(t.disconnecting).toBe(true);
  });

  it("discard mode: too-long frames go to frameDiscarded and the connection carries on", () => {
    const lax = defineShape({ length: 1, maxLength: 2, tooLong: "discard" });
    class R extends ShapeReceiver<typeof lax> {
      override shape = lax;
      got: string[] = [];
      override frameReceived(f: ShapeFrame<typeof lax>): void {
        this.got.push(toHex(f.payload));
      }
      override frameDiscarded(e: ShapeError): void {
        this.got.push(`discarded ${e.length}`);
      }
    }
    const { p, t } = connected(new R());
    p.dataReceived(hex("01aa 05 0102"));
    p.dataReceived(hex("030405 01bb"));
    expect(p.got).toEqual(["aa", "discarded 5", "bb"]);
    expect(t.disconnecting).toBe(false);
  });

  it("sendFrame writes the current shape; sendFrameWith another; big payloads as pieces", () => {
    const { p, t } = connected(new Kv());
    p.sendFrame({ op: 7, payload: "hi" });
    expect(toHex(t.value())).toBe("070200" + "6869");
    t.clear();
    const big = new Uint8Array(5000).fill(1);
    const wide = defineShape({ length: 4 });
    p.sendFrameWith(wide, { payload: big });
    expect(toHex(t.value().subarray(0, 4))).toBe("00001388");
    expect(t.value().length).toBe(5004);
  });

  it("pauseProducing holds frames and pauses the transport; resumeProducing delivers them", () => {
    const { p, t } = connected(new Kv());
    p.pauseProducing();
    p.dataReceived(hex("01 0100 aa"));
    expect(p.frames).toEqual([]);
    expect(t.producerState).toBe("paused");
    expect(p.bufferedBytes).toBe(4);
    p.resumeProducing();
    expect(p.frames).toEqual(["1:aa"]);
    p.stopProducing();
    p.dataReceived(hex("01 0100 bb"));
    expect(p.frames).toEqual(["1:aa"]);
  });
});

describe("a PostgreSQL front-end: startup shape, the unframed SSL answer, then typed messages", () => {
  const client = Uint8Array.from(
    readFileSync(new URL("./fixtures/postgres.client.bin", import.meta.url)),
  );

  type PgShape = typeof postgres.startup | typeof postgres.message;

  class PgServer extends ShapeReceiver<PgShape> {
    override shape: PgShape = postgres.startup;
    log: string[] = [];
    override frameReceived(frame: ShapeFrame<PgShape>): void {
      if ("code" in frame) {
        if (frame.code === PG_SSL_REQUEST) {
          this.log.push("SSLRequest");
          // No TLS here: answer 'N', one unframed byte (a fixed-size shape), and stay in startup.
          this.sendFrameWith(postgres.sslAnswer, { answer: 0x4e, payload: new Uint8Array(0) });
        } else if (frame.code === PG_PROTOCOL_3_0) {
          this.log.push("StartupMessage");
          this.setShape(postgres.message);
          this.sendFrameWith(postgres.message, { type: 0x52, payload: hex("00000000") }); // AuthenticationOk
          this.sendFrameWith(postgres.message, { type: 0x5a, payload: "I" }); // ReadyForQuery
        }
      } else {
        this.log.push(String.fromCharCode(frame.type));
      }
    }
  }

  it("follows psql's real conversation, whatever the chunking", () => {
    fc.assert(
      fc.property(chunked(client), (chunks) => {
        const { p, t } = connected(new PgServer());
        for (const c of chunks) p.dataReceived(c);
        expect(p.log).toEqual(["SSLRequest", "StartupMessage", "Q", "X"]);
        const wire = t.value();
        expect(wire[0]).toBe(0x4e);
        expect(toHex(wire.subarray(1))).toBe(
          toHex(encodeFrame(postgres.message, { type: 0x52, payload: hex("00000000") })) +
            toHex(encodeFrame(postgres.message, { type: 0x5a, payload: "I" })),
        );
      }),
      { numRuns: 100 },
    );
  });
});
