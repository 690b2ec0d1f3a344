/**
 * The Dexie half of enqueue: inserts the new events of one or more merged enqueue calls in one
 * transaction and says, per call, which ids it inserted and which were already stored. Stored ids
 * are found by the insert itself (a ConstraintError per such row, which Dexie's bulkAdd reports
 * without aborting the transaction) rather than by a lookup first, which cost about 10% of an
 * import. Near the size limit they are looked up first, so only really new events count.
 */
import type { QueuedEvent } from "../../../core/event.ts";
import type { EnqueueResult } from "../../../core/ports.ts";
import type { EventQueueDB } from "../databases.ts";

export interface Room {
  /** events stored now */
  total: number;
  max: number;
  /** throws when `adding` more events do not fit */
  check(adding: number): void;
}

export async function insertEvents(
  db: EventQueueDB,
  calls: QueuedEvent[][],
  room: Room,
): Promise<{ rows: QueuedEvent[]; values: EnqueueResult[] }> {
  const events = db.events;
  // the first occurrence of an id is a candidate; a repeat in the same round is already present
  const candidates: QueuedEvent[] = [];
  const seen = new Set<string>();
  for (const call of calls) {
    for (const e of call) {
      if (seen.has(e.id)) continue;
      seen.add(e.id);
      candidates.push(e);
    }
  }
  const present = new Set<string>();
  await db.transaction("rw", events, async () => {
    if (room.total + candidates.length > room.max) {
      const found = await events.bulkGet(candidates.map((e) => e.id));
      found.forEach((e, i) => e && present.add(candidates[i]!.id));
      const fresh = candidates.filter((e) => !present.has(e.id));
      room.check(fresh.length);
      if (fresh.length) await events.bulkAdd(fresh);
      return;
    }
    try {
      await events.bulkAdd(candidates);
    } catch (error) {
      const failures = (error as { failuresByPos?: Record<number, Error> }).failuresByPos;
      if (!failures) throw error;
      for (const [pos, failure] of Object.entries(failures)) {
        if (failure?.name !== "ConstraintError") throw failure;
        present.add(candidates[Number(pos)]!.id);
      }
    }
  });
  const rows = candidates.filter((e) => !present.has(e.id));
  const inserted = new Set(rows.map((e) => e.id));
  const values = calls.map((call) => {
    const r: EnqueueResult = { inserted: [], existing: [] };
    for (const e of call) {
      if (inserted.delete(e.id)) r.inserted.push(e.id);
      else r.existing.push(e.id);
    }
    return r;
  });
  return { rows, values };
}
