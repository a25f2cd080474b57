/**
 * Poem by name over AMP (default port 10012): `GetPoem(name: Unicode) → poem: Unicode`; an empty name
 * asks for the default poem; an unknown name is the declared error `UNKNOWN_POEM` (PoemNotFoundError).
 * Poems longer than 65,535 UTF-8 bytes do not fit one AMP value (the answer fails with TooLong).
 */
import { Unicode } from "../../protocols/amp/arguments.js";
import { CommandLocator, defineCommand } from "../../protocols/amp/command.js";
import type { AMP } from "../../protocols/amp/protocol.js";
import { ServiceAMPFactory } from "../amp-base.js";
import { PoemNotFoundError } from "../errors.js";
import { debugEnabled, type FrontEndOptions } from "../log.js";
import type { PoetryService } from "./service.js";

/** `GetPoem(name) → poem`. */
export const GetPoem = defineCommand({
  name: "GetPoem",
  arguments: {
    /** The poem's name (its file name without `.txt`). */
    name: Unicode,
  },
  response: {
    /** The poem's text. */
    poem: Unicode,
  },
  errors: { UNKNOWN_POEM: PoemNotFoundError },
});

/** A locator answering `GetPoem` from `service`. */
export function poetryLocator(
  service: PoetryService,
  options: FrontEndOptions = {},
): CommandLocator<AMP> {
  const logger = options.logger;
  const debug = logger !== undefined && debugEnabled(logger);
  return new CommandLocator<AMP>().responder(GetPoem, ({ name }) => {
    if (debug && logger !== undefined)
      logger.debug({ service: "poetry", protocol: "amp", name }, "request");
    return { poem: service.getPoem(name).text };
  });
}

/** Serves a {@link PoetryService} over AMP. */
export class PoetryAMPFactory extends ServiceAMPFactory {
  constructor(service: PoetryService, options: FrontEndOptions = {}) {
    super("poetry", poetryLocator(service, options), options);
  }
}
