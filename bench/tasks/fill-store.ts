/**
 * Drain setup task: enqueues N pending events into a fresh store through the store API, in
 * batches of 1000, each stamped with the time of its enqueue (so drain latency is enqueue → applied).
 */
import type { QueueStore } from "../../src/core/ports.ts";
import { pendingEvents } from "../lib/events.ts";
import { importExport } from "../lib/find-export.ts";
import { fillQueue } from "../lib/fill-queue.ts";
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
    return { enqueued: events.length, perSec: await fillQueue(store, events) };
  } finally {
    await store.close();
  }
}

runTaskMain(main);
