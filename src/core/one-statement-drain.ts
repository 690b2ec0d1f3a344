/**
 * The one-statement drain, for a queue store and a sink that live in one database: each call claims
 * due events, applies them and settles every final outcome in ONE transaction (one round trip),
 * where the leased path takes three round trips and two transactions around the apply (claim with
 * a lease write, apply, settle). A crash or an error in the middle rolls the whole transaction
 * back, claim included, so nothing is half done and no lease is left behind.
 *
 * What stays with the engine: conflicts (the entity's strategy decides; they come back leased
 * with their result and are settled on the normal path), events whose payload the engine must
 * prepare before the server may see them (handed back leased, without a result, with the rest of
 * their row), and any batch whose transaction fails: the rest of that drain pass takes the leased
 * path, which retries with backoff, bisects a batch the server refuses and dead-letters.
 * Coalescing is not done on this path: every event is sent and recorded as itself.
 */
import type { QueuedEvent } from "./event.ts";
import type { DrainSummary } from "./drain-summary.ts";
import type { EngineMetrics } from "./metrics.ts";
import type { ApplyResult, ClaimOptions, Clock } from "./ports.ts";

/** An event the transaction settled. */
export interface OneStatementSettled {
  id: string;
  outcome: "applied" | "duplicate" | "rejected";
  /** the row version the server reported (applied, duplicate) */
  version?: number;
  /** the event's timestamp (epoch ms), for the enqueue → applied latency */
  timestamp: number;
}

/** An event left processing under the caller's lease for the engine to settle. */
export interface OneStatementHanded {
  event: QueuedEvent;
  /** the server's result; absent when the event was not sent (the engine applies it) */
  result?: ApplyResult;
}

export interface OneStatementBatchResult {
  settled: OneStatementSettled[];
  handed: OneStatementHanded[];
  /** events sent to the server in the transaction (0: no apply call) */
  wireEvents: number;
}

/** A queue store's one-statement drain over a sink in the same database (a capability, not every store has it). */
export interface OneStatementBatches {
  /** Claims up to `limit` due events, applies and settles them in one transaction; on error nothing changed. */
  claimApplySettle(options: ClaimOptions): Promise<OneStatementBatchResult>;
}

export interface OneStatementDrainDeps {
  batches: OneStatementBatches;
  clock: Clock;
  claimOptions(): ClaimOptions;
  /** counters, metrics and hooks for what the transaction settled */
  record(result: OneStatementBatchResult): void;
  /** settles handed events on the engine's normal path (applying those without a result first) */
  settleHanded(handed: OneStatementHanded[]): Promise<void>;
  /** whether waiting may find more work (failed events waiting, rows leased elsewhere) */
  somethingWillBeDue(): Promise<boolean>;
  onProgress?(): void;
}

export interface OneStatementDrainOptions {
  wait?: boolean;
  signal?: AbortSignal;
  pollMs?: number;
}

/**
 * Runs one-statement batches until nothing is claimable (and, with `wait`, nothing will be due).
 * Returns "done", or "failed" when a transaction failed (rolled back) and the pass must go on
 * along the leased path.
 */
export async function drainOneStatement(deps: OneStatementDrainDeps, options: OneStatementDrainOptions): Promise<"done" | "failed"> {
  const stopping = () => options.signal?.aborted === true;
  for (;;) {
    if (stopping()) return "done";
    let result: OneStatementBatchResult;
    try {
      result = await deps.batches.claimApplySettle(deps.claimOptions());
    } catch {
      // rolled back, nothing changed: the leased path retries, classifies and reports the error
      return "failed";
    }
    deps.record(result);
    if (result.handed.length > 0) await deps.settleHanded(result.handed);
    if (result.settled.length + result.handed.length > 0) {
      deps.onProgress?.();
      continue;
    }
    if (!options.wait || stopping() || !(await deps.somethingWillBeDue())) return "done";
    await deps.clock.sleep(options.pollMs ?? 250, options.signal);
  }
}

/** What `recordOneStatement` counts into (the engine's run summary and its metrics). */
export interface OneStatementTally {
  summary: DrainSummary;
  latencies: number[];
  latencyMax: number;
  metrics?: EngineMetrics;
  onSettled?(id: string, changes: Partial<QueuedEvent>): void;
  now: number;
}

/**
 * Counts a one-statement transaction the way the leased path counts a batch and its settlements: one round
 * trip, the batch size, applied / duplicate / rejected (dead) events with their metrics and the
 * enqueue → applied latency. Handed events are counted when the engine settles them.
 */
export function recordOneStatement(r: OneStatementBatchResult, t: OneStatementTally): void {
  const s = t.summary;
  if (r.wireEvents > 0) {
    s.roundTrips += 1;
    s.wireEvents += r.wireEvents;
    t.metrics?.roundTrips.inc();
    t.metrics?.batchSize.observe(r.wireEvents);
  }
  for (const e of r.settled) {
    s.settled += 1;
    if (e.outcome === "rejected") {
      s.rejected += 1;
      s.dead += 1;
      t.metrics?.rejected.inc();
      t.metrics?.dead.inc();
      t.onSettled?.(e.id, { status: "dead", outcome: "rejected" });
      continue;
    }
    if (e.outcome === "duplicate") {
      s.duplicates += 1;
      t.metrics?.eventsDuplicate.inc();
    } else {
      s.applied += 1;
      t.metrics?.eventsApplied.inc();
      const latency = t.now - e.timestamp;
      t.metrics?.enqueueToApplied.observe(latency / 1000);
      if (t.latencies.length < t.latencyMax) t.latencies.push(latency);
    }
    t.onSettled?.(e.id, { status: "completed", outcome: e.outcome, ...(e.version !== undefined ? { appliedVersion: e.version } : {}) });
  }
}
