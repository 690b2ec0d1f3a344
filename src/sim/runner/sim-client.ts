/**
 * A simulated client: the seed's client built from mudsync's own parts — a Dexie store, an engine,
 * a TTL cache over the store's cache table, optimistic state and the run's change feed. A user
 * action goes optimistic apply → enqueue → drain → commit, or rollback when the server rejects it
 * or a strategy drops it; a read is the cached server row with the pending edits on top.
 */
import type { QueuedEvent, EventType } from "../../core/event.ts";
import { Engine } from "../../core/engine.ts";
import { TtlCache } from "../../core/cache.ts";
import { rowCacheKey } from "../../core/cache-keys.ts";
import { OptimisticStateManager } from "../../core/optimistic.ts";
import { DEFAULT_RETRY_POLICY } from "../../core/retry.ts";
import type { Clock, QueueStore, RowChange, RowState, Sink } from "../../core/ports.ts";
import type { ConflictStrategy } from "../../core/conflict.ts";
import { openDexieStore } from "../../stores/dexie/open-dexie-store.ts";
import type { DexieQueueStore } from "../../stores/dexie/dexie-queue-store.ts";
import { prng } from "../seeded-random.ts";
import type { ReadSource } from "../history/history-records.ts";
import { SinkError } from "../../errors.ts";
import { ClientSink } from "./client-sink.ts";
import type { HistoryWriter } from "./history-writer.ts";
import { DOCUMENT_FIELDS, editFn, effectOf, isChart, normalise } from "./row-value.ts";
import type { Action } from "./workload.ts";

export interface SimClientOptions {
  id: string;
  dir: string;
  clock: Clock;
  sink: Sink;
  history: HistoryWriter;
  seed: number;
  cacheTtlMs: number;
  engine: { batchSize: number; coalesce: boolean; maxAttempts: number };
  strategyFor(entity: string): ConflictStrategy;
  /** deliberately broken behaviour, for tests that show the checker catches it */
  variant?: ClientVariant;
  /**
   * A shared queue the client enqueues into instead of its own store, for daemons to drain: the
   * client then never drains, and learns its events' fates from settledRemotely().
   */
  sharedQueue?: QueueStore;
}

export interface ClientVariant {
  /** the view keeps serving a cached row after it was invalidated */
  ignoreInvalidation?: boolean;
  /** an edit the server refused or a strategy dropped stays in the view */
  neverRollBack?: boolean;
}

export interface DrainReport {
  settled: number;
  /** rows this drain changed on the server, with the version each reached */
  written: Map<string, number>;
}

const LEASE_MS = 30_000;

export class SimClient {
  readonly sink: ClientSink;
  private store!: DexieQueueStore;
  private cache!: TtlCache;
  private engine!: Engine;
  private readonly optimistic = new OptimisticStateManager<unknown>();
  private seq = 0;
  private readonly rolledBack = new Set<string>();
  private written = new Map<string, number>();
  private settledNow = 0;
  /** rows whose cache entry must go after the drain (hooks run synchronously) */
  private staleRows = new Map<string, { entity: string; id: string }>();

  private constructor(private readonly o: SimClientOptions) {
    this.sink = new ClientSink(o.sink, o.id);
  }

  static async open(o: SimClientOptions): Promise<SimClient> {
    const c = new SimClient(o);
    c.store = await openDexieStore({ dir: o.dir, mode: "write", command: `sim client ${o.id}`, clock: o.clock });
    c.cache = new TtlCache(c.store.cache, o.clock, o.cacheTtlMs);
    c.engine = new Engine({
      store: c.store,
      sink: c.sink,
      clock: o.clock,
      settings: {
        batchSize: o.engine.batchSize,
        coalesce: o.engine.coalesce,
        leaseMs: LEASE_MS,
        owner: `sim:${o.id}`,
        retry: { ...DEFAULT_RETRY_POLICY, maxAttempts: o.engine.maxAttempts, random: prng(o.seed) },
        strategyFor: o.strategyFor,
      },
      hooks: {
        onRollback: (e) => void c.rolledBack.add(e.id),
        onSettled: (e, changes) => c.settled(e, changes),
      },
    });
    return c;
  }

  get id(): string {
    return this.o.id;
  }

  get online(): boolean {
    return this.sink.online;
  }

