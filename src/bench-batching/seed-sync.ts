/**
 * The seed's sync loop (`EventQueue.syncQueue` in the seed's state-sync architecture), ported as it
 * is so that the bench measures it and shows where it goes wrong: read every pending event sorted
 * by timestamp, group them by `entity:type` (groups in the order their first event appears), send
 * each group as one batch, mark it completed. Grouping by type moves a remove ahead of, or behind,
 * an add of the same row that came before, or after, it: the seed's known defect.
 *
 * Two things differ from the sketch, both to measure its grouping alone: a pass that is asked for
 * while one runs waits for it (the seed would start a second pass over the same pending events and
 * send them twice), and a group larger than the batch size goes in several batches.
 */
import type { QueuedEvent } from "../core/event.ts";
import type { QueueStore, Sink } from "../core/ports.ts";
import { toWireEvent } from "../core/coalesce.ts";

/** The seed's `batchEvents`: one group per `entity:type`, in order of first appearance. */
export function seedGroups(events: readonly QueuedEvent[]): QueuedEvent[][] {
  const batches = new Map<string, QueuedEvent[]>();
  for (const event of events) {
    const key = `${event.entity}:${event.type}`;
    if (!batches.has(key)) batches.set(key, []);
    batches.get(key)!.push(event);
  }
  return Array.from(batches.values());
}

export class SeedSync {
  private running: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly store: QueueStore,
    private readonly sink: Sink,
    private readonly batchSize: number,
  ) {}

  /** The seed calls syncQueue after every enqueue without awaiting it. */
  trigger(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.pass();
      } while (this.again);
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(): Promise<void> {
    const counts = await this.store.counts();
    if (counts.pending === 0) return;
    const { events } = await this.store.list({ statuses: ["pending"], order: "asc", limit: counts.pending });
    for (const group of seedGroups(events)) {
      for (let i = 0; i < group.length; i += this.batchSize) {
        const batch = group.slice(i, i + this.batchSize);
        try {
          await this.sink.applyBatch(batch.map(toWireEvent));
          await this.store.update(batch.map((e) => ({ id: e.id, changes: { status: "completed" } })));
        } catch {
          // the seed marks the whole batch failed, and never reads failed events again
          await this.store.update(batch.map((e) => ({ id: e.id, changes: { status: "failed", retryCount: e.retryCount + 1 } })));
        }
      }
    }
  }
}
