/**
 * The drain loop: claim due events with a lease, plan order-preserving batches, apply each batch
 * in one round trip through the Sink, and settle every original event from the per-event results
 * (completed, failed with a persisted retry time, dead, or a conflict resolved by strategy).
 *
 * Claiming the next batch overlaps with applying the current one, and settling overlaps with the
 * next apply: the local store, not the server, is the first bottleneck. Overlap is safe because a
 * claimed event keeps its row blocked (processing under a live lease) until it is settled.
 *
 * Order of a row's edits: a claim takes each row's events in timestamp order, and a batch orders
 * the events of a row it holds by (clientId, seq, timestamp), as the server does. For the events of
 * one client (seq and timestamp grow together) the two orders agree.
 */
import type { EventStatus, QueuedEvent } from "./event.ts";
import type { ApplyResult, ClaimOptions, Clock, EventChange, QueueStore, Sink, WireEvent } from "./ports.ts";
import { planBatches, type Batch } from "./batcher.ts";
import { toWireEvent } from "./coalesce.ts";
import type { ConflictAudit, ConflictStrategy } from "./conflict.ts";
import { settleConflict } from "./conflict-settlement.ts";
import { DEFAULT_RETRY_POLICY, failureChanges, type RetryPolicy } from "./retry.ts";
import type { EngineMetrics } from "./metrics.ts";
import { emptySummary, percentiles, type DrainSummary } from "./drain-summary.ts";
import { drainOneStatement, recordOneStatement, type OneStatementBatches, type OneStatementHanded } from "./one-statement-drain.ts";
import { SinkError, SinkSetupError, SinkUnreachableError } from "../errors.ts";
import { giveBack, HeldClaims } from "./held-claims.ts";
import { describeValueProblem, valueProblem } from "./value-limits.ts";
import { OwnVersions } from "./own-versions.ts";

export interface EngineSettings {
  batchSize: number;
  coalesce: boolean;
  leaseMs: number;
  /** lease holder name (daemon id or pid) */
  owner: string;
  retry: Omit<RetryPolicy, "random"> & { random?: () => number };
  strategyFor(entity: string): ConflictStrategy;
}

export interface EngineHooks {
  /** an event was settled (applied, duplicate, dropped, dead …) */
  onSettled?(event: QueuedEvent, changes: Partial<QueuedEvent>): void;
  /** an event was settled inside a one-statement transaction (only its id and the outcome reach the client) */
  onOneStatementSettled?(id: string, changes: Partial<QueuedEvent>): void;
  /** a conflict decision was taken (for audit logs) */
  onConflict?(audit: ConflictAudit): void;
  /** the optimistic state of this event should be rolled back (remote-wins, dropped merges) */
  onRollback?(event: QueuedEvent): void;
  /** the server rejected or failed a batch as a whole */
  onBatchError?(error: unknown, batch: WireEvent[]): void;
  onProgress?(summary: DrainSummary): void;
}

export interface EngineDeps {
  store: QueueStore;
  sink: Sink;
  clock: Clock;
  settings: EngineSettings;
  metrics?: EngineMetrics;
  hooks?: EngineHooks;
  /** the store's one-statement drain over this sink (queue and sink in one database); see one-statement-drain.ts */
  oneStatement?: OneStatementBatches;
}

export type { DrainSummary };

export interface DrainOptions {
  /** keep going while failed events wait for their retry time */
  wait?: boolean;
  /** stop claiming when aborted; the batch in flight is finished and settled */
  signal?: AbortSignal;
  /** how often to poll while waiting for retries (default 250 ms) */
  pollMs?: number;
}

const LATENCY_SAMPLES_MAX = 1_000_000;

/**
 * A promise the loop awaits later (a prefetched claim, a settle running behind the next apply): it
 * may fail while the loop awaits something else, and is marked handled so that the failure is
 * thrown where the loop awaits it instead of crashing the process as an unhandled rejection.
 */
function handled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

/** The claimed event is older than an edit of its row that was already applied. */
class Superseded {
  constructor(readonly by: string) {}
}
/**
 * A conflict answered for a wire event that carried several coalesced edits: the merged edit is
 * not one the user made, so no strategy settles it; its edits are sent again one by one.
 */
class CoalescedConflict {}
type Outcome = ApplyResult | Error | Superseded | CoalescedConflict;

export class Engine {
  private readonly summary: DrainSummary = emptySummary();
  private readonly latencies: number[] = [];
  /** ids claimed by this engine and not yet settled or released */
  private readonly held = new HeldClaims();
  private startedAt = 0;
  private readonly retry: RetryPolicy;
  /** versions this engine's applied edits wrote, to send a client's later edits as made on them */
  private readonly own = new OwnVersions();

