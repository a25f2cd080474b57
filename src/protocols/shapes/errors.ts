/** The typed error of shaped framing. */
import { WeftError } from "../../core/errors.js";

/** What was wrong with a shaped stream. */
export type ShapeErrorKind =
  /** The announced payload is above `maxLength` (reported before any payload byte is buffered). */
  | "length too long"
  /** The length counts fewer bytes than the header and trailer it must cover (Netty's "less than lengthFieldEndOffset"). */
  | "length too short"
  /** A varint length longer than its `maxBytes`, or padded (not minimally encoded). */
  | "overlong varint"
  /** A custom length reader threw. */
  | "bad length"
  /** Constant header bytes did not match. */
  | "bad magic"
  /** A trailer did not match the value computed from the bytes it covers. */
  | "bad checksum"
  /** The stream ended inside a frame. */
  | "truncated";

/**
 * A malformed shaped stream (code `ERR_FRAME_SHAPE`). `kind` says what was wrong, `shape` names
 * the shape, `offset` is the stream offset of the byte where it was detected, `length` the
 * announced payload length when known (−1 otherwise; exact up to 2^53).
 */
export class ShapeError extends WeftError {
  /** What was wrong. */
  readonly kind: ShapeErrorKind;
  /** The shape's name (`ShapeSpec.name`). */
  readonly shape: string;
  /** Stream offset (0-based, counting every byte fed) of the byte where it was detected. */
  readonly offset: number;
  /** The announced payload length when known, −1 otherwise. */
  readonly length: number;

  constructor(kind: ShapeErrorKind, shape: string, offset: number, detail: string, length = -1) {
    super("ERR_FRAME_SHAPE", `${shape}: framing error at byte ${offset}: ${detail}`);
    this.kind = kind;
    this.shape = shape;
    this.offset = offset;
    this.length = length;
  }
}
