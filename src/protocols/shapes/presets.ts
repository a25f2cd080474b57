/**
 * Ready-made shapes of real protocols (framing only: the fields that frame a message, not the
 * message's own grammar), and weft's plain Int8/16/32/varint framing expressed in the same terms.
 * Each limit is the protocol's own; narrow it with `shape.withLimit(n)`.
 */
import { bits, defineShape, uint } from "./shape.js";

/** Twisted's `Int8StringReceiver` framing: a 1-byte length, then the payload. */
export const int8 = defineShape({ name: "int8", length: 1 });
/** Twisted's `Int16StringReceiver` framing: a 2-byte big-endian length. */
export const int16 = defineShape({ name: "int16", length: 2 });
/** Twisted's `Int32StringReceiver` framing: a 4-byte big-endian length. */
export const int32 = defineShape({ name: "int32", length: 4 });
/** `LengthPrefixedReceiver` with `prefix = "varint"`: an unsigned LEB128 length. */
export const varint = defineShape({ name: "varint", length: "varint" });

/** The `code` of a StartupMessage for protocol 3.0 (3 << 16); the `PG_*` codes are carried by `postgres.startup` frames. */
export const PG_PROTOCOL_3_0 = 196608;
/** The `code` of an SSLRequest (1234 << 16 | 5679). */
export const PG_SSL_REQUEST = 80877103;
/** The `code` of a GSSENCRequest (1234 << 16 | 5680). */
export const PG_GSSENC_REQUEST = 80877104;
/** The `code` of a CancelRequest (1234 << 16 | 5678). */
export const PG_CANCEL_REQUEST = 80877102;

/**
 * PostgreSQL's frontend/backend protocol (protocol 3.0, "Message Formats" in the PostgreSQL
 * documentation): the startup-shaped messages without a type byte, the typed messages, and the
 * one unframed byte that answers an SSLRequest or GSSENCRequest.
 *
 * - `startup`: Int32 length counting itself, Int32 `code` (protocol version, or one of the request
 *   codes above), then the payload (parameters, or a cancel request's key). The server's own
 *   limit for these packets is 10000 bytes (`MAX_STARTUP_PACKET_LENGTH`).
 * - `message`: Byte1 `type`, Int32 length counting itself, payload. Limit 1 GiB − 1, the
 *   server's `PQ_LARGE_MESSAGE_LIMIT`; narrow it for a front-end that expects small messages.
 * - `sslAnswer`: one byte, `S` (0x53) or `N` (0x4e), no length: a fixed-size shape.
 *
 * A server starts with `startup` and switches to `message` after the StartupMessage; a client
 * that sends an SSLRequest reads one `sslAnswer` and then `message`s.
 */
export const postgres = {
  /** StartupMessage, SSLRequest, GSSENCRequest and CancelRequest: length, then `code`. */
  startup: defineShape({
    name: "postgresql startup",
    length: 4,
    lengthCounts: "length+rest",
    after: [uint("code", 4)],
    maxLength: 10000 - 8,
  }),
  /** Every message after the startup: `type` byte, then the length. */
  message: defineShape({
    name: "postgresql message",
    before: [uint("type")],
    length: 4,
    lengthCounts: "length+rest",
    maxLength: 0x3fffffff - 4,
  }),
  /** The server's one-byte answer to an SSLRequest: `answer` is `S` (0x53) or `N` (0x4e). */
  sslAnswer: defineShape({
    name: "postgresql ssl answer",
    before: [uint("answer")],
    length: { fixed: 0 },
  }),
} as const;

/**
 * MQTT's fixed header (MQTT 3.1.1 §2.2, MQTT 5.0 §2.1): the packet type (high nibble) and flags
 * (low nibble) of byte 1, then the Remaining Length, a Variable Byte Integer of at most 4 bytes
 * (§1.5.5; maximum 268435455) that must use the minimum number of bytes [MQTT-1.5.5-1]. The
 * payload is the variable header and payload. Frames carry `type` and `flags` (numbers) and
 * `payload`.
 */
export const mqtt = defineShape({
  name: "mqtt",
  before: [bits("type", 4), bits("flags", 4)],
  length: { varint: { maxBytes: 4 } },
  maxLength: 268435455,
});

/**
 * DNS over TCP (RFC 1035 §4.2.2, RFC 7766 §8): a 2-byte length, then the DNS message. The message's
 * first two bytes, its ID, are also delivered as `id`; `payload` is the whole message (`strip: 2`
 * keeps the ID in it).
 */
export const dnsTcp = defineShape({
  name: "dns over tcp",
  length: 2,
  after: [uint("id", 2)],
  strip: 2,
  maxLength: 65535 - 2,
});

/**
 * TLS records (RFC 8446 §5.1, RFC 5246 §6.2): content type, legacy record version, a 2-byte length,
 * the fragment. Framing only (nothing is decrypted). Limit 2^14 + 2048, the largest ciphertext
 * TLS 1.2 allows (TLS 1.3 allows 2^14 + 256). Frames carry `type` (the content type, 22 for a
 * handshake), `version` (the legacy record version: 0x0303, or 0x0301 in a first ClientHello) and `payload`.
 */
export const tlsRecord = defineShape({
  name: "tls record",
  before: [uint("type"), uint("version", 2)],
  length: 2,
  maxLength: 2 ** 14 + 2048,
});

/**
 * HTTP/2 frame header (RFC 9113 §4.1): 24-bit length of the payload, type, flags, a reserved bit
 * (ignored on receipt, sent as 0) and the 31-bit stream identifier. Limit 16384, the initial
 * SETTINGS_MAX_FRAME_SIZE; raise it with `withLimit` after the peer's SETTINGS (up to 2^24 − 1).
 * Frames carry `type`, `flags`, `streamId` (numbers) and `payload`.
 */
export const http2 = defineShape({
  name: "http2",
  length: 3,
  after: [uint("type"), uint("flags"), bits("_", 1), bits("streamId", 31)],
  lengthCounts: "payload",
  maxLength: 16384,
});
