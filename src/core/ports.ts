/**
 * The ports the core talks to. Adapters (src/stores/*, src/sinks/*, src/realtime/*) implement
 * them; the core never imports an adapter or an I/O module.
 */
import type { EventStatus, EventType, QueuedEvent } from "./event.ts";

export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const t = setTimeout(done, ms);
      function done() {
        signal?.removeEventListener("abort", done);
        clearTimeout(t);
        resolve();
      }
      signal?.addEventListener("abort", done, { once: true });
    }),
};

// ---------------------------------------------------------------- queue store

export interface ListQuery {
  statuses?: EventStatus[];
  entity?: string;
  /** only events with timestamp >= since (epoch ms) */
  since?: number;
  limit: number;
  /** opaque cursor returned as `next` by the previous page */
  after?: string;
  order: "asc" | "desc";
}

export interface ListPage {
  events: QueuedEvent[];
  next: string | null;
}

export interface ClaimOptions {
  limit: number;
  /** lease length; a claimed event not settled by now + leaseMs returns to pending */
  leaseMs: number;
  now: number;
  /** who holds the lease (daemon id, pid) */
  owner: string;
}

/** A change to one event; `expectOwner` makes it a no-op (reported as lost) if the lease moved. */
export interface EventChange {
  id: string;
  changes: Partial<QueuedEvent>;
  expectOwner?: string;
  /** recorded in the event's history */
  note?: string;
}

export interface HistoryEntry {
  eventId: string;
  at: number;
  from?: EventStatus;
  to: EventStatus;
  note?: string;
}

export interface EnqueueResult {
  /** ids stored by this call */
  inserted: string[];
  /** ids that were already in the store and left as they were */
  existing: string[];
}

export interface StoreCapabilities {
  /** enqueue resolves only once the events survive a crash */
  durable: boolean;
  /** several processes may claim from it at once */
  shared: boolean;
  readOnly: boolean;
}

export interface QueueStore {
  readonly capabilities: StoreCapabilities;
  /** Adds events; idempotent on id. Resolves once durable (see capabilities.durable). */
  enqueue(events: QueuedEvent[]): Promise<EnqueueResult>;
  /** Inserts or overwrites whole events (import --replace). */
  put(events: QueuedEvent[]): Promise<void>;
  get(id: string): Promise<QueuedEvent | undefined>;
  getMany(ids: string[]): Promise<(QueuedEvent | undefined)[]>;
  list(query: ListQuery): Promise<ListPage>;
  counts(): Promise<Record<EventStatus, number>>;
  /** Walks every event in primary-key order, `batch` at a time, without cursors. */
  scan(batch?: number): AsyncIterable<QueuedEvent[]>;
  /**
   * Leases due events: pending (nextAttemptAt absent or due), failed with nextAttemptAt due, and
   * processing whose lease expired. Never hands out an event whose row has an earlier event that
   * is still processing under a live lease or failed and waiting for its retry.
   * Claimed events come back with status processing, leaseUntil and leaseOwner set.
   */
  claim(options: ClaimOptions): Promise<QueuedEvent[]>;
  /**
   * Ends `owner`'s leases on these events without settling them (a run that stops): each event
   * returns to the state it had before the claim. Optional; without it the engine writes the
   * status back with `update`.
   */
  release?(ids: string[], owner: string): Promise<void>;
  /** Applies changes; returns the ids whose lease was lost (expectOwner did not match). */
  update(changes: EventChange[]): Promise<{ lost: string[] }>;
  history(id: string): Promise<HistoryEntry[]>;
  /**
   * The id of a completed event of the same row and client that comes after this one in the row's
   * order, if any: applying this event now would reorder the row's edits (a queue written by a
   * client that went on after a failure). Optional: stores that cannot answer cheaply leave it out.
   */
  supersededBy?(event: QueuedEvent): Promise<string | undefined>;
  close(): Promise<void>;
}

/**
 * The read side of a queue store: what the inspection commands (`queue ls`, `show`, `stats`) use,
 * so that they read a local store and the shared Postgres queue through one interface.
 */
export type QueueReader = Pick<QueueStore, "get" | "getMany" | "list" | "counts" | "scan" | "history" | "close">;

// ---------------------------------------------------------------- cache store

export interface CacheEntry<T = unknown> {
  key: string;
  data: T;
  timestamp: number;
  ttl: number;
  version: number;
}

export interface CacheStore {
  get(key: string): Promise<CacheEntry | undefined>;
  set(entry: CacheEntry): Promise<void>;
  /** keys that start with prefix (all keys for "") */
  keysWithPrefix(prefix: string): Promise<string[]>;
  deleteKeys(keys: string[]): Promise<void>;
  /** keys whose timestamp + ttl < now */
  expiredKeys(now: number): Promise<string[]>;
}

// ---------------------------------------------------------------- sink

/**
 * `deferred`: not applied because an earlier edit of the same row by the same client conflicted in
 * the same batch; sent again after that one is settled.
 */
export type ApplyOutcome = "applied" | "duplicate" | "conflict" | "deferred" | "rejected";