  /** Goes offline or comes back; coming back drops the cache (changes were missed meanwhile). */
  async setOnline(online: boolean): Promise<void> {
    if (this.sink.online === online) return;
    this.sink.online = online;
    this.o.history.write({ type: "phase", client: this.id, phase: online ? "online" : "offline" });
    if (online && !this.o.variant?.ignoreInvalidation) await this.cache.invalidate("*");
  }

  /** One user action from the generator. */
  async act(action: Action): Promise<void> {
    if (action.kind === "read") {
      await this.read(action.entity, action.entityId);
      return;
    }
    const key = rowCacheKey(action.entity, action.entityId);
    await this.view(action.entity, action.entityId);
    const current = this.optimistic.view(key);
    const seq = this.seq + 1;
    const value = `${this.id}:${seq}`;
    let type: EventType;
    let payload: Record<string, unknown>;
    if (isChart(action.entity)) {
      const entry = action.entry ?? "curve-1";
      const selected = normalise(action.entity, current)?.[entry] !== undefined;
      // a deselect of an entry that is not selected is a select: the user toggles what they see
      type = action.kind === "remove" && selected ? "remove" : "add";
      payload = type === "remove" ? { id: entry } : { id: entry, label: value };
    } else {
      const exists = current !== undefined && current !== null;
      type = exists ? "update" : "add";
      const fields = type === "add" ? DOCUMENT_FIELDS.map((_, i) => i) : action.fields;
      payload = Object.fromEntries(fields.map((i) => [DOCUMENT_FIELDS[i]!, value]));
    }
    await this.edit(action.entity, action.entityId, type, payload);
  }

  /** Makes an edit the way the app does: optimistic first, then into the durable queue. */
  async edit(entity: string, entityId: string, type: EventType, payload: Record<string, unknown>, fault?: string): Promise<void> {
    const key = rowCacheKey(entity, entityId);
    const seq = ++this.seq;
    const id = `${this.id}-${seq}`;
    const baseVersion = this.optimistic.confirmedVersion(key);
    const event: QueuedEvent = {
      id, type, entity, entityId, payload, timestamp: this.o.clock.now(), status: "pending", retryCount: 0, clientId: this.id, seq,
      ...(baseVersion !== undefined ? { baseVersion } : {}),
    };
    // the row as this client last saw it: the base of a three-way merge if the edit conflicts
    const base = this.optimistic.confirmed(key);
    if (baseVersion !== undefined && base !== undefined) (event as Record<string, unknown>)["base"] = base;
    const row = `${entity}:${entityId}`;
    const written = { client: this.id, event: id, seq, row, op: type, effect: effectOf(entity, type, payload), baseVersion: baseVersion ?? null, ...(fault ? { fault } : {}) };
    this.optimistic.apply(key, editFn(entity, type, payload), id);
    try {
      await (this.o.sharedQueue ?? this.store).enqueue([event]);
    } catch (err) {
      this.optimistic.rollback(id);
      this.o.history.write({ type: "write", ...written, outcome: "refused", reason: (err as Error).message });
      return;
    }
    this.o.history.write({ type: "write", ...written, outcome: "acked" });
  }

  /**
   * Reads a row through the view and records what the user sees. The final read tries the server
   * again when a broken connection answered (as the app does on its next render), so that a cut
   * just before the end does not pass for a stale view.
   */
  async read(entity: string, entityId: string, final = false): Promise<void> {
    let source = await this.view(entity, entityId);
    for (let retry = 0; final && source === "offline" && this.online && retry < 5; retry++) source = await this.view(entity, entityId);
    const key = rowCacheKey(entity, entityId);
    this.o.history.write({
      type: final ? "final-view" : "read",
      client: this.id,
      row: `${entity}:${entityId}`,
      version: this.optimistic.confirmedVersion(key) ?? null,
      value: normalise(entity, this.optimistic.view(key)),
      pending: this.optimistic.pending(key),
      source,
    } as never);
  }

  /** Brings the confirmed state under the view up to the cache (fetching on a miss when online). */
  private async view(entity: string, entityId: string): Promise<ReadSource> {
    const key = rowCacheKey(entity, entityId);
    let source: ReadSource = "cache";
    let row: RowState | null | undefined;
    if (this.online) {
      try {
        row = await this.cache.get<RowState | null>(key, async () => {
          source = "server";
          return this.sink.getRow(entity, entityId);
        });
      } catch (err) {
        // the server did not answer (a cut, a terminated session): the app shows what it has
        if (!(err instanceof SinkError && err.retryable)) throw err;
        source = "offline";
        row = await this.cache.peek<RowState | null>(key);
      }
    } else {
      source = "offline";
      row = await this.cache.peek<RowState | null>(key);
    }
    if (row !== undefined) this.optimistic.confirm(key, row?.data ?? undefined, row?.version ?? 0);
    return source;
  }

