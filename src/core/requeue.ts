/**
 * Moving an event back to pending by a person's decision (`queue replay`, the daemon's retry):
 * attempts and schedule reset, the last error cleared, and `replayedAt` set so the engine applies
 * it even when a later edit of its row was already applied. `outcome` is kept, so the batcher
 * still sends it alone and the server answers `duplicate` if it had applied it.
 */
import type { QueuedEvent } from "./event.ts";
import type { EventChange } from "./ports.ts";

export function requeueChange(event: Pick<QueuedEvent, "id" | "status">, note: string, now: number): EventChange {
  return {
    id: event.id,
    changes: {
      status: "pending",
      attempts: 0,
      retryCount: 0,
      nextAttemptAt: undefined,
      leaseUntil: undefined,
      leaseOwner: undefined,
      deadAt: undefined,
      lastError: undefined,
      replayedAt: now,
    },
    note: `${note} from ${event.status}`,
  };
}

/**
 * The change that puts back every field `requeueChange` replaced, from the event as it was before
 * (a replay whose drain could not reach the server leaves the events as they were).
 */
export function undoRequeueChange(before: QueuedEvent, note: string): EventChange {
  const fields = Object.keys(requeueChange(before, "", 0).changes) as (keyof QueuedEvent)[];
  return { id: before.id, changes: Object.fromEntries(fields.map((f) => [f, before[f]])) as Partial<QueuedEvent>, note };
}
