/**
 * A QueueStore in memory, fast at scale: claiming is O(limit · log rows) however long the queue and
 * however many of its events wait behind a leased row, and `supersededBy` is O(1). It keeps the
 * port's semantics (leases, retries, row order by compareRowOrder, due events oldest first) and
 * nothing is durable. `mudsync bench batching` drains it so that the figures measure batching
 * rather than the local store: the durable Dexie store costs about 27 ms per 500-event drain step
 * by itself (docs/bench-batching.md).
 */
import { EVENT_STATUSES, compareRowOrder, rowKey, type EventStatus, type QueuedEvent } from "../../core/event.ts";
import type { ClaimOptions, EnqueueResult, EventChange, HistoryEntry, ListPage, ListQuery, QueueStore } from "../../core/ports.ts";
import { EventNotFoundError, UsageError } from "../../errors.ts";
import { MinHeap } from "./min-heap.ts";

interface Entry {
  event: QueuedEvent;
  /** enqueue position: breaks timestamp ties in claim order */
  pos: number;
  row: Row;
  /** the fields a claim changed, for release() */
  beforeClaim?: Pick<QueuedEvent, "status" | "leaseUntil" | "leaseOwner">;
}

interface Row {
  /** the row's events in row order (compareRowOrder) */
  items: Entry[];
  /** index of the first event that is not finished (completed or dead) */
  first: number;
  /** bumped whenever the row's heap entry becomes stale */
  stamp: number;
  /** the latest completed event per client, for supersededBy */
  lastCompleted: Map<string, Entry>;
}

interface HeapItem {
  row: Row;
  stamp: number;
  /** index in row.items of the candidate */
  at: number;
  timestamp: number;
  pos: number;
}

const FINISHED: ReadonlySet<EventStatus> = new Set(["completed", "dead"]);
const before = (a: HeapItem, b: HeapItem) => a.timestamp - b.timestamp || a.pos - b.pos;
const byPosition = (a: Entry, b: Entry) => a.event.timestamp - b.event.timestamp || (a.event.id < b.event.id ? -1 : a.event.id > b.event.id ? 1 : 0);

function isDue(e: QueuedEvent, now: number): boolean {
  if (FINISHED.has(e.status)) return false;
  if (e.status === "processing") return e.leaseUntil === undefined || e.leaseUntil <= now;
  return e.nextAttemptAt === undefined || e.nextAttemptAt <= now;
}

export class MemoryQueueStore implements QueueStore {
  readonly capabilities = { durable: false, shared: false, readOnly: false };
  private readonly entries = new Map<string, Entry>();
  private readonly rows = new Map<string, Row>();
  /** rows with an open event to look at, keyed by that event's (timestamp, position) */
  private readonly ready = new MinHeap<HeapItem>(before);
  /** rows whose first open event was not due at the last claim (leased, or waiting for a retry): looked at again by every claim */
  private readonly waiting = new Set<Row>();
  private readonly tally = Object.fromEntries(EVENT_STATUSES.map((s) => [s, 0])) as Record<EventStatus, number>;
  private readonly log = new Map<string, HistoryEntry[]>();
  private nextPos = 0;

  constructor(private readonly now: () => number = Date.now) {}

  async enqueue(events: QueuedEvent[]): Promise<EnqueueResult> {
    const r: EnqueueResult = { inserted: [], existing: [] };
    for (const e of events) {
      if (this.entries.has(e.id)) r.existing.push(e.id);
      else {
        this.insert(structuredClone(e));
        r.inserted.push(e.id);
      }
    }
    return r;
  }

  async put(events: QueuedEvent[]): Promise<void> {
    for (const e of events) {
      const old = this.entries.get(e.id);
      if (old) this.remove(old);
      this.insert(structuredClone(e));
    }
  }

  async get(id: string): Promise<QueuedEvent | undefined> {
    const e = this.entries.get(id);
    return e && structuredClone(e.event);
  }

  async getMany(ids: string[]): Promise<(QueuedEvent | undefined)[]> {
    return Promise.all(ids.map((id) => this.get(id)));
  }

