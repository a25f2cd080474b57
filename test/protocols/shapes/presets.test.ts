/**
 * Conformance of the ready-made shapes against real bytes: conversations captured once from real
 * clients and servers (fixtures/, see fixtures/RECAPTURE.md: psql ↔ PostgreSQL 15,
 * mosquitto_pub ↔ mosquitto 2, dig +tcp ↔ dnsmasq), and bytes produced live by Node's TLS
 * (OpenSSL) and HTTP/2 (nghttp2) clients on a loopback socket.
 */
import { readFileSync } from "node:fs";
import { connect as connectHttp2 } from "node:http2";
import { createServer, type Server, type Socket } from "node:net";
import { connect as connectTls } from "node:tls";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { ShapeDecoder } from "../../../src/protocols/shapes/decoder.js";
import { encodeFrame } from "../../../src/protocols/shapes/encoder.js";
import {
  dnsTcp,
  http2,
  mqtt,
  PG_PROTOCOL_3_0,
  PG_SSL_REQUEST,
  postgres,
  tlsRecord,
} from "../../../src/protocols/shapes/presets.js";
import { defineShape, magic, type Shape } from "../../../src/protocols/shapes/shape.js";
import { chunked } from "../../../src/testing/arbitraries.js";
import { plain, run, toHex } from "./helpers.js";

const fixture = (name: string): Uint8Array =>
  Uint8Array.from(readFileSync(new URL(`./fixtures/${name}`, import.meta.url)));

const ascii = (s: string): string => Buffer.from(s, "latin1").toString("hex");
const letter = (c: string): number => c.charCodeAt(0);

/** Decodes a stream whose shape changes after given frames: `next(frame, index)` names the next. */
function decodeSwitching(
  first: Shape,
  chunks: readonly Uint8Array[],
  next: (frame: Record<string, number | string>, index: number) => Shape | null,
): { frames: Array<Record<string, number | string>>; errors: Error[] } {
  const frames: Array<Record<string, number | string>> = [];
  const errors: Error[] = [];
  const d: ShapeDecoder = new ShapeDecoder<object>(
    {
      onFrame(f) {
        const p = plain(f);
        frames.push(p);
        const s = next(p, frames.length - 1);
        if (s !== null) d.setShape(s);
      },
      onError: (e) => errors.push(e),
    },
    first,
  );
  for (const c of chunks) d.feed(c.slice());
  d.end();
  return { frames, errors };
}

describe("PostgreSQL (psql ↔ PostgreSQL 15)", () => {
  const client = fixture("postgres.client.bin");
  const server = fixture("postgres.server.bin");

  /** Server side: startup-shaped until the StartupMessage, typed messages after it. */
  const frontend = (chunks: readonly Uint8Array[]) =>
    decodeSwitching(postgres.startup, chunks, (f) =>
      f["code"] === PG_PROTOCOL_3_0 ? postgres.message : null,
    );
  /** Client side: the one unframed answer to its SSLRequest, then typed messages. */
  const backend = (chunks: readonly Uint8Array[]) =>
    decodeSwitching(postgres.sslAnswer, chunks, () => postgres.message);

  it("the client's stream: SSLRequest, StartupMessage (no type byte), then typed messages", () => {
    const { frames, errors } = frontend([client]);
    expect(errors).toEqual([]);
    expect(frames[0]).toEqual({ code: PG_SSL_REQUEST, payload: "" });
    expect(frames[1]?.["code"]).toBe(PG_PROTOCOL_3_0);
    expect(Buffer.from(String(frames[1]?.["payload"]), "hex").toString("latin1")).toContain(
      "user\0weft\0database\0postgres\0",
    );
    const typed = frames.slice(2);
    expect(typed.map((f) => String.fromCharCode(Number(f["type"])))).toEqual(["Q", "X"]);
    expect(typed[0]?.["payload"]).toBe(ascii("select 1 as one, 'hello' as greeting\0"));
    expect(typed[1]?.["payload"]).toBe("");
  });

  it("the server's stream: 'N' (unframed), then R, S…, K, Z, T, D, C, Z", () => {
    const { frames, errors } = backend([server]);
    expect(errors).toEqual([]);
    expect(frames[0]).toEqual({ answer: letter("N"), payload: "" });
    const types = frames.slice(1).map((f) => String.fromCharCode(Number(f["type"])));
    expect(types[0]).toBe("R"); // AuthenticationOk
    expect(types.filter((t) => t === "S").length).toBeGreaterThan(5); // ParameterStatus
    expect(types.slice(-6)).toEqual(["K", "Z", "T", "D", "C", "Z"]);
    const row = frames.find((f) => f["type"] === letter("D"))!;
    // DataRow: 2 columns, "1" and "hello".
    expect(row["payload"]).toBe(`0002 00000001 31 00000005 ${ascii("hello")}`.replace(/ /g, ""));
  });

  it("any chunking of either stream gives the same messages", () => {
    const a = frontend([client]).frames;
    const b = backend([server]).frames;
    fc.assert(
      fc.property(chunked(client), chunked(server), (cc, sc) => {
        expect(frontend(cc).frames).toEqual(a);
        expect(backend(sc).frames).toEqual(b);
      }),
      { numRuns: 100 },
    );
  });

  it("the encoder rebuilds both streams byte for byte", () => {
    const out: Uint8Array[] = [];
    for (const f of frontend([client]).frames) {
      const payload = Buffer.from(String(f["payload"]), "hex");
      out.push(
        f["type"] === undefined
          ? encodeFrame(postgres.startup, { code: Number(f["code"]), payload })
          : encodeFrame(postgres.message, { type: Number(f["type"]), payload }),
      );
    }
    expect(toHex(Buffer.concat(out))).toBe(toHex(client));
  });

  it("a startup packet over the server's 10000-byte limit fails before its body", () => {
    const r = run(postgres.startup, [Uint8Array.of(0, 0, 0x27, 0x11, 0, 3, 0, 0)], false);
    expect(r.errors[0]).toMatchObject({ kind: "length too long", length: 10001 - 8 });
    expect(run(postgres.message, [Uint8Array.of(0x51, 0, 0, 0, 3)]).errors[0]?.kind).toBe(
      "length too short",
    );
  });
});

