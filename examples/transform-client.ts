/**
 * Transform client: the same request over a protocol of your choice.
 * Run: `node --import tsx examples/transform-client.ts PORT netstring|line|amp NAME TEXT...`
 * e.g. `… transform-client.ts 10002 line cummingsify "Buffalo Bill 's defunct"`.
 */
import { clientFromString } from "../src/core/endpoints.js";
import { createReactor } from "../src/core/reactor.js";
import { TransformProxy, type TransformVia } from "../src/services/index.js";

const [port = "10001", via = "netstring", name = "cummingsify", ...words] = process.argv.slice(2);
const reactor = createReactor();
const proxy = new TransformProxy(clientFromString(reactor, `tcp:127.0.0.1:${port}`), {
  via: via as TransformVia,
  timeout: 10,
});
try {
  console.log(await proxy.xform(name, words.join(" ") || "Hello, World"));
} catch (err) {
  console.error(`transform failed: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  proxy.close();
}
