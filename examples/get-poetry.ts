/**
 * Poetry client (Twisted tutorial client 6.0): fetch poems from several servers at once, optionally
 * cummingsify each through a transform server, and fall back to the original when that fails.
 * Run: `node --import tsx examples/get-poetry.ts [--xform PORT] PORT...`
 */
import { DeferredList } from "../src/core/deferred-list.js";
import { clientFromString } from "../src/core/endpoints.js";
import { createReactor } from "../src/core/reactor.js";
import { getPoem, TransformProxy } from "../src/services/index.js";

const args = process.argv.slice(2);
const x = args.indexOf("--xform");
const xformPort = x >= 0 ? args.splice(x, 2)[1] : undefined;
const reactor = createReactor();
const at = (port: string) => clientFromString(reactor, `tcp:127.0.0.1:${port}`);
const proxy =
  xformPort === undefined ? null : new TransformProxy(at(xformPort), { via: "netstring" });

const poems = args.map((port, i) =>
  getPoem(at(port))
    .addCallback((poem) => {
      console.error(`Task ${i + 1}: got ${poem.length} characters of poetry from ${port}`);
      if (proxy === null) return poem;
      return proxy.xform("cummingsify", poem).addErrback((err: Error) => {
        console.error(`Task ${i + 1}: cummingsify failed (${err.message}), using the original`);
        return poem;
      });
    })
    .addErrback((err: Error) => {
      console.error(`Task ${i + 1}: failed: ${err.message}`);
      return null;
    }),
);

const results = await new DeferredList(poems);
for (const [, poem] of results) if (typeof poem === "string") console.log(poem);
process.exit(results.some(([, poem]) => typeof poem === "string") ? 0 : 1);