  async list(q: ListQuery): Promise<ListPage> {
    const all = [...this.entries.values()]
      .filter(({ event: e }) => (!q.statuses || q.statuses.includes(e.status)) && (!q.entity || e.entity === q.entity) && (q.since === undefined || e.timestamp >= q.since))
      .sort(byPosition);
    if (q.order === "desc") all.reverse();
    let start = 0;
    if (q.after !== undefined) {
      const at = this.entries.get(q.after);
      if (!at) throw new UsageError(`list: unknown cursor "${q.after}" (pass the "next" of the previous page)`);
      start = all.findIndex((x) => (q.order === "asc" ? byPosition(x, at) > 0 : byPosition(x, at) < 0));
      if (start < 0) start = all.length;
    }
    const page = all.slice(start, start + q.limit);
    const more = start + page.length < all.length;
    return { events: page.map((x) => structuredClone(x.event)), next: more ? page.at(-1)!.event.id : null };
  }

  async counts(): Promise<Record<EventStatus, number>> {
    return { ...this.tally };
  }

  async *scan(batch = 500): AsyncIterable<QueuedEvent[]> {
    const ids = [...this.entries.keys()].sort();
    for (let i = 0; i < ids.length; i += batch) yield ids.slice(i, i + batch).map((id) => structuredClone(this.entries.get(id)!.event));
  }

  async claim(o: ClaimOptions): Promise<QueuedEvent[]> {
    for (const row of [...this.waiting]) this.place(row);
    const out: QueuedEvent[] = [];
    const touched = new Set<Row>();
    while (out.length < o.limit) {
      const top = this.ready.pop();
      if (!top) break;
      const { row } = top;
      if (top.stamp !== row.stamp) continue; // stale
      const entry = row.items[top.at]!;
      const e = entry.event;
      if (!isDue(e, o.now)) {
        row.stamp += 1;
        this.waiting.add(row);
        continue;
      }
      entry.beforeClaim = { status: e.status, leaseUntil: e.leaseUntil, leaseOwner: e.leaseOwner };
      this.record(e.id, e.status, "processing", "claimed");
      this.setStatus(entry, "processing");
      e.leaseUntil = o.now + o.leaseMs;
      e.leaseOwner = o.owner;
      out.push({ ...e });
      touched.add(row);
      // the row's next open event may follow in the same claim: everything before it is handed out
      let next = top.at + 1;
      while (next < row.items.length && FINISHED.has(row.items[next]!.event.status)) next++;
      const candidate = row.items[next];
      row.stamp += 1;
      if (candidate && isDue(candidate.event, o.now)) {
        this.ready.push({ row, stamp: row.stamp, at: next, timestamp: candidate.event.timestamp, pos: candidate.pos });
      }
    }
    for (const row of touched) {
      row.stamp += 1; // its remaining candidate, if any, waits for the claimed events to settle
      this.waiting.add(row);
    }
    return out;
  }

  async release(ids: string[], owner: string): Promise<void> {
    const rows = new Set<Row>();
    for (const id of ids) {
      const entry = this.entries.get(id);
      const saved = entry?.beforeClaim;
      if (!entry || !saved || entry.event.leaseOwner !== owner) continue;
      this.record(id, entry.event.status, saved.status, "released");
      this.setStatus(entry, saved.status);
      this.assign(entry.event, { leaseUntil: saved.leaseUntil, leaseOwner: saved.leaseOwner });
      entry.beforeClaim = undefined;
      rows.add(entry.row);
    }
    for (const row of rows) this.place(row);
  }

  async update(changes: EventChange[]): Promise<{ lost: string[] }> {
    const unknown = changes.find((ch) => ch.expectOwner === undefined && !this.entries.has(ch.id));
    if (unknown) throw new EventNotFoundError(unknown.id);
    const lost: string[] = [];
    const rows = new Set<Row>();
    for (const ch of changes) {
      const entry = this.entries.get(ch.id);
      if (!entry || (ch.expectOwner !== undefined && entry.event.leaseOwner !== ch.expectOwner)) {
        lost.push(ch.id);
        continue;
      }
      const from = entry.event.status;
      const { status, ...rest } = ch.changes;
      this.assign(entry.event, structuredClone(rest));
      if (status !== undefined) this.setStatus(entry, status);
      entry.beforeClaim = undefined;
      this.record(ch.id, from, entry.event.status, ch.note);
      rows.add(entry.row);
    }
    for (const row of rows) this.place(row);
    return { lost };
  }

