/**
 * Fills a queue store for a drain measurement: the events in batches of 1000, each batch stamped
 * with the time of its enqueue (so latency is enqueue → applied). Returns events/s.
 */
import type { QueueStore } from "../../src/core/ports.ts";
import type { QueuedEvent } from "./event-types.ts";
import { now, perSecond } from "./stats.ts";

export async function fillQueue(store: Pick<QueueStore, "enqueue">, events: QueuedEvent[]): Promise<number> {
  const t0 = now();
  for (let i = 0; i < events.length; i += 1000) {
    const at = Date.now();
    await store.enqueue(events.slice(i, i + 1000).map((e) => ({ ...e, timestamp: at })));
  }
  return perSecond(events.length, now() - t0);
}
