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
