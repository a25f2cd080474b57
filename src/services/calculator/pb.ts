/**
 * The calculator over Perspective Broker, as the article serves it (default ports 8992–8994, server
 * ids 0, 1, 2): a `pb.Root` whose `remote_calculate(a, b)` answers the tuple `(a + b, id)`, so the
 * article's Twisted client (`getRootObject()`, `callRemote('calculate', a, b)`) works unchanged.
 * Anything but two integers is a `pb.Error` (an expected error, nothing logged).
 */
import type { Address } from "../../core/interfaces.js";
import { Broker } from "../../protocols/pb/broker.js";
import { PbError } from "../../protocols/pb/errors.js";
import { PBServerFactory } from "../../protocols/pb/factory.js";
import { Root } from "../../protocols/pb/flavors.js";
import { type PbTuple, tuple } from "../../protocols/pb/values.js";
import {
  codeIn,
  debugEnabled,
  type FrontEndOptions,
  logConnection,
  logPeerFault,
  type ServiceLogger,
  silentLogger,
} from "../log.js";
import type { Calculation, CalculatorService, Int } from "./service.js";

/** Options of {@link CalculatorPBFactory}. */
export interface CalculatorPBOptions extends FrontEndOptions {
  /** The id this port answers with (the second item of each answer). Default 0. */
  serverId?: number;
}

function isInt(v: unknown): v is Int {
  return (typeof v === "number" && Number.isSafeInteger(v)) || typeof v === "bigint";
}

/** The article's `Calculator(pb.Root)`: `calculate(a, b)` → `(a + b, serverId)`. */
export class CalculatorRoot extends Root {
  /** The calculator that does the additions. */
  readonly service: CalculatorService;
  /** The id answered as the second item of each tuple. */
  readonly serverId: number;
  readonly #logger: ServiceLogger;
  readonly #debug: boolean;

  constructor(service: CalculatorService, serverId = 0, logger: ServiceLogger = silentLogger) {
    super();
    this.service = service;
    this.serverId = serverId;
    this.#logger = logger;
    this.#debug = debugEnabled(logger);
  }

  /**
   * `(a + b, serverId)` as a PB tuple (what a Twisted client's `callRemote("calculate", a, b)`
   * gets). `a` and `b` must be integers (a safe-integer `number` or a `bigint`); anything else
   * throws {@link PbError}, which the caller receives as a `pb.Error` failure.
   */
  remote_calculate(a: unknown, b: unknown): PbTuple | Promise<PbTuple> {
    if (!isInt(a) || !isInt(b)) throw new PbError("calculate takes two integers");
    if (this.#debug) {
      this.#logger.debug(
        {
          service: "calculator",
          protocol: "pb",
          server: this.serverId,
          a: String(a),
          b: String(b),
        },
        "request",
      );
    }
    const answer = this.service.calculate(a, b, this.serverId);
    return answer instanceof Promise ? answer.then(toTuple) : toTuple(answer);
  }
}

function toTuple(c: Calculation): PbTuple {
  return tuple<Int>(c.result, c.server);
}

/** A broker that logs its connection events as a service front-end. */
class CalculatorBroker extends Broker {
  readonly #logger: ServiceLogger;

  constructor(logger: ServiceLogger) {
    super(false);
    this.#logger = logger;
  }

  override connectionMade(): void {
    super.connectionMade();
    logConnection(this.#logger, "connection made", "calculator", "pb", this);
  }

  override connectionLost(reason: Error): void {
    super.connectionLost(reason);
    logConnection(this.#logger, "connection lost", "calculator", "pb", this, reason);
  }
}

/** Serves a {@link CalculatorService} over PB as one server id (Twisted's `PBServerFactory(Calculator(i))`). */
export class CalculatorPBFactory extends PBServerFactory {
  /** The id this port answers with ({@link CalculatorPBOptions.serverId}). */
  readonly serverId: number;
  /**
   * The service logger: connection events and requests (at debug) go here, and the broker's
   * errors (protocol errors, unexpected remote-method errors) go to its `error`. Default: silent.
   */
  readonly serviceLogger: ServiceLogger;

  constructor(service: CalculatorService, options: CalculatorPBOptions = {}) {
    const logger = options.logger ?? silentLogger;
    super(new CalculatorRoot(service, options.serverId ?? 0, logger), {
      logger: {
        error: (obj, msg) => logger.error(obj, msg),
        warn: (obj, msg) =>
          logPeerFault(
            logger,
            { service: "calculator", protocol: "pb", error: codeIn(obj) },
            msg ?? "PB peer fault",
          ),
      },
    });
    this.serverId = options.serverId ?? 0;
    this.serviceLogger = logger;
  }

  override buildProtocol(_addr: Address): Broker {
    const broker = new CalculatorBroker(this.serviceLogger);
    broker.factory = this;
    broker.setNameForLocal("root", this.root.rootObject(broker));
    return broker;
  }
}