  constructor(private readonly deps: EngineDeps) {
    this.retry = { ...DEFAULT_RETRY_POLICY, ...deps.settings.retry };
  }

  /** Claims and applies what is due now, once (at most one claim). Returns the events settled. */
  async step(): Promise<number> {
    const claimed = await this.claim();
    if (claimed.length === 0) return 0;
    const outcomes = await this.applyAll(claimed).catch((error: unknown) => {
      this.held.letGo(claimed); // left leased: claimable again once the lease expires
      throw error;
    });
    await this.settle(claimed, outcomes);
    return claimed.length;
  }

  /** Processes everything due until nothing is claimable (and, with `wait`, nothing is retrying). */
  async drain(options: DrainOptions = {}): Promise<DrainSummary> {
    const { clock } = this.deps;
    this.startedAt = clock.now();
    // one transaction per batch when the store can; after a failed one the pass goes on leased
    if (this.deps.oneStatement && (await this.drainOneStatement(this.deps.oneStatement, options)) === "done") return this.finish();
    const stopping = () => options.signal?.aborted === true;
    let claimP: Promise<QueuedEvent[]> = handled(this.claim());
    let settleP: Promise<void> = Promise.resolve();
    /** claimed and not yet handed to settle: released if the run stops on an error */
    let inFlight: QueuedEvent[] = [];
    try {
      for (;;) {
        const claimed = await claimP;
        claimP = Promise.resolve([]);
        if (stopping()) {
          if (claimed.length > 0) await this.release(claimed);
          break;
        }
        if (claimed.length === 0) {
          await settleP; // settling may have unblocked rows
          if (stopping()) break;
          const again = await this.claim();
          if (again.length > 0) {
            claimP = Promise.resolve(again);
            continue;
          }
          if (!options.wait || !(await this.somethingWillBeDue())) break;
          await clock.sleep(options.pollMs ?? 250, options.signal);
          claimP = handled(this.claim());
          continue;
        }
        claimP = stopping() ? Promise.resolve([]) : handled(this.claim());
        inFlight = claimed;
        const outcomes = await this.applyAll(claimed);
        await settleP;
        inFlight = [];
        settleP = handled(this.settle(claimed, outcomes));
        if (this.deps.hooks?.onProgress) this.deps.hooks.onProgress(this.snapshot(false));
      }
      await settleP;
    } finally {
      // the previous batch's settle may still run when an apply throws: let it finish first
      await settleP.catch(() => undefined);
      // a claim prefetched while stopping goes back to pending instead of waiting for its lease
      const leftover = [...inFlight, ...(await claimP.catch(() => []))];
      if (leftover.length > 0) await this.release(leftover);
    }
    return this.finish();
  }

  private async finish(): Promise<DrainSummary> {
    const result = this.snapshot();
    result.left = await this.deps.store.counts();
    return result;
  }

  private drainOneStatement(batches: OneStatementBatches, options: DrainOptions): Promise<"done" | "failed"> {
    const { clock, metrics, hooks } = this.deps;
    return drainOneStatement(
      {
        batches,
        clock,
        claimOptions: () => this.claimOptions(),
        record: (r) =>
          recordOneStatement(r, { summary: this.summary, latencies: this.latencies, latencyMax: LATENCY_SAMPLES_MAX, metrics, onSettled: hooks?.onOneStatementSettled, now: clock.now() }),
        settleHanded: (handed) => this.settleHanded(handed),
        somethingWillBeDue: () => this.somethingWillBeDue(),
        onProgress: hooks?.onProgress && (() => hooks.onProgress!(this.snapshot(false))),
      },
      options,
    );
  }

  /** Events a one-statement transaction left leased to this engine: applied here if they have no result, then settled. */
  private async settleHanded(handed: OneStatementHanded[]): Promise<void> {
    const outcomes = new Map<string, Outcome>();
    for (const h of handed) if (h.result) outcomes.set(h.event.id, h.result);
    const unsent = handed.filter((h) => !h.result).map((h) => h.event);
    if (unsent.length > 0) for (const [id, o] of await this.applyAll(unsent)) outcomes.set(id, o);
    await this.settle(handed.map((h) => h.event), outcomes);
  }

