/**
 * State under `weft serve --workers N`. The primary holds the state folder (locked) and, when the
 * suite serves Fibonacci, the one real {@link FileFibonacciStore}; the workers run without a state
 * folder, and their Fibonacci service claims from the primary through a
 * {@link ClusterFibonacciStore} (see `services/fibonacci/cluster-store.ts` for why one store in the
 * primary rather than one file per worker). Other services' state is not shared between workers:
 * under `--workers` they run without a state folder (in memory), as their `ctx.state` of null says.
 */
import { createReactor } from "../../core/reactor.js";
import { ClusterFibonacciStore } from "../../services/fibonacci/cluster-store.js";
import { FileFibonacciStore } from "../../services/fibonacci/file-store.js";
import { FibonacciService } from "../../services/fibonacci/service.js";
import type { FibonacciStore } from "../../services/fibonacci/store.js";
import type { ServiceLogger } from "../../services/log.js";
import { StateDirectory } from "../../services/state/index.js";
import { type FibonacciSettings, fibonacciDefinition } from "../../services/suite/builtins.js";
import {
  BUILTIN_MODULE,
  checkSuiteConfig,
  defineService,
  type ServiceRegistry,
  type SuiteConfig,
} from "../../services/suite/index.js";
import { ServiceRegistry as Registry } from "../../services/suite/registry.js";

/** The Fibonacci service of a worker: the built-in one, claiming from the primary. */
const clusterFibonacciDefinition = defineService<FibonacciService, FibonacciSettings>({
  ...fibonacciDefinition,
  create: (s) =>
    new FibonacciService(
      new ClusterFibonacciStore(),
      s.block !== undefined ? { block: s.block } : {},
    ),
});

/** The built-in registry of a worker: every built-in service, Fibonacci claiming from the primary. */
export function workerRegistry(): ServiceRegistry {
  return Registry.of({
    services: (BUILTIN_MODULE.services ?? []).map((d) =>
      d.name === fibonacciDefinition.name ? clusterFibonacciDefinition : d,
    ),
  });
}

/** What the primary holds for the workers' state. */
export interface PrimaryState {
  readonly directory: StateDirectory;
  /** The real store, when the suite serves Fibonacci. */
  readonly fibonacci: FibonacciStore | null;
  /** Closes the store (its last save), then unlocks the folder. */
  close(): Promise<void>;
}

/** Opens (and locks) `dir` and, if `config` serves Fibonacci, its file store. */
export async function openPrimaryState(
  dir: string,
  config: SuiteConfig,
  registry: ServiceRegistry,
  logger: ServiceLogger,
): Promise<PrimaryState> {
  const plan = checkSuiteConfig(config, registry);
  const directory = await StateDirectory.open(dir);
  let fibonacci: FileFibonacciStore | null = null;
  try {
    const planned = plan.services.find((s) => s.name === fibonacciDefinition.name);
    if (planned !== undefined) {
      const settings = (planned.settings ?? {}) as FibonacciSettings;
      fibonacci = await FileFibonacciStore.open(directory, {
        clock: createReactor(),
        logger,
        ...(settings.strict !== undefined ? { strict: settings.strict } : {}),
        ...(settings.saveInterval !== undefined ? { interval: settings.saveInterval } : {}),
      });
    }
  } catch (err) {
    await directory.close();
    throw err;
  }
  return {
    directory,
    fibonacci,
    async close() {
      try {
        await fibonacci?.close();
      } finally {
        await directory.close();
      }
    },
  };
}
