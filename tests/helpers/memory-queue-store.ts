/**
 * An in-memory QueueStore with the port's claim semantics, for engine unit tests. A test double,
 * not a product store: no durability, linear scans.
 */
import { EVENT_STATUSES, compareRowOrder, rowKey, type EventStatus, type QueuedEvent } from "../../src/core/event.ts";
import type {
  ClaimOptions,
  EnqueueResult,
  EventChange,
  HistoryEntry,
  ListPage,
  ListQuery,
  QueueStore,
} from "../../src/core/ports.ts";

export class MemoryQueueStore implements QueueStore {
  readonly capabilities = { durable: false, shared: false, readOnly: false };
  readonly events = new Map<string, QueuedEvent>();
  private readonly log: HistoryEntry[] = [];
  claims = 0;

  async enqueue(events: QueuedEvent[]): Promise<EnqueueResult> {
    const r: EnqueueResult = { inserted: [], existing: [] };
    for (const e of events) {
      if (this.events.has(e.id)) r.existing.push(e.id);
      else {
        this.events.set(e.id, structuredClone(e));
        r.inserted.push(e.id);
      }
    }
    return r;
  }
  async put(events: QueuedEvent[]): Promise<void> {
    for (const e of events) this.events.set(e.id, structuredClone(e));
  }
  async get(id: string) {
    const e = this.events.get(id);
    return e && structuredClone(e);
  }
  async getMany(ids: string[]) {
    return Promise.all(ids.map((id) => this.get(id)));
  }
  private ordered(): QueuedEvent[] {
    return [...this.events.values()].sort((a, b) => a.timestamp - b.timestamp || (a.id < b.id ? -1 : 1));
  }
  async list(q: ListQuery): Promise<ListPage> {
    let all = this.ordered().filter(
      (e) => (!q.statuses || q.statuses.includes(e.status)) && (!q.entity || e.entity === q.entity) && (q.since === undefined || e.timestamp >= q.since),
    );
    if (q.order === "desc") all.reverse();
    const start = q.after ? all.findIndex((e) => e.id === q.after) + 1 : 0;
    all = all.slice(start, start + q.limit);
    const last = all.at(-1);
    return { events: all.map((e) => structuredClone(e)), next: all.length === q.limit && last ? last.id : null };
  }
  async counts() {
    const c = Object.fromEntries(EVENT_STATUSES.map((s) => [s, 0])) as Record<EventStatus, number>;
    for (const e of this.events.values()) c[e.status] += 1;
    return c;
  }
  async *scan(batch = 500) {
    const all = [...this.events.keys()].sort();
    for (let i = 0; i < all.length; i += batch) yield all.slice(i, i + batch).map((id) => structuredClone(this.events.get(id)!));
  }
  async claim(o: ClaimOptions): Promise<QueuedEvent[]> {
    this.claims += 1;
    const blocked = new Set<string>();
    const out: QueuedEvent[] = [];
    for (const e of this.ordered()) {
      const key = rowKey(e);
      const expired = e.status === "processing" && (e.leaseUntil ?? 0) <= o.now;
      const due =
        (e.status === "pending" && (e.nextAttemptAt ?? 0) <= o.now) ||
        (e.status === "failed" && (e.nextAttemptAt ?? 0) <= o.now) ||
        expired;
      const unfinished = e.status === "pending" || e.status === "failed" || e.status === "processing";
      if (due && !blocked.has(key) && out.length < o.limit) {
        e.status = "processing";
        e.leaseUntil = o.now + o.leaseMs;
        e.leaseOwner = o.owner;
        out.push(structuredClone(e));
      } else if (unfinished && !out.some((x) => x.id === e.id)) {
        blocked.add(key);
      }
    }
    return out;
  }
  async update(changes: EventChange[]) {
    const lost: string[] = [];
    for (const ch of changes) {
      const e = this.events.get(ch.id);
      if (!e) continue;
      if (ch.expectOwner !== undefined && e.leaseOwner !== ch.expectOwner) {
        lost.push(ch.id);
        continue;
      }
      const from = e.status;
      for (const [k, v] of Object.entries(ch.changes)) {
        if (v === undefined) delete (e as Record<string, unknown>)[k];
        else (e as Record<string, unknown>)[k] = v;
      }
      this.log.push({ eventId: ch.id, at: Date.now(), from, to: e.status, note: ch.note });
    }
    return { lost };
  }
  async supersededBy(e: QueuedEvent) {
    for (const x of this.events.values()) {
      if (x.status === "completed" && rowKey(x) === rowKey(e) && x.clientId === e.clientId && compareRowOrder(e, x) < 0) return x.id;
    }
    return undefined;
  }
  async history(id: string) {
    return this.log.filter((h) => h.eventId === id);
  }
  async close() {}
}