describe("MQTT (mosquitto_pub ↔ mosquitto 2)", () => {
  const client = fixture("mqtt.client.bin");
  const server = fixture("mqtt.server.bin");

  it("client: CONNECT, PUBLISH ×2 (QoS 1, one with a 2-byte remaining length), DISCONNECT", () => {
    const r = run(mqtt, [client]);
    expect(r.errors).toEqual([]);
    expect(r.frames.map((f) => [f["type"], f["flags"]])).toEqual([
      [1, 0],
      [3, 2],
      [3, 2],
      [14, 0],
    ]);
    expect(String(r.frames[0]?.["payload"]).startsWith(`0004${ascii("MQTT")}`)).toBe(true);
    // "weft/test", packet id, "hello".
    expect(r.frames[1]?.["payload"]).toBe(`0009${ascii("weft/test")}0001${ascii("hello")}`);
    expect(String(r.frames[2]?.["payload"]).length / 2).toBe(2 + 9 + 2 + 300);
  });

  it("server: CONNACK, PUBACK ×2", () => {
    const r = run(mqtt, [server]);
    expect(r.errors).toEqual([]);
    expect(r.frames).toEqual([
      { type: 2, flags: 0, payload: "0000" },
      { type: 4, flags: 0, payload: "0001" },
      { type: 4, flags: 0, payload: "0002" },
    ]);
  });

  it("any chunking, and the encoder rebuilds the client's bytes", () => {
    const expected = run(mqtt, [client]).frames;
    fc.assert(
      fc.property(chunked(client), (chunks) => {
        expect(run(mqtt, chunks).frames).toEqual(expected);
      }),
      { numRuns: 100 },
    );
    const rebuilt = expected.map((f) =>
      encodeFrame(mqtt, {
        type: Number(f["type"]),
        flags: Number(f["flags"]),
        payload: Buffer.from(String(f["payload"]), "hex"),
      }),
    );
    expect(toHex(Buffer.concat(rebuilt))).toBe(toHex(client));
  });

  it("remaining length: at most 4 bytes, minimally encoded [MQTT-1.5.5-1], ≤ 268435455", () => {
    expect(run(mqtt, [Uint8Array.of(0x30, 0xff, 0xff, 0xff, 0x80)]).errors[0]?.kind).toBe(
      "overlong varint",
    );
    expect(run(mqtt, [Uint8Array.of(0x30, 0x80, 0x00)]).errors[0]?.kind).toBe("overlong varint");
    const max = run(
      mqtt.withLimit(268435455),
      [Uint8Array.of(0x30, 0xff, 0xff, 0xff, 0x7f)],
      false,
    );
    expect(max.errors).toEqual([]);
    expect(max.decoder.bufferedBytes).toBe(0);
    expect(run(mqtt.withLimit(100), [Uint8Array.of(0x30, 0xe5, 0x00)]).errors[0]?.kind).toBe(
      "length too long",
    );
  });
});

describe("DNS over TCP (dig +tcp ↔ dnsmasq)", () => {
  it("query and answer: the ID as a field, the whole message as payload", () => {
    const q = run(dnsTcp, [fixture("dns.client.bin")]);
    const a = run(dnsTcp, [fixture("dns.server.bin")]);
    expect(q.errors).toEqual([]);
    expect(a.errors).toEqual([]);
    expect(q.frames).toHaveLength(1);
    expect(a.frames).toHaveLength(1);
    const id = q.frames[0]!["id"];
    expect(a.frames[0]!["id"]).toBe(id);
    const msg = Buffer.from(String(a.frames[0]!["payload"]), "hex");
    expect(msg.readUInt16BE(0)).toBe(id);
    expect(msg.readUInt16BE(6)).toBe(1); // ANCOUNT
    expect(toHex(msg.subarray(-4))).toBe("c0000207"); // 192.0.2.7
    const rebuilt = encodeFrame(dnsTcp, { id: Number(id), payload: msg.subarray(2) });
    expect(toHex(rebuilt)).toBe(toHex(fixture("dns.server.bin")));
  });
});