  /** Applies what is due in the queue; returns what the server now has from this client. */
  async drain(): Promise<DrainReport> {
    this.written = new Map();
    this.settledNow = 0;
    if (this.online && !this.o.sharedQueue) {
      try {
        await this.engine.drain();
      } catch (err) {
        if (!(err instanceof Error && err.name === "SinkUnreachableError")) throw err;
      }
    }
    if (!this.o.variant?.ignoreInvalidation) {
      for (const { entity, id } of this.staleRows.values()) await this.cache.invalidateRow(entity, id);
    }
    this.staleRows.clear();
    return { settled: this.settledNow, written: this.written };
  }

  /** Events not settled yet: pending, failed (waiting for a retry) or processing. */
  async unsettled(): Promise<number> {
    if (this.o.sharedQueue) return 0; // the daemons' business
    const c = await this.store.counts();
    return c.pending + c.failed + c.processing;
  }

  /** A change from the feed: the row's cached copy is out of date. */
  async changed(change: RowChange): Promise<void> {
    if (this.o.variant?.ignoreInvalidation) return;
    await this.cache.invalidateRow(change.entity, change.id);
  }

  /** Every event in the store, as `queue export` would write them. */
  async exportQueue(): Promise<QueuedEvent[]> {
    const out: QueuedEvent[] = [];
    for await (const page of this.store.scan(1000)) out.push(...page);
    return structuredClone(out);
  }

  /** Writes an export back over the store (`queue import --replace`). */
  async importReplacing(events: QueuedEvent[]): Promise<void> {
    await this.store.put(events);
  }

  /**
   * An event of this client that a daemon settled: the client hears of its fate (as the app does
   * from a status poll or the change feed) and commits or rolls back its optimistic edit. An edit
   * a strategy dropped is rolled back: the client cannot tell from here whether the server already
   * had its fields.
   */
  settledRemotely(e: QueuedEvent): void {
    if (e.status === "completed" && e.outcome === "conflict") this.rolledBack.add(e.id);
    this.settled(e, { status: e.status, outcome: e.outcome, appliedVersion: e.appliedVersion, lastError: e.lastError, payload: e.payload });
  }

  async close(): Promise<void> {
    await this.store.close();
  }

  private settled(e: QueuedEvent, changes: Partial<QueuedEvent>): void {
    const h = this.o.history;
    const row = `${e.entity}:${e.entityId}`;
    const status = changes.status ?? e.status;
    const reason = status === "completed" && changes.outcome !== "conflict" ? undefined : changes.lastError;
    h.write({
      type: "settle", client: this.id, event: e.id, row, status: status as "completed",
      ...(changes.outcome !== undefined ? { outcome: changes.outcome } : {}),
      ...(changes.appliedVersion !== undefined ? { version: changes.appliedVersion } : {}),
      ...(reason !== undefined ? { reason } : {}),
      ...(changes.payload !== undefined ? { effect: effectOf(e.entity, e.type, changes.payload) } : {}),
    });
    this.settledNow += 1;
    const key = rowCacheKey(e.entity, e.entityId);
    const applied = status === "completed" && (changes.outcome === "applied" || changes.outcome === "coalesced" || changes.outcome === "duplicate");
    if (applied && changes.appliedVersion !== undefined) {
      this.written.set(row, Math.max(this.written.get(row) ?? 0, changes.appliedVersion));
    }
    if (status === "completed" || status === "dead") this.staleRows.set(row, { entity: e.entity, id: e.entityId });
    const rollback = status === "dead" || (status === "completed" && this.rolledBack.delete(e.id));
    if (rollback) {
      if (this.o.variant?.neverRollBack) return;
      if (this.optimistic.rollback(e.id)) h.write({ type: "rollback", client: this.id, event: e.id, row, reason: changes.lastError ?? "dropped" });
    } else if (status === "completed") {
      if (this.optimistic.commit(e.id, applied ? changes.appliedVersion : undefined)) {
        h.write({ type: "commit", client: this.id, event: e.id, row, version: applied ? (changes.appliedVersion ?? null) : null });
      }
    }
  }
}
