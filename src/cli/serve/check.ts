/**
 * `weft serve --check`: load the configuration and the modules it names, check it against the
 * registry, resolve and parse every endpoint — everything short of creating the services and
 * opening a port — and print what would listen where. Exit 0 when valid, 2 when not.
 */
import { serverFromString } from "../../core/endpoints.js";
import { createReactor } from "../../core/reactor.js";
import {
  checkSuiteConfig,
  resolveServerEndpoint,
  type ServiceRegistry,
  type SuiteConfig,
} from "../../services/suite/index.js";

/** What `--check` found: one row per front-end (service, protocol, resolved endpoint). */
export function checkServeConfig(
  config: SuiteConfig,
  registry: ServiceRegistry,
  overrides: { host?: string; portOffset?: number },
): string[][] {
  const plan = checkSuiteConfig(config, registry);
  const host = overrides.host ?? plan.host ?? "127.0.0.1";
  const offset = overrides.portOffset ?? plan.portOffset ?? 0;
  // Parsing an endpoint string builds an endpoint object and opens nothing.
  const reactor = createReactor();
  const rows: string[][] = [];
  for (const s of plan.services) {
    for (const entry of s.listen) {
      const at = `config.services.${s.name}.listen[${entry.index}].endpoint`;
      let endpoint: string;
      try {
        endpoint = resolveServerEndpoint(entry.endpoint, host, offset);
        if (entry.frontEnd.endpoint === undefined) serverFromString(reactor, endpoint);
      } catch (err) {
        throw new Error(`${at}: ${(err as Error).message}`, { cause: err });
      }
      rows.push([s.name, entry.protocol, endpoint]);
    }
  }
  return rows;
}

/** `rows` as an aligned table under `header`. */
export function alignTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
  return `${all
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n")}\n`;
}
