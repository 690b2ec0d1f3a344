/**
 * In-memory fakes for unit tests: a manual clock, an in-memory CacheStore, and a reference model of
 * the server's apply semantics (`mudsync.apply_batch`) used as a test oracle.
 *
 * Reference model semantics (per row, events applied in the order given):
 * - duplicate: an event id already recorded → `duplicate`, nothing changes.
 * - conflict: baseVersion given and older than the row's version, or given for an update of a row
 *   that does not exist → `conflict` with the current row.
 * - documents (well, polygon, curve): add creates/replaces the document, update shallow-merges
 *   (creating it when missing), remove deletes (no-op when missing).
 * - chart_data_source: the row is `{ data_source_config: Entry[] }`; add inserts the entry keyed by
 *   payload.id (replacing one with that id), remove deletes it, update merges into it (inserting
 *   it when missing); a missing chart is created by add/update; remove on a missing chart is a no-op.
 * - every change bumps the row version by 1 (a coalesced wire event is one change); deleted rows
 *   keep their version as a tombstone. Coalesced ids are recorded with the wire event's outcome.
 * - unknown entity, or a chart event without payload.id → `rejected`.
 */
import fc from "fast-check";
import type { QueuedEvent } from "../../src/core/event.ts";
import type { ApplyResult, CacheEntry, CacheStore, Clock, WireEvent } from "../../src/core/ports.ts";

// ---------------------------------------------------------------- clock

interface Sleeper {
  due: number;
  resolve: () => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/** A clock that moves only when told to. `sleep` resolves when advance() passes its due time. */
export class FakeClock implements Clock {
  private sleepers: Sleeper[] = [];
  constructor(private current = 1_700_000_000_000) {}

  now(): number {
    return this.current;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const s: Sleeper = { due: this.current + Math.max(0, ms), resolve, signal };
      s.onAbort = () => {
        this.sleepers = this.sleepers.filter((x) => x !== s);
        resolve();
      };
      signal?.addEventListener("abort", s.onAbort, { once: true });
      this.sleepers.push(s);
    });
  }

  /** How many sleeps are waiting. */
  get sleeping(): number {
    return this.sleepers.length;
  }

  /** Moves time forward, waking sleepers in due order and letting their continuations run. */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      const next = this.sleepers.filter((s) => s.due <= target).sort((a, b) => a.due - b.due)[0];
      if (!next) break;
      this.current = Math.max(this.current, next.due);
      this.sleepers = this.sleepers.filter((s) => s !== next);
      if (next.onAbort) next.signal?.removeEventListener("abort", next.onAbort);
      next.resolve();
      await settle();
    }
    this.current = target;
    await settle();
  }

  /** Resolves once at least n sleeps are waiting (lets pending promise chains reach their sleep). */
  async untilSleeping(n = 1): Promise<void> {
    for (let i = 0; i < 1000 && this.sleepers.length < n; i++) await settle();
    if (this.sleepers.length < n) throw new Error(`FakeClock: expected ${n} sleepers, have ${this.sleepers.length}`);
  }
}

/** Lets queued promise continuations run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

// ---------------------------------------------------------------- cache store

/** CacheStore over a Map; counts calls so tests can check for full scans. */
export class MemoryCacheStore implements CacheStore {
  readonly entries = new Map<string, CacheEntry>();
  readonly calls = { get: 0, set: 0, keysWithPrefix: [] as string[], deleteKeys: 0, expiredKeys: 0 };

  async get(key: string): Promise<CacheEntry | undefined> {
    this.calls.get++;
    const e = this.entries.get(key);
    return e ? { ...e } : undefined;
  }
  async set(entry: CacheEntry): Promise<void> {
    this.calls.set++;
    this.entries.set(entry.key, { ...entry });
  }
  async keysWithPrefix(prefix: string): Promise<string[]> {
    this.calls.keysWithPrefix.push(prefix);
    return [...this.entries.keys()].filter((k) => k.startsWith(prefix));
  }
  async deleteKeys(keys: string[]): Promise<void> {
    this.calls.deleteKeys++;
    for (const k of keys) this.entries.delete(k);
  }
  async expiredKeys(now: number): Promise<string[]> {
    this.calls.expiredKeys++;
    return [...this.entries.values()].filter((e) => e.timestamp + e.ttl < now).map((e) => e.key);
  }
}

// ---------------------------------------------------------------- reference server model

export interface ModelRow {
  version: number;
  /** null = deleted (tombstone) */
  data: Record<string, unknown> | null;
}

export interface ModelState {
  rows: Map<string, ModelRow>;
  applied: Map<string, { outcome: ApplyResult["outcome"]; version?: number }>;
}

const DOCUMENTS = new Set(["well", "polygon", "curve"]);
const CHART = "chart_data_source";

export function createModel(): ModelState {
  return { rows: new Map(), applied: new Map() };
}

type Entry = Record<string, unknown>;

