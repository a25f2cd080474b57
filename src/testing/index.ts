/**
 * `weft/testing`: helpers for testing protocols without sockets or real time — the manual `Clock`,
 * memory transports and reactors, a connected pair of protocols, `flushUnhandledErrors`, and
 * fast-check arbitraries (fast-check is a dependency of weft, `^4`).
 *
 * The manual `Clock` lives here only: production code takes a `ReactorTime` (the reactor, or a
 * `NodeClock`, both from `weft`), and a test hands it a `Clock` and advances time by hand.
 *
 * This list is the public API of `weft/testing`, written out name by name.
 *
 * @module weft/testing
 */
export { Clock } from "../core/clock.js";
export { flushUnhandledErrors } from "../core/deferred.js";
export type { FuzzCase } from "../fuzz/cases.js";
export type { FramingModel, FramingName } from "../fuzz/framing.js";
export type { FramingOptions } from "../fuzz/framings/index.js";
export {
  type AmpArgumentCase,
  type AmpBoxOptions,
  type AmpBoxStream,
  ampArgumentCases,
  ampBox,
  ampBoxStream,
  ampDateTimeValue,
  ampDecimalValue,
  ampFloatValue,
  ampIntegerValue,
  ampKey,
  ampUnicodeValue,
  ampValue,
  type MalformedAmpBoxCase,
  type MalformedAmpBoxKind,
  malformedAmpBoxes,
  rawBoxBytes,
} from "./amp-arbitraries.js";
export {
  chunked,
  type FramedStream,
  MALFORMED_NETSTRING_KINDS,
  type MalformedNetstringCase,
  type MalformedNetstringKind,
  malformedNetstring,
  malformedNetstrings,
  type ValidStreamOptions,
  validLengthPrefixedFrames,
  validLines,
  validNetstrings,
} from "./arbitraries.js";
export {
  FuzzFindingError,
  fuzzDecoder,
  fuzzProtocol,
  type InProcessFuzzOptions,
  type ProtocolSource,
} from "./fuzz.js";
export {
  type ConnectedPair,
  connectedPair,
  MemoryConnector,
  MemoryListeningPort,
  MemoryReactor,
  MemoryTransport,
  type MemoryTransportOptions,
  MemoryTransportWithDisconnection,
  PipeTransport,
  type Pump,
  TransportStateError,
} from "./memory.js";
export {
  type MalformedShapedStream,
  malformedKinds,
  malformedShapedStream,
  type ShapedStream,
  shapedFrame,
  shapedStream,
  shapeSpecs,
} from "./shape-arbitraries.js";
