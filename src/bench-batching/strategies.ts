/**
 * The strategies `bench batching` compares, each applying the same user actions to a fresh schema:
 *
 * - `naive`: one awaited write per user action (apply_batch of one event), each client waiting for
 *   its write before its next action: the seed's "before".
 * - `seed`: the seed's sketch, grouping by entity:type (seed-sync.ts).
 * - `mudsync`: the real engine (order-preserving batching with coalescing) draining an in-memory
 *   queue; `mudsync-nocoalesce` the same without coalescing.
 * - `copy`: the physical reference: the rows naive ended with, written by one COPY per table.
 *
 * Every strategy reports each action once through the probe when the write that carries it returns.
 */
import type { QueuedEvent } from "../core/event.ts";
import type { ApplyOutcome, Sink, WireEvent } from "../core/ports.ts";
import { systemClock } from "../core/ports.ts";
import { toWireEvent } from "../core/coalesce.ts";
import { Engine } from "../core/engine.ts";
import { DEFAULT_RETRY_POLICY } from "../core/retry.ts";
import { MemoryQueueStore } from "../stores/memory/memory-queue-store.ts";
import type { BenchDatabase, FinalRow } from "./bench-database.ts";
import type { RoundTripCounter } from "./counted-client.ts";
import type { Probe } from "./measure.ts";
import { SeedSync } from "./seed-sync.ts";
import type { Workload } from "./workloads.ts";

export const STRATEGIES = ["naive", "seed", "mudsync", "mudsync-nocoalesce", "copy"] as const;
export type StrategyName = (typeof STRATEGIES)[number];
/** the strategies whose figures depend on the batch size */
export const BATCHED: readonly StrategyName[] = ["seed", "mudsync", "mudsync-nocoalesce"];

export interface StrategyContext {
  workload: Workload;
  batchSize: number;
  /** the schema's sink (its round trips are counted) */
  sink: Sink;
  probe: Probe;
  /** outcomes the server answered, by kind */
  outcomes: Record<ApplyOutcome, number>;
  /** copy only: the rows to write, where, and the counter its COPY statements go to */
  copy?: { db: BenchDatabase; schema: string; rows: FinalRow[]; counter: RoundTripCounter };
}

/** The sink with every answered event (and the events coalesced into it) reported to the probe. */
function reportingSink(ctx: StrategyContext): Sink {
  const { sink, probe, outcomes } = ctx;
  return {
    name: sink.name,
    capabilities: sink.capabilities,
    async applyBatch(events: WireEvent[]) {
      const results = await sink.applyBatch(events);
      let settled = 0;
      results.forEach((r, i) => {
        outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
        if (r.outcome === "applied" || r.outcome === "duplicate") settled += 1 + (events[i]?.coalesced?.length ?? 0);
      });
      probe.applied(settled);
      return results;
    },
    dryRun: (events) => sink.dryRun(events),
    getRow: (entity, id) => sink.getRow(entity, id),
    close: () => sink.close(),
  };
}

/** Each client enqueues its actions one at a time, as the app does on every click. */
async function produce(store: MemoryQueueStore, workload: Workload, afterEach: () => void): Promise<void> {
  await Promise.all(
    workload.perClient.map(async (actions) => {
      for (const a of actions) {
        const e: QueuedEvent = { ...a, timestamp: Date.now() };
        await store.enqueue([e]);
        afterEach();
      }
    }),
  );
}

async function naive(ctx: StrategyContext): Promise<void> {
  const sink = reportingSink(ctx);
  await Promise.all(
    ctx.workload.perClient.map(async (actions) => {
      for (const a of actions) await sink.applyBatch([toWireEvent(a)]);
    }),
  );
}

async function seed(ctx: StrategyContext): Promise<void> {
  const store = new MemoryQueueStore();
  const sync = new SeedSync(store, reportingSink(ctx), ctx.batchSize);
  await produce(store, ctx.workload, () => void sync.trigger());
  // passes run until nothing is pending: the last trigger may have found a pass running
  while ((await store.counts()).pending > 0) await sync.trigger();
}

async function engine(ctx: StrategyContext, coalesce: boolean): Promise<void> {
  const store = new MemoryQueueStore();
  const eng = new Engine({
    store,
    sink: reportingSink(ctx),
    clock: systemClock,
    settings: { batchSize: ctx.batchSize, coalesce, leaseMs: 10 * 60_000, owner: "bench", retry: { ...DEFAULT_RETRY_POLICY }, strategyFor: () => "local-wins" },
  });
  let produced = false;
  const producing = produce(store, ctx.workload, () => undefined).then(() => {
    produced = true;
  });
  // the drain starts while the clients still click, and goes on until they are done and it is empty
  for (;;) {
    const wasProduced = produced;
    await eng.drain({ wait: true, pollMs: 5 });
    if (wasProduced) break;
    await new Promise((resolve) => setImmediate(resolve));
  }
  await producing;
}

async function copy(ctx: StrategyContext): Promise<void> {
  const c = ctx.copy;
  if (!c) throw new Error("copy: the reference rows are missing");
  await c.db.copyRows(c.schema, c.rows, Number.MAX_SAFE_INTEGER, c.counter);
  ctx.probe.applied(ctx.workload.actions.length);
}

export function runStrategy(name: StrategyName, ctx: StrategyContext): Promise<void> {
  switch (name) {
    case "naive":
      return naive(ctx);
    case "seed":
      return seed(ctx);
    case "mudsync":
      return engine(ctx, true);
    case "mudsync-nocoalesce":
      return engine(ctx, false);
    case "copy":
      return copy(ctx);
  }
}
