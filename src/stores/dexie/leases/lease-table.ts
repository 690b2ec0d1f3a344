/**
 * The writer's leases, held in memory only. The Dexie store has a single writer (the LOCK), so a
 * lease means something only while that process lives: claim records it here, beside the
 * persisted row it leased (which stays pending, failed, or processing as it was), and the first
 * write of the row (settle, release, put) persists the outcome and drops the lease. A process that
 * dies takes its leases with it, so its events are claimable at once on the next open. Reads of
 * the writer overlay a lease on its row (`leasedImage`), so in-process the port's semantics hold.
 */
import type { EventStatus, QueuedEvent } from "../../../core/event.ts";
import type { HistoryEntry } from "../../../core/ports.ts";
import type { LeaseRecord } from "../log/log-record.ts";
import { detachedCopy } from "../events/row-copy.ts";

export interface Lease {
  owner: string;
  until: number;
  /** the persisted image of the row when it was leased (the writer keeps it current: any write drops the lease) */
  row: QueuedEvent;
}

/** The row as a reader of the writer sees it while leased. */
export function leasedImage(row: QueuedEvent, lease: Pick<Lease, "owner" | "until">): QueuedEvent {
  return { ...row, status: "processing", leaseUntil: lease.until, leaseOwner: lease.owner };
}

/** leasedImage as a detached copy the caller may change (one copy of the row, not a spread and a copy). */
export function leasedCopy(row: QueuedEvent, lease: Pick<Lease, "owner" | "until">): QueuedEvent {
  const leased = detachedCopy(row);
  leased.status = "processing";
  leased.leaseUntil = lease.until;
  leased.leaseOwner = lease.owner;
  return leased;
}

/** The history entry of a claim, built the same way by the writer and by the log loader. */
export function claimEntry(id: string, at: number, owner: string, from: EventStatus, prevOwner: string | undefined): HistoryEntry {
  const expired = from === "processing" ? `; lease of ${prevOwner ?? "an unknown worker"} expired` : "";
  return { eventId: id, at, from, to: "processing", note: `claimed by ${owner}${expired}` };
}

/** The history entries a claim's lease record stands for (none for a lease logged without `at`). */
export function claimEntries(r: LeaseRecord): HistoryEntry[] {
  const at = r.at;
  if (at === undefined) return [];
  return r.ids.map((id) => {
    const [from, prevOwner] = r.from?.[id] ?? ["pending", null];
    return claimEntry(id, at, r.owner, from, prevOwner ?? undefined);
  });
}

export class LeaseTable {
  private readonly byId = new Map<string, Lease>();

  get size(): number {
    return this.byId.size;
  }

  get(id: string): Lease | undefined {
    return this.byId.get(id);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  set(id: string, lease: Lease): void {
    this.byId.set(id, lease);
  }

  delete(id: string): void {
    this.byId.delete(id);
  }

  clear(): void {
    this.byId.clear();
  }

  values(): IterableIterator<Lease> {
    return this.byId.values();
  }

  /**
   * The persisted rows of ids (a leased row from its lease, the others from `read`) and the rows
   * as the writer sees them (leases laid over; absent ids left out).
   */
  async rowsOf(
    ids: string[],
    read: (ids: string[]) => Promise<(QueuedEvent | undefined)[]>,
  ): Promise<{ persisted: Map<string, QueuedEvent | undefined>; seen: Map<string, QueuedEvent> }> {
    const persisted = new Map<string, QueuedEvent | undefined>();
    const unleased: string[] = [];
    for (const id of ids) {
      const lease = this.byId.get(id);
      if (lease) persisted.set(id, lease.row);
      else unleased.push(id);
    }
    if (unleased.length > 0) (await read(unleased)).forEach((e, i) => persisted.set(unleased[i]!, e));
    const seen = new Map<string, QueuedEvent>();
    for (const id of ids) {
      const e = persisted.get(id);
      if (e) seen.set(id, this.overlay(e));
    }
    return { persisted, seen };
  }

  /** The row with its lease laid over it, or the row itself when it is not leased. */
  overlay(row: QueuedEvent): QueuedEvent {
    const lease = this.byId.get(row.id);
    return lease ? leasedImage(row, lease) : row;
  }
}