/** An event as `mudsync.apply_batch` takes it: the export's field names. */
export interface WireEvent {
  id: string;
  type: EventType;
  entity: string;
  entityId: string;
  payload: Record<string, unknown>;
  timestamp: number;
  clientId?: string;
  seq?: number;
  baseVersion?: number;
  /** ids of events folded into this one by coalescing; recorded as applied too */
  coalesced?: string[];
}

export interface ApplyResult {
  id: string;
  outcome: ApplyOutcome;
  version?: number;
  current?: unknown;
  reason?: string;
}

export interface RowState {
  entity: string;
  id: string;
  version: number;
  data: unknown;
  updatedAt?: string;
  updatedBy?: string;
}

export interface DryRunReport {
  results: ApplyResult[];
  rows: { entity: string; id: string; before: RowState | null; after: RowState | null }[];
}

/** The sink a dry run hands out: its writes all go into one transaction that is rolled back. */
export interface RolledBackSink extends Sink {
  /** Rows by key, in order; null for a missing row or an entity the server does not know. */
  readRows(keys: { entity: string; id: string }[]): Promise<(RowState | null)[]>;
}

export interface SinkCapabilities {
  supportsTransactions: boolean;
  supportsListen: boolean;
  supportsDryRun: boolean;
}

/** A conflict parked on the server for a person (`manual` strategy). */
export interface ConflictRecord {
  id: number;
  eventId: string;
  entity: string;
  entityId: string;
  baseVersion: number | null;
  currentVersion: number | null;
  /** the parked event */
  local: WireEvent;
  /** the row it lost against (null when the row was missing) */
  remote: RowState | null;
  status: "open" | "resolved";
  resolution: "local" | "remote" | "merged" | null;
  merged: unknown;
  createdAt: string;
  createdBy: string | null;
  resolvedAt: string | null;
  resolvedBy: string | null;
}

export type ConflictTake = "local" | "remote" | "merged";

export interface ResolveConflictResult {
  conflictId: number;
  eventId: string;
  take: ConflictTake;
  /** what applying the chosen side did (outcome "resolved" for remote) */
  result: { id: string; outcome: string; version?: number };
  /** the row after resolution */
  row: RowState | null;
}

/** One decision of the server's audit log (the `audit_log` view). */
export interface AuditEntry {
  id: number;
  at: string;
  batchId: string | null;
  eventId: string | null;
  entity: string | null;
  entityId: string | null;
  /** applied, duplicate, conflict, deferred, rejected, parked, resolved, replayed */
  decision: string;
  version: number | null;
  reason: string | null;
  /** who: the JWT sub, the event's client id, or the person given as --actor */
  actor: string | null;
  positionInBatch: number | null;
}

export interface AuditQuery {
  eventId?: string;
  row?: { entity: string; id: string };
  /** only entries at or after this time (epoch ms) */
  since?: number;
  limit: number;
  order: "asc" | "desc";
}

export interface Sink {
  readonly name: string;
  readonly capabilities: SinkCapabilities;
  /** One batch = one round trip = one transaction. Throws SinkError (retryable or permanent). */
  applyBatch(events: WireEvent[]): Promise<ApplyResult[]>;
  /** Applies inside a transaction that is rolled back; reports rows before and after. */
  dryRun(events: WireEvent[]): Promise<DryRunReport>;
  /**
   * Runs fn against a view of this sink inside one transaction that is rolled back at the end
   * (dry runs of a whole drain); a sink that cannot roll back throws a UsageError or leaves it out.
   */
  rolledBack?<T>(fn: (sink: RolledBackSink) => Promise<T>): Promise<T>;
  getRow(entity: string, id: string): Promise<RowState | null>;
  close(): Promise<void>;
  /** Parks conflicting events with the rows they lost against (a RowState or null); idempotent per event id. */
  parkConflicts?(items: { event: WireEvent; current: unknown }[]): Promise<{ conflictId: number; eventId: string }[]>;
  listConflicts?(query?: { status?: "open" | "resolved"; limit?: number }): Promise<ConflictRecord[]>;
  getConflict?(id: number): Promise<ConflictRecord | null>;
  /** Applies the chosen side atomically and audits it; `merged` is required for take = "merged". */
  /**
   * Applies the chosen side atomically and audits it. `merged` (take "merged"): the whole document or
   * entry, null to remove it. `expectedVersion`: refuse when the row has moved from that version.
   */
  resolveConflict?(id: number, take: ConflictTake, merged?: unknown, actor?: string, expectedVersion?: number): Promise<ResolveConflictResult>;
  /** Records in the audit log that a person moved these events back to pending (replay, retry). */
  recordReplays?(events: { id: string; entity?: string; entityId?: string }[], actor: string, reason: string): Promise<number>;
  /** Reads the audit log, filtered; newest or oldest first. */
  listAudit?(query: AuditQuery): Promise<AuditEntry[]>;
}

// ---------------------------------------------------------------- change feed

export interface RowChange {
  entity: string;
  id: string;
  version: number;
  op: "insert" | "update" | "delete";
  changedBy?: string;
}

export interface ChangeFeed {
  subscribe(onChange: (change: RowChange) => void): Promise<() => Promise<void>>;
}