  /**
   * Counters so far. Latency percentiles sort every sample, so progress reports (once per batch)
   * leave them out; the final summary has them.
   */
  snapshot(withLatency = true): DrainSummary {
    const s = structuredClone(this.summary);
    s.durationMs = Math.max(0, this.deps.clock.now() - this.startedAt);
    s.eventsPerSec = s.durationMs > 0 ? Math.round((s.settled * 1000) / s.durationMs) : 0;
    if (withLatency) s.latencyMs = percentiles(this.latencies);
    return s;
  }

  /** Claims due events, leaving out those this engine still holds (see held-claims.ts). */
  private async claim(): Promise<QueuedEvent[]> {
    return this.held.take(await this.deps.store.claim(this.claimOptions()));
  }

  private claimOptions(): ClaimOptions {
    const { clock, settings } = this.deps;
    return { limit: settings.batchSize, leaseMs: settings.leaseMs, now: clock.now(), owner: settings.owner };
  }

  /** Gives leases back without settling (the run stopped; see held-claims.ts). */
  private async release(events: QueuedEvent[]): Promise<void> {
    await giveBack(this.deps.store, events, this.deps.settings.owner).finally(() => this.held.letGo(events));
  }

  /** True when failed events wait for a retry time or rows are blocked by live leases elsewhere. */
  private async somethingWillBeDue(): Promise<boolean> {
    const c = await this.deps.store.counts();
    return c.failed > 0 || c.processing > 0;
  }

  private async applyAll(claimed: QueuedEvent[]): Promise<Map<string, Outcome>> {
    const { settings, store } = this.deps;
    const outcomes = new Map<string, Outcome>();
    // an event the server can never store (a store written before such values were refused at
    // the door) is rejected on its own here: sent, it would fail its whole batch
    let toApply: QueuedEvent[] = [];
    for (const e of claimed) {
      const bad = valueProblem(e);
      if (bad) outcomes.set(e.id, { id: e.id, outcome: "rejected", reason: `not sent: ${describeValueProblem(bad)}` });
      else toApply.push(e);
    }
    if (store.supersededBy) {
      const due = toApply;
      toApply = [];
      for (const e of due) {
        const by = e.replayedAt === undefined ? await store.supersededBy(e) : undefined;
        if (by === undefined) toApply.push(e);
        else outcomes.set(e.id, new Superseded(by));
      }
    }
    // an edit made before the same client's earlier edits of its row landed is sent as made on them
    toApply = toApply.map((e) => {
      const base = this.own.baseFor(e);
      return base === e.baseVersion ? e : { ...e, baseVersion: base };
    });
    const batches = planBatches(toApply, { batchSize: settings.batchSize, coalesce: settings.coalesce });
    for (const batch of batches) await this.applyBatch(batch, outcomes);
    return outcomes;
  }

  /**
   * Applies one batch; on a whole-batch permanent error, splits it in halves to find the events
   * that cause it, so one bad event never blocks the others. Results are keyed by source event id.
   */
  private async applyBatch(batch: Batch, out: Map<string, Outcome>): Promise<void> {
    const { sink, metrics } = this.deps;
    this.summary.roundTrips += 1;
    this.summary.wireEvents += batch.events.length;
    metrics?.roundTrips.inc();
    metrics?.batchSize.observe(batch.events.length);
    let results: ApplyResult[];
    try {
      results = await sink.applyBatch(batch.events);
    } catch (err) {
      // the server, not an event, is at fault (not set up, or not reachable): stop; the pass gives
      // the claimed events back as they were, no attempt counted
      if (err instanceof SinkSetupError || err instanceof SinkUnreachableError) throw err;
      this.deps.hooks?.onBatchError?.(err, batch.events);
      const permanent = err instanceof SinkError && !err.retryable;
      if (permanent && batch.events.length > 1) {
        const mid = Math.ceil(batch.events.length / 2);
        for (const half of [batch.events.slice(0, mid), batch.events.slice(mid)]) {
          await this.applyBatch({ events: half, sources: batch.sources }, out);
        }
        return;
      }
      const error = err instanceof Error ? err : new Error(String(err));
      for (const w of batch.events) for (const id of batch.sources.get(w.id) ?? [w.id]) out.set(id, error);
      return;
    }
    if (results.length !== batch.events.length) {
      const error = new SinkError(`server answered ${results.length} results for ${batch.events.length} events`, true);
      for (const w of batch.events) for (const id of batch.sources.get(w.id) ?? [w.id]) out.set(id, error);
      return;
    }
    results.forEach((r, i) => {
      const w = batch.events[i]!;
      const sources = batch.sources.get(w.id) ?? [w.id];
      // folded-in events share the wire event's result (its id tells settle they were coalesced)
      const outcome = r.outcome === "conflict" && sources.length > 1 ? new CoalescedConflict() : r;
      for (const id of sources) out.set(id, outcome);
    });
  }

