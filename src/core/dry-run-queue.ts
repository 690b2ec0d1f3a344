/**
 * An in-memory QueueStore holding copies of the events a run would drain, so a dry run can drive
 * the real engine without writing to the local store. It claims as the local store does: due
 * events in (timestamp, id) order, and an event only when every earlier open event of its row (by
 * compareRowOrder) is handed out in the same claim before it (stores/dexie/leases/claim-planner.ts). Nothing here is
 * durable; it lives as long as one dry run.
 */
import { EVENT_STATUSES, type EventStatus, type QueuedEvent, compareRowOrder, rowKey } from "./event.ts";
import { EventNotFoundError, UsageError } from "../errors.ts";
import type { ClaimOptions, EnqueueResult, EventChange, HistoryEntry, ListPage, ListQuery, QueueStore } from "./ports.ts";

const OPEN: ReadonlySet<EventStatus> = new Set(["pending", "failed", "processing"]);

const byPosition = (a: QueuedEvent, b: QueuedEvent): number =>
  a.timestamp !== b.timestamp ? a.timestamp - b.timestamp : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

function isDue(e: QueuedEvent, now: number): boolean {
  if (e.status === "processing") return e.leaseUntil === undefined || e.leaseUntil <= now;
  return e.nextAttemptAt === undefined || e.nextAttemptAt <= now;
}

export interface DryRunQueueOptions {
  /**
   * The real store's answer to supersededBy for events completed there (this queue holds only open
   * events); completions of this run are checked here first.
   */
  completedElsewhere?(event: QueuedEvent): Promise<string | undefined>;
  now?: () => number;
}

export class DryRunQueue implements QueueStore {
  readonly capabilities = { durable: false, shared: false, readOnly: false };
  private readonly events = new Map<string, QueuedEvent>();
  /** open events in (timestamp, id) order; settled ones are dropped at the next claim */
  private order: QueuedEvent[] = [];
  /** each row's events in row order */
  private readonly rows = new Map<string, QueuedEvent[]>();
  /** the event as it was before this run's claim, for release() */
  private readonly beforeClaim = new Map<string, QueuedEvent>();
  private readonly log: HistoryEntry[] = [];

  constructor(
    events: QueuedEvent[],
    private readonly options: DryRunQueueOptions = {},
  ) {
    for (const e of events) this.events.set(e.id, structuredClone(e));
    for (const e of this.events.values()) {
      const row = this.rows.get(rowKey(e));
      if (row) row.push(e);
      else this.rows.set(rowKey(e), [e]);
    }
    for (const row of this.rows.values()) row.sort(compareRowOrder);
    this.order = [...this.events.values()].filter((e) => OPEN.has(e.status)).sort(byPosition);
  }

  async enqueue(events: QueuedEvent[]): Promise<EnqueueResult> {
    const r: EnqueueResult = { inserted: [], existing: [] };
    const fresh = events.filter((e) => (this.events.has(e.id) ? (r.existing.push(e.id), false) : (r.inserted.push(e.id), true)));
    await this.put(fresh);
    return r;
  }

  async put(events: QueuedEvent[]): Promise<void> {
    for (const given of events) {
      const e = structuredClone(given);
      const old = this.events.get(e.id);
      this.events.set(e.id, e);
      const key = rowKey(e);
      const row = (this.rows.get(key) ?? []).filter((x) => x !== old);
      row.push(e);
      this.rows.set(key, row.sort(compareRowOrder));
      if (old && rowKey(old) !== key) this.rows.set(rowKey(old), (this.rows.get(rowKey(old)) ?? []).filter((x) => x !== old));
      this.order = this.order.filter((x) => x !== old);
      if (OPEN.has(e.status)) this.order = [...this.order, e].sort(byPosition);
    }
  }

  async get(id: string): Promise<QueuedEvent | undefined> {
    const e = this.events.get(id);
    return e && structuredClone(e);
  }

  async getMany(ids: string[]): Promise<(QueuedEvent | undefined)[]> {
    return Promise.all(ids.map((id) => this.get(id)));
  }