  async supersededBy(event: QueuedEvent): Promise<string | undefined> {
    const row = this.rows.get(rowKey(event));
    if (!row) return undefined;
    let last = row.lastCompleted.get(event.clientId ?? "");
    if (last && last.event.status !== "completed") {
      // brought back from completed (a replay): find the latest completed one again
      last = row.items.filter((x) => x.event.status === "completed" && x.event.clientId === event.clientId).at(-1);
      if (last) row.lastCompleted.set(event.clientId ?? "", last);
      else row.lastCompleted.delete(event.clientId ?? "");
    }
    return last && compareRowOrder(event, last.event) < 0 ? last.event.id : undefined;
  }

  async history(id: string): Promise<HistoryEntry[]> {
    return [...(this.log.get(id) ?? [])];
  }

  async close(): Promise<void> {}

  private insert(event: QueuedEvent): void {
    const key = rowKey(event);
    let row = this.rows.get(key);
    if (!row) {
      row = { items: [], first: 0, stamp: 0, lastCompleted: new Map() };
      this.rows.set(key, row);
    }
    const entry: Entry = { event, pos: this.nextPos++, row };
    this.entries.set(event.id, entry);
    this.tally[event.status] += 1;
    // appending is the common case (a client's edits arrive in order); otherwise insert in row order
    let at = row.items.length;
    while (at > 0 && compareRowOrder(row.items[at - 1]!.event, event) > 0) at--;
    row.items.splice(at, 0, entry);
    if (at < row.first) row.first = at;
    if (event.status === "completed") this.noteCompleted(entry);
    this.place(row);
  }

  private remove(entry: Entry): void {
    const row = entry.row;
    const at = row.items.indexOf(entry);
    row.items.splice(at, 1);
    if (at < row.first) row.first -= 1;
    this.tally[entry.event.status] -= 1;
    this.entries.delete(entry.event.id);
    if (row.lastCompleted.get(entry.event.clientId ?? "") === entry) row.lastCompleted.delete(entry.event.clientId ?? "");
    this.place(row);
  }

  /** Puts the row in the ready heap with its first open event, or nowhere when all its events are finished. */
  private place(row: Row): void {
    while (row.first < row.items.length && FINISHED.has(row.items[row.first]!.event.status)) row.first++;
    row.stamp += 1;
    this.waiting.delete(row);
    const head = row.items[row.first];
    // whether it is due is decided by the claim, at the claim's time
    if (head) this.ready.push({ row, stamp: row.stamp, at: row.first, timestamp: head.event.timestamp, pos: head.pos });
  }

  private setStatus(entry: Entry, status: EventStatus): void {
    this.tally[entry.event.status] -= 1;
    this.tally[status] += 1;
    entry.event.status = status;
    if (status === "completed") this.noteCompleted(entry);
  }

  private noteCompleted(entry: Entry): void {
    const client = entry.event.clientId ?? "";
    const last = entry.row.lastCompleted.get(client);
    if (!last || compareRowOrder(last.event, entry.event) < 0) entry.row.lastCompleted.set(client, entry);
  }

  /** Sets fields; an undefined value removes the field. */
  private assign(e: QueuedEvent, fields: Partial<QueuedEvent>): void {
    for (const [k, v] of Object.entries(fields)) {
      if (v === undefined) delete (e as Record<string, unknown>)[k];
      else (e as Record<string, unknown>)[k] = v;
    }
  }

  private record(id: string, from: EventStatus, to: EventStatus, note?: string): void {
    const list = this.log.get(id);
    const h: HistoryEntry = { eventId: id, at: this.now(), from, to, ...(note ? { note } : {}) };
    if (list) list.push(h);
    else this.log.set(id, [h]);
  }
}
