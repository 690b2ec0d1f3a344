/**
 * Before-images of what an open atomic group changed (first change of each key only), so that
 * a group whose function throws can be undone in Dexie and in memory. Its log records carry the
 * group's tx and, without a commit record, never count on replay. Leases the group took or
 * dropped are put back too; the in-memory indexes are rolled back on the leased (effective) images.
 */
import type { QueuedEvent } from "../../../core/event.ts";
import type { CacheEntry, HistoryEntry } from "../../../core/ports.ts";
import type { Lease } from "../leases/lease-table.ts";
import { leasedImage } from "../leases/lease-table.ts";
import type { StoreInternals } from "../store-internals.ts";

const CHUNK = 5000;

export class UndoLog {
  private readonly events = new Map<string, QueuedEvent | undefined>();
  private readonly leases = new Map<string, Lease | undefined>();
  private readonly cache = new Map<string, CacheEntry | undefined>();
  private readonly history: HistoryEntry[] = [];

  event(id: string, before: QueuedEvent | undefined): void {
    if (!this.events.has(id)) this.events.set(id, before);
  }

  lease(id: string, before: Lease | undefined): void {
    if (!this.leases.has(id)) this.leases.set(id, before);
  }

  cacheEntry(key: string, before: CacheEntry | undefined): void {
    if (!this.cache.has(key)) this.cache.set(key, before);
  }

  historyEntry(entry: HistoryEntry): void {
    this.history.push(entry);
  }

  /** Puts back every before-image, newest history first. */
  async rollback(state: StoreInternals): Promise<void> {
    const ids = [...new Set([...this.events.keys(), ...this.leases.keys()])];
    const effective = (row: QueuedEvent | undefined, lease: Lease | undefined) => (row && lease ? leasedImage(row, lease) : row);
    for (let i = 0; i < ids.length; i += CHUNK) {
      const chunk = ids.slice(i, i + CHUNK);
      const current = await state.queue.events.bulkGet(chunk);
      const restore: QueuedEvent[] = [];
      const remove: string[] = [];
      chunk.forEach((id, k) => {
        const now = state.leases.get(id);
        const lease = this.leases.has(id) ? this.leases.get(id) : now;
        const rowChanged = this.events.has(id);
        const before = rowChanged ? this.events.get(id) : current[k];
        state.open.track(effective(current[k], now), effective(before, lease));
        if (lease) state.leases.set(id, lease);
        else state.leases.delete(id);
        if (!rowChanged) return;
        if (before) restore.push(before);
        else remove.push(id);
      });
      if (restore.length) await state.queue.events.bulkPut(restore);
      if (remove.length) await state.queue.events.bulkDelete(remove);
    }
    for (let i = this.history.length - 1; i >= 0; i--) state.history.removeLast(this.history[i]!);
    const put: CacheEntry[] = [];
    const del: string[] = [];
    for (const [key, before] of this.cache) (before ? put.push(before) : del.push(key));
    if (put.length) await state.cacheDb.cache.bulkPut(put);
    if (del.length) await state.cacheDb.cache.bulkDelete(del);
  }
}
