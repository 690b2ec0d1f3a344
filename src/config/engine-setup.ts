/**
 * Builds an Engine from the resolved config: the retry policy, the per-entity conflict strategy
 * and the lease owner name. Shared by `queue drain`, `queue replay`, `demo` and the daemon.
 */
import os from "node:os";
import type { Config } from "./config.ts";
import { strategyFor } from "./config.ts";
import { Engine, type EngineHooks } from "../core/engine.ts";
import type { OneStatementBatches } from "../core/one-statement-drain.ts";
import type { EngineMetrics } from "../core/metrics.ts";
import type { Clock, QueueStore, Sink } from "../core/ports.ts";
import { systemClock } from "../core/ports.ts";

export interface EngineSetup {
  config: Config;
  store: QueueStore;
  sink: Sink;
  clock?: Clock;
  metrics?: EngineMetrics;
  hooks?: EngineHooks;
  /** lease holder name; default host:pid */
  owner?: string;
  /** the queue store's one-statement drain over this sink (one database), when the caller chose it */
  oneStatement?: OneStatementBatches;
}

export function ownerName(): string {
  return `${os.hostname()}:${process.pid}`;
}

export function createEngine(setup: EngineSetup): Engine {
  const { config } = setup;
  return new Engine({
    store: setup.store,
    sink: setup.sink,
    clock: setup.clock ?? systemClock,
    metrics: setup.metrics,
    hooks: setup.hooks,
    ...(setup.oneStatement ? { oneStatement: setup.oneStatement } : {}),
    settings: {
      batchSize: config.batchSize,
      coalesce: config.coalesce,
      leaseMs: config.leaseMs,
      owner: setup.owner ?? ownerName(),
      retry: { ...config.backoff, maxAttempts: config.maxAttempts },
      strategyFor: (entity) => strategyFor(config, entity),
    },
  });
}
