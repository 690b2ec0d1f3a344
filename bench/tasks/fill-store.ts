/**
 * Drain setup task: enqueues N pending events into a fresh store through the store API, in
 * batches of 1000, each stamped with the time of its enqueue (so drain latency is enqueue → applied).
 */
import type { QueueStore } from "../../src/core/ports.ts";
import { pendingEvents } from "../lib/events.ts";
import { importExport } from "../lib/find-export.ts";
import { now, perSecond } from "../lib/stats.ts";
import { runTaskMain } from "../lib/task-io.ts";

export interface FillStoreParams {
  module: string;
  dir: string;
  events: number;
  seed: number;
}

type OpenDexieStore = (o: { dir: string; mode: "write" | "read"; command?: string }) => Promise<QueueStore> | QueueStore;

async function main(p: FillStoreParams): Promise<{ enqueued: number; perSec: number }> {
  const open = await importExport<OpenDexieStore>(p.module, "openDexieStore");
  const store = await open({ dir: p.dir, mode: "write", command: "bench fill-store" });
  try {
    const events = pendingEvents(p.events, p.seed);
    const t0 = now();
    for (let i = 0; i < events.length; i += 1000) {
      const at = Date.now();
      await store.enqueue(events.slice(i, i + 1000).map((e) => ({ ...e, timestamp: at })));
    }
    return { enqueued: events.length, perSec: perSecond(events.length, now() - t0) };
  } finally {
    await store.close();
  }
}

runTaskMain(main);