  async list(q: ListQuery): Promise<ListPage> {
    const all = [...this.events.values()]
      .filter((e) => (!q.statuses || q.statuses.includes(e.status)) && (!q.entity || e.entity === q.entity) && (q.since === undefined || e.timestamp >= q.since))
      .sort(byPosition);
    if (q.order === "desc") all.reverse();
    let start = 0;
    if (q.after !== undefined) {
      const at = this.events.get(q.after);
      if (!at) throw new UsageError(`list: unknown cursor "${q.after}" (pass the "next" of the previous page)`);
      // the first event past the cursor's position, whether or not the cursor's event is still selected
      const past = (e: QueuedEvent) => (q.order === "asc" ? byPosition(e, at) > 0 : byPosition(e, at) < 0);
      start = all.findIndex(past);
      if (start < 0) start = all.length;
    }
    const page = all.slice(start, start + q.limit);
    const more = start + page.length < all.length;
    return { events: page.map((e) => structuredClone(e)), next: more ? page.at(-1)!.id : null };
  }

  async counts(): Promise<Record<EventStatus, number>> {
    const c = Object.fromEntries(EVENT_STATUSES.map((s) => [s, 0])) as Record<EventStatus, number>;
    for (const e of this.events.values()) c[e.status] += 1;
    return c;
  }

  async *scan(batch = 500): AsyncIterable<QueuedEvent[]> {
    const ids = [...this.events.keys()].sort();
    for (let i = 0; i < ids.length; i += batch) yield ids.slice(i, i + batch).map((id) => structuredClone(this.events.get(id)!));
  }

  async claim(o: ClaimOptions): Promise<QueuedEvent[]> {
    this.order = this.order.filter((e) => OPEN.has(e.status));
    const taken = new Set<string>();
    /** per row: index of the first event that is neither settled nor taken by this claim */
    const heads = new Map<string, number>();
    const out: QueuedEvent[] = [];
    for (const e of this.order) {
      if (out.length >= o.limit) break;
      if (!isDue(e, o.now)) continue;
      const key = rowKey(e);
      const row = this.rows.get(key)!;
      let i = heads.get(key) ?? 0;
      while (i < row.length && (!OPEN.has(row[i]!.status) || taken.has(row[i]!.id))) i++;
      heads.set(key, i);
      if (row[i] !== e) continue; // an earlier open event of the row goes first
      taken.add(e.id);
      this.beforeClaim.set(e.id, structuredClone(e));
      this.record(e, "processing", "claimed");
      e.status = "processing";
      e.leaseUntil = o.now + o.leaseMs;
      e.leaseOwner = o.owner;
      out.push(structuredClone(e));
    }
    return out;
  }

  async release(ids: string[], owner: string): Promise<void> {
    for (const id of ids) {
      const e = this.events.get(id);
      const before = this.beforeClaim.get(id);
      if (!e || !before || e.leaseOwner !== owner) continue;
      this.record(e, before.status, "released");
      for (const k of Object.keys(e)) delete (e as Record<string, unknown>)[k];
      Object.assign(e, before);
    }
  }

  async update(changes: EventChange[]): Promise<{ lost: string[] }> {
    const unknown = changes.find((ch) => ch.expectOwner === undefined && !this.events.has(ch.id));
    if (unknown) throw new EventNotFoundError(unknown.id);
    const lost: string[] = [];
    for (const ch of changes) {
      const e = this.events.get(ch.id);
      if (!e || (ch.expectOwner !== undefined && e.leaseOwner !== ch.expectOwner)) {
        lost.push(ch.id);
        continue;
      }
      const from = e.status;
      for (const [k, v] of Object.entries(ch.changes)) {
        if (v === undefined) delete (e as Record<string, unknown>)[k];
        else (e as Record<string, unknown>)[k] = structuredClone(v);
      }
      this.log.push({ eventId: e.id, at: this.now(), from, to: e.status, ...(ch.note ? { note: ch.note } : {}) });
    }
    return { lost };
  }

  async supersededBy(event: QueuedEvent): Promise<string | undefined> {
    for (const x of this.rows.get(rowKey(event)) ?? []) {
      if (x.status === "completed" && x.clientId === event.clientId && compareRowOrder(event, x) < 0) return x.id;
    }
    const elsewhere = await this.options.completedElsewhere?.(event);
    // an event completed in the store but brought back to pending for this run supersedes nothing yet
    const here = elsewhere === undefined ? undefined : this.events.get(elsewhere);
    return here && here.status !== "completed" ? undefined : elsewhere;
  }

  async history(id: string): Promise<HistoryEntry[]> {
    return this.log.filter((h) => h.eventId === id);
  }

  async close(): Promise<void> {}

  private record(e: QueuedEvent, to: EventStatus, note: string): void {
    this.log.push({ eventId: e.id, at: this.now(), from: e.status, to, note });
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}
