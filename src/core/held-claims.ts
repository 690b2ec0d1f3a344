/**
 * What one engine holds: the events it claimed and has not yet settled or given back, and how it
 * gives leases back when a run stops.
 *
 * A stall longer than the lease (a slow server, a local store busy compacting a large snapshot)
 * lets the batch claimed ahead expire while the engine still holds it; the store then hands those
 * events out again, to this same engine. The claim that holds them settles them: HeldClaims keeps
 * them out of the later claim, which would only apply them again and get duplicates back.
 */
import type { QueuedEvent } from "./event.ts";
import type { QueueStore } from "./ports.ts";

export class HeldClaims {
  private readonly ids = new Set<string>();

  /** The claimed events this engine did not already hold; they are held from now on. */
  take(claimed: readonly QueuedEvent[]): QueuedEvent[] {
    const fresh = claimed.filter((e) => !this.ids.has(e.id));
    for (const e of fresh) this.ids.add(e.id);
    return fresh;
  }

  /** Events settled or given back: no longer held. */
  letGo(events: readonly QueuedEvent[]): void {
    for (const e of events) this.ids.delete(e.id);
  }
}

/**
 * Gives `owner`'s leases back without settling (the run stopped): the store restores what it can;
 * a store without `release` gets the status back from the event itself (failed if it has failed before).
 */
export async function giveBack(store: QueueStore, events: readonly QueuedEvent[], owner: string): Promise<void> {
  if (store.release) return store.release(events.map((e) => e.id), owner);
  await store.update(
    events.map((e) => ({
      id: e.id,
      changes: {
        status: (e.attempts ?? 0) > 0 || e.retryCount > 0 || e.lastError !== undefined ? "failed" : "pending",
        leaseUntil: undefined,
        leaseOwner: undefined,
      },
      expectOwner: owner,
      note: "released: drain stopped",
    })),
  );
}
