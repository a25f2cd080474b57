/**
 * `weft`: network protocols for Node.js in the spirit of Twisted — the core (Protocol, Factory,
 * Transport, the reactor, endpoints, Deferred, NodeClock), the reusable receivers (lines, netstrings,
 * length-prefixed frames) and AMP.
 *
 * This list is the public API, written out name by name: a name not listed here is internal, however
 * it is exported between modules. The services, their clients and the suite runner are the
 * `weft/services` entry; test helpers (the manual `Clock`, memory transports, arbitraries) are
 * `weft/testing`. `test/package/api.test.ts` holds the sorted list of every entry's names.
 *
 * @module weft
 */

// ---- core: time, Deferred and its helpers -----------------------------------------------------
export {
  LoopingCall,
  LoopingCallStateError,
  NodeClock,
  type NodeClockOptions,
} from "./core/clock.js";
export {
  Deferred,
  deferLater,
  fail,
  maybeDeferred,
  NonErrorFailure,
  setUnhandledErrorReporter,
  succeed,
} from "./core/deferred.js";
export {
  DeferredList,
  type DeferredListOptions,
  FirstError,
  gatherResults,
} from "./core/deferred-list.js";
export {
  ConcurrencyPrimitive,
  DeferredLock,
  DeferredQueue,
  DeferredSemaphore,
  LockStateError,
  QueueOverflow,
  QueueUnderflow,
} from "./core/deferred-primitives.js";
export {
  type ClientEndpoint,
  clientFromString,
  connectProtocol,
  type EndpointReactor,
  type ServerEndpoint,
  serverFromString,
  TCPClientEndpoint,
  TCPServerEndpoint,
  TLSClientEndpoint,
  type TLSClientFiles,
  TLSServerEndpoint,
  type TLSServerFiles,
  UNIXClientEndpoint,
  UNIXServerEndpoint,
} from "./core/endpoints.js";
// ---- core: errors -------------------------------------------------------------------------------
export {
  AlreadyCalledError,
  AlreadyCancelledError,
  CancelledError,
  CannotListenError,
  ConnectError,
  ConnectionDone,
  ConnectionLost,
  ConnectionRefusedError,
  ConnectTimeoutError,
  InvalidArgumentError,
  NotImplementedError,
  TimeoutError,
  WeftError,
} from "./core/errors.js";
export {
  ClientFactory,
  Factory,
  type FactoryFits,
  type ProtocolClass,
  ServerFactory,
} from "./core/factory.js";
export {
  ensureDeferred,
  inlineCallbacks,
} from "./core/inline-callbacks.js";
// ---- core: protocols, factories, transports ---------------------------------------------------
export type {
  Address,
  Connector,
  DelayedCall,
  Producer,
  ReactorTime,
  Transport,
} from "./core/interfaces.js";
export {
  ReactorNotRestartableError,
  type ReactorState,
  type SystemEventTrigger,
  type SystemEventType,
  type TriggerPhase,
} from "./core/lifecycle.js";
export {
  IdleTimeout,
  type IdleTimeoutOptions,
  withIdleTimeout,
} from "./core/policies.js";
export {
  type ChildFD,
  type ProcessSignal,
  ProcessTransport,
  type SpawnProcessOptions,
  spawnProcess,
} from "./core/process.js";
export {
  ProcessEndpoint,
  type ProcessEndpointOptions,
} from "./core/process-endpoint.js";
export {
  getProcessOutput,
  getProcessOutputAndValue,
  getProcessValue,
  type ProcessReactor,
  ProcessSignalledError,
  ProcessStderrError,
} from "./core/process-output.js";
export {
  NotSupportedError,
  ProcessDone,
  type ProcessEndReason,
  ProcessExitedAlreadyError,
  ProcessProtocol,
  ProcessSpawnError,
  ProcessTerminated,
} from "./core/process-protocol.js";
export { Protocol } from "./core/protocol.js";
// ---- core: the reactor and endpoints ----------------------------------------------------------
export {
  type CloseConnectionsOptions,
  ConnectingCancelledError,
  type ConnectOptions,
  type ConnectTCPOptions,
  type ConnectTLSOptions,
  createReactor,
  DNSLookupError,
  type ListeningPort,
  type ListenOptions,
  type ListenTCPOptions,
  type ListenTLSOptions,
  Reactor,
  type ReactorOptions,
  SocketConnector,
  SocketPort,
  type StopListeningOptions,
} from "./core/reactor.js";
export {
  ReconnectingClientFactory,
  type ReconnectingOptions,
} from "./core/reconnecting.js";
export {
  StandardIO,
  type StandardIOOptions,
} from "./core/stdio.js";
export {
  deferToThread,
  deferToThreadPool,
  type ThreadPoolReactor,
} from "./core/threads/defer.js";
export {
  TaskNotFoundError,
  ThreadPoolFullError,
  ThreadPoolStoppedError,
  WorkerCrashedError,
  WorkerStartError,
} from "./core/threads/errors.js";
export { callFromThread } from "./core/threads/in-worker.js";
export {
  type RunOptions,
  ThreadPool,
  type ThreadPoolOptions,
  type ThreadPoolStats,
} from "./core/threads/pool.js";
export {
  type ThreadTask,
  threadTask,
} from "./core/threads/task.js";
export {
  type ErrorLogger,
  ProducerAlreadyRegisteredError,
  SocketTransport,
  type SocketTransportOptions,
} from "./core/transport.js";
export {
  type DatagramAddress,
  DatagramProtocol,
  type ListenMulticastOptions,
  type ListenUDPOptions,
  MessageLengthError,
  UDPPort,
} from "./core/udp.js";
export {
  type UDPReactor,
  UDPServerEndpoint,
  udpServerFromString,
} from "./core/udp-endpoint.js";
export {
  AMP,
  AMPFactory,
  type AMPOptions,
  type AmpBox,
  AmpDateTime,
  type AmpDateTimeFields,
  AmpDecimal,
  AmpError,
  AmpList,
  type AmpLogger,
  type AnyArgument,
  type AnyCommand,
  type Argument,
  ArgumentError,
  type ArgumentSchema,
  type ArgumentsOf,
  type ArgValue,
  BadLocalReturn,
  type BigArgument,
  Bool,
  BoxDecoder,
  type BoxDecoderOptions,
  BoxTooLarge,
  BoxView,
  type BoxViewSink,
  Bytes,
  bigValue,
  boxDecoder,
  type CallResultOf,
  type Command,
  CommandLocator,
  type CommandSpec,
  copyBox,
  DateTime,
  Decimal,
  decodeBoxes,
  defineCommand,
  type ErrorClass,
  type ErrorTable,
  encodeBox,
  encodeBoxes,
  Float,
  Integer,
  InvalidSignature,
  ListOf,
  type LocatedResponder,
  MAX_INTEGER_DIGITS,
  MAX_KEY_LENGTH,
  MAX_VALUE_LENGTH,
  MalformedAmpBox,
  NoEmptyBoxes,
  NotConnected,
  optional,
  ProtocolSwitched,
  type RateLimitedLoggerOptions,
  type RawResponderFn,
  RemoteAmpError,
  type ResponderFn,
  type ResponderResult,
  type ResponseOf,
  type ResponseType,
  rateLimitedLogger,
  type Schema,
  type SchemaValues,
  TooLong,
  UnhandledCommand,
  Unicode,
  UnknownRemoteError,
  type ValuesOf,
} from "./protocols/amp/index.js";
// ---- framing and receivers: the decoder contract, stream adapters, lines, netstrings, length prefixes
export {
  type ChunkSource,
  DEFAULT_LINE_DELIMITER,
  DEFAULT_MAX_LINE_LENGTH,
  type Decoder,
  type DecoderFactory,
  type DecoderSink,
  decodeIterable,
  decodeLengthPrefixed,
  decodeLines,
  decodeNetstrings,
  decodeTextLines,
  encodeLengthPrefix,
  encodeLengthPrefixed,
  encodeLine,
  encodeNetstring,
  FramedReceiver,
  FramingDecoder,
  Int8StringReceiver,
  Int16StringReceiver,
  Int32StringReceiver,
  type LengthPrefix,
  LengthPrefixedDecoder,
  LengthPrefixedError,
  type LengthPrefixedErrorKind,
  type LengthPrefixedOptions,
  LengthPrefixedReceiver,
  LineDecoder,
  type LineDecoderOptions,
  LineLengthExceededError,
  LineOnlyReceiver,
  LineReceiver,
  lengthPrefixedDecoder,
  lengthPrefixedTransform,
  lengthPrefixedTransformStream,
  lineDecoder,
  lineTransform,
  lineTransformStream,
  NetstringDecoder,
  type NetstringErrorKind,
  type NetstringOptions,
  NetstringParseError,
  NetstringReceiver,
  netstringDecoder,
  netstringHeader,
  netstringTransform,
  netstringTransformStream,
  PausableReceiver,
  type StreamAdapterOptions,
  StringTooLongError,
  toNodeTransform,
  toWebTransformStream,
  UnterminatedLineError,
} from "./protocols/receivers/index.js";
// ---- frame shapes: length-prefixed protocols of any shape (Netty's LengthFieldBasedFrameDecoder and more)
export {
  type BitsField,
  type BytesField,
  bits,
  bytes,
  crc32,
  crc32Trailer,
  defineShape,
  type Endian,
  encodeFrame,
  encodeFrameParts,
  encodeHeader,
  type Field,
  type FieldValues,
  type FrameInput,
  type FrameInputBase,
  type FrameOf,
  type InputOf,
  type LengthCodec,
  type LengthCounts,
  type LengthSpec,
  type MagicField,
  magic,
  Shape,
  ShapeDecoder,
  ShapeError,
  type ShapeErrorKind,
  type ShapeFrame,
  type ShapeInput,
  ShapeReceiver,
  type ShapeSink,
  type ShapeSpec,
  shapeDecoder,
  type TrailerSpec,
  type UintField,
  uint,
} from "./protocols/shapes/index.js";
/**
 * Ready-made frame shapes: `shapes.postgres` (startup, message, sslAnswer), `shapes.mqtt`,
 * `shapes.dnsTcp`, `shapes.tlsRecord`, `shapes.http2`, and `shapes.int8/int16/int32/varint`
 * (Twisted's IntN receivers in the same terms), plus PostgreSQL's request codes.
 */
export * as shapes from "./protocols/shapes/presets.js";
