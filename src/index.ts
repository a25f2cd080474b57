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
  ConcurrencyPrimitive,
  Deferred,
  DeferredList,
  type DeferredListOptions,
  DeferredLock,
  DeferredQueue,
  DeferredSemaphore,
  deferLater,
  ensureDeferred,
  FirstError,
  fail,
  gatherResults,
  inlineCallbacks,
  LockStateError,
  maybeDeferred,
  NonErrorFailure,
  QueueOverflow,
  QueueUnderflow,
  setUnhandledErrorReporter,
  succeed,
} from "./core/deferred.js";
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
export { ClientFactory, Factory, type ProtocolClass, ServerFactory } from "./core/factory.js";
// ---- core: protocols, factories, transports ---------------------------------------------------
export type {
  Address,
  Connector,
  DelayedCall,
  Producer,
  ReactorTime,
  Transport,
} from "./core/interfaces.js";
export { IdleTimeout, type IdleTimeoutOptions, withIdleTimeout } from "./core/policies.js";
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
export { ReconnectingClientFactory, type ReconnectingOptions } from "./core/reconnecting.js";
export {
  type ErrorLogger,
  ProducerAlreadyRegisteredError,
  SocketTransport,
  type SocketTransportOptions,
} from "./core/transport.js";
export {
  AmpDateTime,
  type AmpDateTimeFields,
  AmpDecimal,
  AmpList,
  type Argument,
  type ArgumentSchema,
  type ArgValue,
  Bool,
  Bytes,
  DateTime,
  Decimal,
  decodeSchemaBox,
  encodeSchemaBox,
  Float,
  Integer,
  ListOf,
  MAX_INTEGER_DIGITS,
  optional,
  type SchemaValues,
  Unicode,
} from "./protocols/amp/arguments.js";
// ---- AMP ------------------------------------------------------------------------------------------
export {
  type AmpBox,
  BoxDecoder,
  type BoxDecoderOptions,
  boxDecoder,
  copyBox,
  decodeBoxes,
  encodeBox,
  encodeBoxes,
  MAX_KEY_LENGTH,
  MAX_VALUE_LENGTH,
} from "./protocols/amp/box.js";
export {
  type AnyArgument,
  type AnyCommand,
  type ArgumentsOf,
  type BigArgument,
  bigValue,
  type CallResultOf,
  type Command,
  CommandLocator,
  type CommandSpec,
  defineCommand,
  type ErrorClass,
  type ErrorTable,
  type LocatedResponder,
  type RawResponderFn,
  type ResponderFn,
  type ResponderResult,
  type ResponseOf,
  type ResponseType,
  type Schema,
  type ValuesOf,
} from "./protocols/amp/command.js";
export {
  AmpError,
  ArgumentError,
  BadLocalReturn,
  BoxTooLarge,
  InvalidSignature,
  MalformedAmpBox,
  NoEmptyBoxes,
  ProtocolSwitched,
  RemoteAmpError,
  TooLong,
  UnhandledCommand,
  UnknownRemoteError,
} from "./protocols/amp/errors.js";
export {
  AMP,
  AMPFactory,
  type AMPOptions,
  type AmpLogger,
  NotConnected,
  type RateLimitedLoggerOptions,
  rateLimitedLogger,
} from "./protocols/amp/protocol.js";
// ---- receivers: the decoder contract and stream adapters --------------------------------------
export type { Decoder, DecoderFactory, DecoderSink } from "./protocols/receivers/decoder.js";
// ---- receivers: length-prefixed, netstrings, lines --------------------------------------------
export {
  encodeLengthPrefix,
  encodeLengthPrefixed,
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
  lengthPrefixedDecoder,
  StringTooLongError,
} from "./protocols/receivers/length-prefixed.js";
export {
  DEFAULT_LINE_DELIMITER,
  DEFAULT_MAX_LINE_LENGTH,
  decodeLines,
  decodeTextLines,
  encodeLine,
  LineDecoder,
  type LineDecoderOptions,
  LineLengthExceededError,
  LineOnlyReceiver,
  LineReceiver,
  lineDecoder,
  lineTransform,
  lineTransformStream,
  UnterminatedLineError,
} from "./protocols/receivers/lines.js";
export {
  encodeNetstring,
  NetstringDecoder,
  type NetstringErrorKind,
  type NetstringOptions,
  NetstringParseError,
  NetstringReceiver,
  netstringDecoder,
  netstringHeader,
} from "./protocols/receivers/netstring.js";
export {
  type ChunkSource,
  decodeIterable,
  decodeLengthPrefixed,
  decodeNetstrings,
  lengthPrefixedTransform,
  lengthPrefixedTransformStream,
  netstringTransform,
  netstringTransformStream,
  type StreamAdapterOptions,
  toNodeTransform,
  toWebTransformStream,
} from "./protocols/receivers/streams.js";