  private async settle(claimed: QueuedEvent[], outcomes: Map<string, Outcome>): Promise<void> {
    await this.settleOutcomes(claimed, outcomes).finally(() => this.held.letGo(claimed));
  }

  private async settleOutcomes(claimed: QueuedEvent[], outcomes: Map<string, Outcome>): Promise<void> {
    const { store, clock, sink, settings, metrics, hooks } = this.deps;
    const now = clock.now();
    const changes: EventChange[] = [];
    const parked: { event: WireEvent; current: unknown }[] = [];
    const s = this.summary;
    for (const event of claimed) {
      const outcome = outcomes.get(event.id);
      let c: Partial<QueuedEvent>;
      let note: string;
      if (outcome === undefined) {
        c = { status: "pending", leaseUntil: undefined, leaseOwner: undefined };
        note = "released: no result";
      } else if (outcome instanceof Superseded) {
        note =
          `superseded: event ${outcome.by} of this row, queued later, was already applied; applying this one now would ` +
          `reorder the row's edits (replay it deliberately with \`mudsync queue replay --ids ${event.id}\`)`;
        c = { status: "dead", lastError: note, deadAt: now, leaseUntil: undefined, leaseOwner: undefined };
        s.superseded += 1;
        s.dead += 1;
        metrics?.dead.inc();
      } else if (outcome instanceof CoalescedConflict) {
        // `outcome` set: never coalesced again, so the strategy settles each edit, in the row's order
        c = { status: "pending", outcome: "conflict", leaseUntil: undefined, leaseOwner: undefined, nextAttemptAt: undefined };
        note = "conflict on edits sent coalesced: each is sent again on its own, in order, for its strategy to settle";
        s.conflicts.split += 1;
      } else if (outcome instanceof Error) {
        c = failureChanges(event, outcome, now, this.retry);
        note = `${c.status}: ${c.lastError}`;
        if (c.status === "dead") {
          s.dead += 1;
          metrics?.dead.inc();
        } else {
          s.retried += 1;
          metrics?.retries.inc();
        }
      } else if (outcome.outcome === "applied" || outcome.outcome === "duplicate") {
        c = {
          status: "completed",
          outcome: outcome.id === event.id ? outcome.outcome : "coalesced",
          completedAt: now,
          leaseUntil: undefined,
          leaseOwner: undefined,
          lastError: undefined,
          nextAttemptAt: undefined,
        };
        if (outcome.version !== undefined) c.appliedVersion = outcome.version;
        if (outcome.outcome === "applied" && outcome.version !== undefined) this.own.record(event, outcome.version);
        note = `completed: ${c.outcome}${outcome.version !== undefined ? ` v${outcome.version}` : ""}`;
        if (outcome.outcome === "duplicate") {
          s.duplicates += 1;
          metrics?.eventsDuplicate.inc();
        } else {
          s.applied += 1;
          if (c.outcome === "coalesced") s.coalesced += 1;
          metrics?.eventsApplied.inc();
          const latency = now - event.timestamp;
          metrics?.enqueueToApplied.observe(latency / 1000);
          if (this.latencies.length < LATENCY_SAMPLES_MAX) this.latencies.push(latency);
        }
      } else if (outcome.outcome === "deferred") {
        c = { status: "pending", leaseUntil: undefined, leaseOwner: undefined };
        note = "deferred: an earlier edit of this row by the same client conflicted in the same batch; sent again after it";
        s.conflicts.deferred += 1;
      } else if (outcome.outcome === "rejected") {
        c = { status: "dead", outcome: "rejected", lastError: `rejected: ${outcome.reason ?? "no reason given"}`, deadAt: now, leaseUntil: undefined, leaseOwner: undefined };
        note = c.lastError!;
        s.rejected += 1;
        s.dead += 1;
        metrics?.rejected.inc();
        metrics?.dead.inc();
      } else {
        const r = settleConflict(event, outcome, { strategyFor: settings.strategyFor, maxAttempts: this.retry.maxAttempts, now, summary: s, metrics, hooks });
        c = r.changes;
        note = r.note;
        if (r.park) parked.push({ event: toWireEvent(event), current: outcome.current ?? null });
      }
      s.settled += 1;
      changes.push({ id: event.id, changes: c, expectOwner: settings.owner, note });
      hooks?.onSettled?.(event, c);
    }
    if (parked.length > 0 && sink.parkConflicts) await sink.parkConflicts(parked);
    const { lost } = await store.update(changes);
    s.lostLeases += lost.length;
  }
}
