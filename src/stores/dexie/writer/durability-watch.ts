/**
 * Which open events (pending, processing, failed) were last written by a log append that is not
 * yet durable, with the promise of its durability. A claim hands out only what a crash keeps, so
 * it waits for the disk only when it leases such an event (a drain of settled work never does).
 */
import type { QueuedEvent } from "../../../core/event.ts";

export class DurabilityWatch {
  private readonly undurable = new Map<string, Promise<void>>();

  /** Notes rows written by an append that is durable once `durable` resolves. */
  track(rows: QueuedEvent[], durable: Promise<void>): void {
    let ids: string[] | undefined;
    for (const r of rows) {
      if (r.status !== "pending" && r.status !== "processing" && r.status !== "failed") continue;
      (ids ??= []).push(r.id);
      this.undurable.set(r.id, durable);
    }
    if (!ids) return;
    const done = () => {
      for (const id of ids) if (this.undurable.get(id) === durable) this.undurable.delete(id);
    };
    durable.then(done, done);
  }

  /** Resolves once the last writes of these events are durable (rejects if one of them failed). */
  of(ids: string[]): Promise<void> {
    const waits = new Set<Promise<void>>();
    for (const id of ids) {
      const p = this.undurable.get(id);
      if (p) waits.add(p);
    }
    return waits.size === 0 ? Promise.resolve() : Promise.all(waits).then(() => undefined);
  }
}
