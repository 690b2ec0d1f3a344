/**
 * The in-memory half of a claim: takes leases on the rows a claim chose (the persisted rows stay
 * as they are), marks them processing in the open-event indexes, records the claim in the history
 * and returns the leased images and the lease record to log (unsynced, for read-only opens).
 */
import type { EventStatus, QueuedEvent } from "../../core/event.ts";
import type { ClaimOptions } from "../../core/ports.ts";
import { claimEntry, leasedImage } from "./lease-table.ts";
import type { LeaseRecord } from "./log-record.ts";
import type { StoreInternals } from "./store-internals.ts";
import type { UndoLog } from "./undo-log.ts";

export function takeLeases(
  s: StoreInternals,
  rows: (QueuedEvent | undefined)[],
  o: ClaimOptions,
  group: { undo?: UndoLog; tx?: string },
): { events: QueuedEvent[]; record: LeaseRecord } {
  const lease = { owner: o.owner, until: o.now + o.leaseMs };
  const { undo, tx } = group;
  const record: LeaseRecord = { k: "lease", ...lease, ids: [], at: o.now, ...(tx !== undefined ? { tx } : {}) };
  const from: Record<string, [EventStatus, string | null]> = {};
  let others = false;
  const events: QueuedEvent[] = [];
  for (const row of rows) {
    if (!row) continue;
    const prev = s.leases.get(row.id);
    const status = prev ? "processing" : row.status;
    const prevOwner = prev ? prev.owner : row.leaseOwner;
    if (status !== "pending") {
      from[row.id] = [status, prevOwner ?? null];
      others = true;
    }
    undo?.lease(row.id, prev);
    s.leases.set(row.id, { ...lease, row });
    s.open.lease(row.id, lease.until);
    const h = claimEntry(row.id, o.now, o.owner, status, prevOwner);
    s.history.add(h);
    undo?.historyEntry(h);
    record.ids.push(row.id);
    events.push(leasedImage(row, lease));
  }
  if (others) record.from = from;
  return { events, record };
}
