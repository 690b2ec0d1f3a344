/**
 * A claim of the Dexie store: plans it over the in-memory open events, reads the chosen rows and
 * takes leases on them in memory only (the persisted rows stay as they are), marks them
 * processing in the open-event indexes, records the claim in the history and returns the leased
 * images and the lease record to log (unsynced, for read-only opens). Writes nothing to Dexie.
 */
import type { EventStatus, QueuedEvent } from "../../../core/event.ts";
import type { ClaimOptions } from "../../../core/ports.ts";
import { planClaim } from "../leases/claim-planner.ts";
import { claimEntry, leasedCopy } from "../leases/lease-table.ts";
import type { LeaseRecord } from "../log/log-record.ts";
import type { StoreInternals } from "../store-internals.ts";
import type { UndoLog } from "./undo-log.ts";

/** Leases what is due; null when nothing is. */
export async function claimEvents(
  state: StoreInternals,
  options: ClaimOptions,
  group: { undo?: UndoLog; tx?: string },
): Promise<{ events: QueuedEvent[]; record: LeaseRecord } | null> {
  const open = state.open;
  const chosen = await planClaim({ open, now: options.now, limit: options.limit, pendingPage: async (after, size) => open.pendingAfter(after, size) });
  if (chosen.length === 0) return null;
  const ids = chosen.map((c) => c.id);
  // plain rows are never changed in place, so a lease may hold the stored image itself
  const rows = state.memory ? state.memory.peekMany(ids) : await state.queue.events.bulkGet(ids);
  return takeLeases(state, rows, options, group);
}

function takeLeases(
  state: StoreInternals,
  rows: (QueuedEvent | undefined)[],
  options: ClaimOptions,
  group: { undo?: UndoLog; tx?: string },
): { events: QueuedEvent[]; record: LeaseRecord } {
  const lease = { owner: options.owner, until: options.now + options.leaseMs };
  const { undo, tx } = group;
  const record: LeaseRecord = { k: "lease", ...lease, ids: [], at: options.now, ...(tx !== undefined ? { tx } : {}) };
  const from: Record<string, [EventStatus, string | null]> = {};
  let others = false;
  const events: QueuedEvent[] = [];
  for (const row of rows) {
    if (!row) continue;
    const prev = state.leases.get(row.id);
    const status = prev ? "processing" : row.status;
    const prevOwner = prev ? prev.owner : row.leaseOwner;
    if (status !== "pending") {
      from[row.id] = [status, prevOwner ?? null];
      others = true;
    }
    undo?.lease(row.id, prev);
    state.leases.set(row.id, { ...lease, row });
    state.open.lease(row.id, lease.until);
    const h = claimEntry(row.id, options.now, options.owner, status, prevOwner);
    state.history.add(h);
    undo?.historyEntry(h);
    record.ids.push(row.id);
    // the caller gets its own copy: the lease keeps the row image that settling builds on
    events.push(leasedCopy(row, lease));
  }
  if (others) record.from = from;
  return { events, record };
}
