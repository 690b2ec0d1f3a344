/**
 * What `update()` computes before it writes: each change applied to the event as the writer sees
 * it (leases laid over), the changes whose lease moved (`expectOwner` did not match) reported as
 * lost, and a history entry for every status change or note. Pure: no Dexie, no memory indexes.
 */
import { type QueuedEvent, withChanges } from "../../../core/event.ts";
import type { EventChange, HistoryEntry } from "../../../core/ports.ts";
import { assertStorable } from "./storable-event.ts";

export interface ChangedEvents {
  /** ids whose row changed, in the order of first mention */
  changed: string[];
  /** the new image of every changed id */
  rows: QueuedEvent[];
  hist: HistoryEntry[];
  lost: string[];
}

/** Applies changes in order to `seen` (id → current image; ids absent are lost or unknown). */
export function applyChanges(ids: string[], seen: Map<string, QueuedEvent>, changes: EventChange[], at: number): ChangedEvents {
  const current = new Map(seen);
  const lost = new Set<string>();
  const hist: HistoryEntry[] = [];
  for (const c of changes) {
    const row = current.get(c.id);
    if (!row || (c.expectOwner !== undefined && row.leaseOwner !== c.expectOwner)) {
      lost.add(c.id);
      continue;
    }
    const updated = withChanges(row, c.changes);
    assertStorable(updated, `change of event ${c.id}`);
    if (updated.status !== row.status || c.note !== undefined) {
      const h: HistoryEntry = { eventId: c.id, at, from: row.status, to: updated.status };
      if (c.note !== undefined) h.note = c.note;
      hist.push(h);
    }
    current.set(c.id, updated);
  }
  const changed = ids.filter((id) => current.has(id) && current.get(id) !== seen.get(id));
  return { changed, rows: changed.map((id) => current.get(id)!), hist, lost: [...lost] };
}