export function applyToModel(state: ModelState, ev: WireEvent): ApplyResult {
  if (state.applied.has(ev.id)) {
    return { id: ev.id, outcome: "duplicate", version: state.applied.get(ev.id)?.version };
  }
  const record = (r: ApplyResult): ApplyResult => {
    for (const id of [...(ev.coalesced ?? []), ev.id]) {
      const entry = r.version === undefined ? { outcome: r.outcome } : { outcome: r.outcome, version: r.version };
      state.applied.set(id, entry);
    }
    return r;
  };
  const key = `${ev.entity}:${ev.entityId}`;
  const row = state.rows.get(key);
  const exists = row !== undefined && row.data !== null;
  const version = row?.version ?? 0;
  const isChart = ev.entity === CHART;
  if (!isChart && !DOCUMENTS.has(ev.entity)) {
    return record({ id: ev.id, outcome: "rejected", reason: `unknown entity ${ev.entity}` });
  }
  const entryId = ev.payload["id"];
  if (isChart && typeof entryId !== "string" && typeof entryId !== "number") {
    return record({ id: ev.id, outcome: "rejected", reason: "chart entry without payload.id" });
  }
  if (ev.baseVersion !== undefined) {
    const stale = exists ? ev.baseVersion < version : ev.type === "update";
    if (stale) return { id: ev.id, outcome: "conflict", version, current: row?.data ?? null };
  }
  const write = (data: Record<string, unknown> | null): ApplyResult => {
    state.rows.set(key, { version: version + 1, data });
    return record({ id: ev.id, outcome: "applied", version: version + 1 });
  };
  const unchanged = () => record({ id: ev.id, outcome: "applied", version });

  if (!isChart) {
    if (ev.type === "add") return write({ ...ev.payload });
    if (ev.type === "update") return write({ ...(exists ? row.data : {}), ...ev.payload });
    return exists ? write(null) : unchanged();
  }
  const entries = exists ? ((row.data?.["data_source_config"] as Entry[]) ?? []) : [];
  const at = entries.findIndex((e) => e["id"] === entryId);
  if (ev.type === "remove") {
    if (!exists || at === -1) return unchanged();
    return write({ ...row.data, data_source_config: entries.filter((_, i) => i !== at) });
  }
  const next = [...entries];
  const entry = ev.type === "add" ? { ...ev.payload } : { ...(at === -1 ? {} : entries[at]), ...ev.payload };
  if (at === -1) next.push(entry);
  else next[at] = entry;
  return write({ ...(exists ? row.data : {}), data_source_config: next });
}

export function applyBatchToModel(state: ModelState, events: readonly WireEvent[]): ApplyResult[] {
  return events.map((e) => applyToModel(state, e));
}

/**
 * The rows' visible content for comparisons: deleted rows and charts with no entries are left out
 * (a chart created by an add that was later removed equals one never created); a chart shows as
 * its entry list, in order. Versions are not compared: coalescing writes a row fewer times by design.
 */
export function modelSnapshot(state: ModelState): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, row] of [...state.rows].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (row.data === null) continue;
    if (key.startsWith(`${CHART}:`)) {
      const entries = (row.data["data_source_config"] as Entry[]) ?? [];
      if (entries.length === 0) continue;
      out[key] = entries;
    } else {
      out[key] = row.data;
    }
  }
  return out;
}

// ---------------------------------------------------------------- events

/** A pending queued event with defaults filled in. */
export function makeEvent(partial: Partial<QueuedEvent> & { id: string }): QueuedEvent {
  return {
    type: "update",
    entity: "well",
    entityId: "w1",
    payload: {},
    timestamp: 1_700_000_000_000,
    status: "pending",
    retryCount: 0,
    ...partial,
  };
}

const ARB_ROWS = [
  ["chart_data_source", "c1"],
  ["chart_data_source", "c2"],
  ["well", "w1"],
  ["polygon", "p1"],
  ["curve", "k1"],
] as const;

const eventSpec = fc.record({
  row: fc.integer({ min: 0, max: ARB_ROWS.length - 1 }),
  type: fc.constantFrom("add", "remove", "update", "update"),
  clientId: fc.constantFrom(undefined, "A", "B"),
  entry: fc.constantFrom("x", "y"),
  fields: fc.dictionary(fc.constantFrom("a", "b", "c"), fc.integer({ min: 0, max: 3 }), { maxKeys: 3 }),
  sent: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
});

/** Random event sequences over a few rows of each built-in entity, for property tests. */
export const eventsArbitrary = fc.array(eventSpec, { maxLength: 60 }).map((specs) =>
  specs.map((s, i): QueuedEvent => {
    const [entity, entityId] = ARB_ROWS[s.row] ?? ARB_ROWS[0];
    return makeEvent({
      id: `e${i}`,
      type: s.type,
      entity,
      entityId,
      payload: entity === "chart_data_source" ? { ...s.fields, id: s.entry } : s.fields,
      timestamp: 1_000 + i,
      seq: i,
      ...(s.clientId ? { clientId: s.clientId } : {}),
      ...(s.sent ? { retryCount: 1 } : {}),
    });
  }),
);
