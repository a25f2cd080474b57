/**
 * Poem by name over netstrings (default port 10011): the client sends one netstring with the poem's
 * name (empty: the default poem), the server replies with one netstring holding the poem (UTF-8)
 * and closes. An unknown name, a name that is not UTF-8 or a malformed netstring: closed without reply.
 */
import { NetstringReceiver } from "../../protocols/receivers/index.js";
import { ServiceServerFactory } from "../front-end.js";
import { debugEnabled, type FrontEndOptions, logConnection, logPeerFault } from "../log.js";
import { decodeUtf8 } from "../text.js";
import type { PoetryService } from "./service.js";

/** Server protocol: one name in, one poem out, close. */
export class PoetryNetstringProtocol extends NetstringReceiver<PoetryNetstringFactory> {
  #answered = false;

  override connectionMade(): void {
    super.connectionMade();
    logConnection(this.#factory().logger, "connection made", "poetry", "netstring", this);
  }

  override stringReceived(data: Uint8Array): void {
    if (this.#answered) return;
    this.#answered = true;
    const f = this.#factory();
    const name = decodeUtf8(data);
    if (debugEnabled(f.logger))
      f.logger.debug({ service: "poetry", protocol: "netstring", name }, "request");
    if (name === undefined || (name !== "" && !f.service.has(name))) {
      logPeerFault(
        f.logger,
        {
          service: "poetry",
          protocol: "netstring",
          conn: this,
          error: name === undefined ? "ERR_BAD_REQUEST" : "ERR_POEM_NOT_FOUND",
          input: data,
        },
        "unknown poem",
      );
      this.transport.loseConnection();
      return;
    }
    this.sendString(f.service.getPoem(name).bytes);
    this.transport.loseConnection();
  }

  override connectionLost(reason: Error): void {
    super.connectionLost(reason);
    logConnection(this.#factory().logger, "connection lost", "poetry", "netstring", this, reason);
  }

  #factory(): PoetryNetstringFactory {
    return this.factory;
  }
}

/** Serves any poem of a {@link PoetryService} by name over netstrings. */
export class PoetryNetstringFactory extends ServiceServerFactory<
  PoetryService,
  PoetryNetstringProtocol
> {
  constructor(service: PoetryService, options: FrontEndOptions = {}) {
    super(PoetryNetstringProtocol, service, options);
  }
}
