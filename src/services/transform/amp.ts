/**
 * The transform service over AMP (default port 10003):
 * `Transform(name: Unicode, text: Unicode) → text: Unicode`, with the declared errors
 * `UNKNOWN_TRANSFORM` (UnknownTransformError) and `TRANSFORM_FAILED` (TransformFailedError).
 */
import { Unicode } from "../../protocols/amp/arguments.js";
import { CommandLocator, defineCommand } from "../../protocols/amp/command.js";
import type { AMP } from "../../protocols/amp/protocol.js";
import { ServiceAMPFactory } from "../amp-base.js";
import { TransformFailedError, UnknownTransformError } from "../errors.js";
import type { FrontEndOptions } from "../log.js";
import { debugEnabled } from "../log.js";
import type { TransformService } from "./service.js";

/** `Transform(name, text) → text`. */
export const Transform = defineCommand({
  name: "Transform",
  arguments: {
    /** The transform's name (`"upper"`, `"reverse"`, …). */
    name: Unicode,
    /** The text to transform. */
    text: Unicode,
  },
  response: {
    /** The transformed text. */
    text: Unicode,
  },
  errors: { UNKNOWN_TRANSFORM: UnknownTransformError, TRANSFORM_FAILED: TransformFailedError },
});

/** A locator answering `Transform` from `service`. */
export function transformLocator(
  service: TransformService,
  options: FrontEndOptions = {},
): CommandLocator<AMP> {
  const logger = options.logger;
  const debug = logger !== undefined && debugEnabled(logger);
  return new CommandLocator<AMP>().responder(Transform, ({ name, text }) => {
    if (debug && logger !== undefined)
      logger.debug({ service: "transform", protocol: "amp", name }, "request");
    const out = service.apply(name, text);
    return typeof out === "string" ? { text: out } : out.then((t) => ({ text: t }));
  });
}

/** Serves a {@link TransformService} over AMP. */
export class TransformAMPFactory extends ServiceAMPFactory {
  constructor(service: TransformService, options: FrontEndOptions = {}) {
    super("transform", transformLocator(service, options), options);
  }
}
