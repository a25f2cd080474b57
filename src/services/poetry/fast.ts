/**
 * The fast poetry front-end (the Twisted tutorial's fastpoetry, default port 10000): on connect,
 * write the whole poem and close.
 */
import { ServerFactory } from "../../core/factory.js";
import { Protocol } from "../../core/protocol.js";
import { type FrontEndOptions, logConnection, type ServiceLogger, silentLogger } from "../log.js";
import type { Poem, PoetryService } from "./service.js";

/** Writes the poem, then closes. */
export class FastPoetryProtocol extends Protocol<FastPoetryFactory> {
  override connectionMade(): void {
    super.connectionMade();
    const f = this.factory;
    logConnection(f.logger, "connection made", "poetry", "fast", this);
    this.transport.write(f.poem.bytes);
    this.transport.loseConnection();
  }

  override connectionLost(reason: Error): void {
    super.connectionLost(reason);
    logConnection(this.factory.logger, "connection lost", "poetry", "fast", this, reason);
  }
}

/** Options of the fast and slow poetry front-ends. */
export interface PoemFrontEndOptions extends FrontEndOptions {
  /** Which poem to serve. Default: the service's default poem. */
  poem?: string;
}

/** Serves one poem of a {@link PoetryService} to everyone who connects. */
export class FastPoetryFactory extends ServerFactory<FastPoetryProtocol> {
  /** The poem served to everyone (the `poem` option; default the service's default poem). */
  readonly poem: Poem;
  /** Where the front-end logs (the `logger` option; default silent). */
  readonly logger: ServiceLogger;

  /** Throws PoemNotFoundError when `options.poem` names no poem. */
  constructor(service: PoetryService, options: PoemFrontEndOptions = {}) {
    super();
    this.protocol = FastPoetryProtocol;
    this.poem = service.getPoem(options.poem);
    this.logger = options.logger ?? silentLogger;
  }
}
