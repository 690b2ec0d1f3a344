/**
 * What the store keeps in memory beside Dexie, maintained on every write from the before and
 * after image of each row and rebuilt on open: counts by status, and a small record of every
 * open event (pending, processing, failed) by id and by row. Claim uses it to find pending events
 * in (timestamp, id) order, due retries, expired leases and earlier events of the same row
 * without reading Dexie (pending-order.ts).
 */
import { EVENT_STATUSES, type EventStatus, type QueuedEvent, compareRowOrder, rowKey } from "../../../core/event.ts";
import type { Position } from "./index-pager.ts";
import { PendingOrder } from "./pending-order.ts";

/** What compareRowOrder reads of an event. */
type RowOrderKey = Pick<QueuedEvent, "id" | "timestamp" | "clientId" | "seq">;
const rowOrderKey = (e: QueuedEvent): RowOrderKey => ({ id: e.id, timestamp: e.timestamp, clientId: e.clientId, seq: e.seq });

export interface OpenInfo {
  id: string;
  row: string;
  status: EventStatus;
  timestamp: number;
  clientId?: string;
  seq?: number;
  nextAttemptAt?: number;
  leaseUntil?: number;
}

const OPEN: ReadonlySet<EventStatus> = new Set<EventStatus>(["pending", "processing", "failed"]);

/** Sets an optional field, or removes it when absent, as a record built afresh would have it. */
function setOptional<K extends "clientId" | "seq" | "nextAttemptAt" | "leaseUntil">(info: OpenInfo, key: K, value: OpenInfo[K] | undefined): void {
  if (value !== undefined) info[key] = value;
  else if (info[key] !== undefined) delete info[key];
}

export function emptyCounts(): Record<EventStatus, number> {
  return Object.fromEntries(EVENT_STATUSES.map((s) => [s, 0])) as Record<EventStatus, number>;
}

/** What the indexes read of an event's image before a change: where it was counted. */
export type CountedAs = Pick<QueuedEvent, "id" | "entity" | "entityId" | "status">;

export class OpenEventIndex {
  readonly counts = emptyCounts();
  readonly byId = new Map<string, OpenInfo>();
  readonly byRow = new Map<string, Set<OpenInfo>>();
  /** open events with a schedule: processing, failed, and pending with nextAttemptAt */
  readonly scheduled = new Set<OpenInfo>();
  /** completed events by row, to find events a later applied edit of the same client superseded */
  readonly completedByRow = new Map<string, Map<string, RowOrderKey>>();
  /** pending events in (timestamp, id) order */
  private readonly pending = new PendingOrder<OpenInfo>((i) => i.status === "pending" && this.byId.get(i.id) === i);

  /** `forClaims: false` (read-only stores) keeps only counts and completedByRow: nothing claims there */
  constructor(private readonly forClaims = true) {}

  /** Accounts for one row changing from before to after (either may be absent; of before, only what says where it was counted is read). */
  track(before: CountedAs | undefined, after: QueuedEvent | undefined): void {
    const info = before && after ? this.byId.get(before.id) : undefined;
    const sameRow = info !== undefined && after!.id === info.id && after!.entity === before!.entity && after!.entityId === before!.entityId;
    // the common step of a batch (an open event marked processing or failed): its record is
    // updated in place, which spares the index maps a delete and an insert per event
    if (sameRow && after!.status !== "pending" && OPEN.has(after!.status)) {
      this.update(info, before!, after!);
      return;
    }
    if (before) this.remove(before);
    // the row key of an event that stays on its row is the one already built (and hashed)
    if (after) this.add(after, sameRow ? info.row : undefined);
  }

  /** An open event's record moved to an open status other than pending (no pending-order entry to add). */
  private update(info: OpenInfo, before: CountedAs, after: QueuedEvent): void {
    if (before.status in this.counts) this.counts[before.status]--;
    this.counts[after.status]++;
    if (info.status === "pending") this.pending.left();
    info.status = after.status;
    info.timestamp = after.timestamp;
    setOptional(info, "clientId", after.clientId);
    setOptional(info, "seq", after.seq);
    setOptional(info, "nextAttemptAt", after.nextAttemptAt);
    setOptional(info, "leaseUntil", after.leaseUntil);
    this.scheduled.add(info);
  }

  private add(e: QueuedEvent, knownRow?: string): void {
    if (e.status in this.counts) this.counts[e.status]++;
    if (e.status === "completed") {
      const key = knownRow ?? rowKey(e);
      let done = this.completedByRow.get(key);
      if (!done) this.completedByRow.set(key, (done = new Map()));
      done.set(e.id, rowOrderKey(e));
    }
    if (!this.forClaims || !OPEN.has(e.status)) return;
    const info: OpenInfo = { id: e.id, row: knownRow ?? rowKey(e), status: e.status, timestamp: e.timestamp };
    if (e.clientId !== undefined) info.clientId = e.clientId;
    if (e.seq !== undefined) info.seq = e.seq;
    if (e.nextAttemptAt !== undefined) info.nextAttemptAt = e.nextAttemptAt;
    if (e.leaseUntil !== undefined) info.leaseUntil = e.leaseUntil;
    this.byId.set(e.id, info);
    let row = this.byRow.get(info.row);
    if (!row) this.byRow.set(info.row, (row = new Set()));
    row.add(info);
    if (e.status !== "pending" || e.nextAttemptAt !== undefined) this.scheduled.add(info);
    if (e.status === "pending") this.pending.add(info);
  }

  /** Up to `size` ids of pending events after a position, in (timestamp, id) order. */
  pendingAfter(after: Position | undefined, size: number): string[] {
    return this.pending.after(after, size);
  }

  private remove(e: CountedAs): void {
    if (e.status in this.counts) this.counts[e.status]--;
    if (e.status === "completed") {
      const done = this.completedByRow.get(rowKey(e));
      done?.delete(e.id);
      if (done?.size === 0) this.completedByRow.delete(rowKey(e));
    }
    const info = this.byId.get(e.id);
    if (!info) return;
    if (info.status === "pending") this.pending.left();
    this.byId.delete(e.id);
    this.scheduled.delete(info);
    const row = this.byRow.get(info.row);
    if (row) {
      row.delete(info);
      if (row.size === 0) this.byRow.delete(info.row);
    }
  }

  /**
   * Marks an open event as processing under a lease held in memory (its persisted row is
   * unchanged): counts and per-row blocking see it as leased until the row is next written.
   */
  lease(id: string, until: number): void {
    const info = this.byId.get(id);
    if (!info) return;
    if (info.status === "pending") this.pending.left();
    this.counts[info.status]--;
    this.counts.processing++;
    info.status = "processing";
    info.leaseUntil = until;
    this.scheduled.add(info);
  }

  /**
   * A completed event of the same row and the same client that comes after `e` in the row's order
   * (clientId, seq, timestamp, id): that client went on after `e` and had a later edit applied.
   */
  completedAfter(e: QueuedEvent): string | undefined {
    const done = this.completedByRow.get(rowKey(e));
    if (!done) return undefined;
    const mine = rowOrderKey(e);
    for (const [, other] of done) {
      if (other.clientId === mine.clientId && compareRowOrder(mine, other) < 0) return other.id;
    }
    return undefined;
  }
}