/** Collects the bytes a client sends to a raw loopback server until `enough(bytes)` is true. */
let servers: Server[] = [];
afterEach(() => {
  for (const s of servers) s.close();
  servers = [];
});

function capture(
  start: (port: number) => { destroy(): void },
  enough: (bytes: Uint8Array) => boolean,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let client: { destroy(): void } | null = null;
    const timer = setTimeout(() => reject(new Error("no bytes within 10 s")), 10_000);
    const server = createServer((sock: Socket) => {
      sock.on("data", (d) => {
        parts.push(d);
        const all = Buffer.concat(parts);
        if (enough(all)) {
          clearTimeout(timer);
          sock.destroy();
          client?.destroy();
          resolve(Uint8Array.from(all));
        }
      });
      sock.on("error", () => {});
    });
    servers.push(server);
    server.listen(0, "127.0.0.1", () => {
      const addr = server.address();
      if (addr === null || typeof addr === "string") return reject(new Error("no port"));
      client = start(addr.port);
    });
  });
}

describe("TLS records (Node's TLS client, OpenSSL)", () => {
  it("frames a real ClientHello record", async () => {
    const bytes = await capture(
      (port) => {
        const s = connectTls({
          host: "127.0.0.1",
          port,
          servername: "weft.test",
          rejectUnauthorized: false,
        });
        s.on("error", () => {});
        return s;
      },
      (b) => b.length >= 5 && b.length >= 5 + ((b[3]! << 8) | b[4]!),
    );
    const r = run(tlsRecord, [bytes], false);
    expect(r.errors).toEqual([]);
    expect(r.frames[0]?.["type"]).toBe(22); // handshake
    expect([0x0301, 0x0303]).toContain(r.frames[0]?.["version"]);
    expect(String(r.frames[0]?.["payload"]).slice(0, 2)).toBe("01"); // ClientHello
    fc.assert(
      fc.property(chunked(bytes), (chunks) => {
        expect(run(tlsRecord, chunks, false).frames).toEqual(r.frames);
      }),
      { numRuns: 50 },
    );
    // A record over 2^14 + 2048 is refused at its header.
    expect(run(tlsRecord, [Uint8Array.of(23, 3, 3, 0x48, 0x01)], false).errors[0]?.kind).toBe(
      "length too long",
    );
  });
});

describe("HTTP/2 frame headers (Node's HTTP/2 client, nghttp2)", () => {
  /** The client connection preface: a fixed-size shape of 24 magic bytes, then frames. */
  const preface = defineShape({
    name: "http2 preface",
    before: [magic("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")],
    length: { fixed: 0 },
  });

  it("frames a real connection preface, SETTINGS and request HEADERS", async () => {
    const bytes = await capture(
      (port) => {
        const session = connectHttp2(`http://127.0.0.1:${port}`);
        session.on("error", () => {});
        const req = session.request({ ":path": "/weft" });
        req.on("error", () => {});
        return { destroy: () => session.destroy() };
      },
      (b) => {
        // Enough once a HEADERS frame (type 1) has arrived.
        const r = decodeSwitching(preface, [b], () => http2);
        return r.frames.some((f) => f["type"] === 1);
      },
    );
    const { frames, errors } = decodeSwitching(preface, [bytes], () => http2);
    expect(errors.filter((e) => (e as { kind?: string }).kind !== "truncated")).toEqual([]);
    expect(frames[0]).toEqual({ payload: "" });
    expect(frames[1]).toMatchObject({ type: 4, flags: 0, streamId: 0 }); // SETTINGS
    const headers = frames.find((f) => f["type"] === 1)!;
    expect(headers["streamId"]).toBe(1);
    expect(Number(headers["flags"]) & 0x4).toBe(0x4); // END_HEADERS
    // Reserved bit set on receipt is ignored.
    const reserved = run(http2, [Uint8Array.of(0, 0, 0, 4, 0, 0x80, 0, 0, 1)]).frames[0];
    expect(reserved).toEqual({ type: 4, flags: 0, streamId: 1, payload: "" });
  });

  it("a frame over SETTINGS_MAX_FRAME_SIZE (16384) fails at its header", () => {
    const r = run(http2, [Uint8Array.of(0, 0x40, 1, 0, 0)], false);
    expect(r.errors[0]).toMatchObject({ kind: "length too long", length: 16385 });
    const wire = encodeFrame(http2, { type: 0, flags: 1, streamId: 3, payload: "hi" });
    expect(toHex(wire)).toBe("000002000100000003" + ascii("hi"));
  });
});
