/**
 * Store task: opens an existing store read-only and reads its first page, timing each step; a
 * store that refuses to open (too large) is reported with its message, not as a failure.
 */
import type { QueueStore } from "../../src/core/ports.ts";
import { importExport } from "../lib/find-export.ts";
import { now } from "../lib/stats.ts";
import { runTaskMain } from "../lib/task-io.ts";

export interface OpenStoreParams {
  module: string;
  dir: string;
}

export type OpenStoreResult =
  | { opened: true; openMs: number; countsMs: number; firstPageMs: number; total: number; rssAfterOpenMb: number }
  | { opened: false; refusal: string; errorName: string };

type OpenDexieStore = (o: { dir: string; mode: "write" | "read"; command?: string }) => Promise<QueueStore> | QueueStore;

async function main(p: OpenStoreParams): Promise<OpenStoreResult> {
  const open = await importExport<OpenDexieStore>(p.module, "openDexieStore");
  let t = now();
  let store: QueueStore;
  try {
    store = await open({ dir: p.dir, mode: "read", command: "bench open-store" });
  } catch (err) {
    const e = err as Error;
    return { opened: false, refusal: e.message, errorName: e.name };
  }
  const openMs = now() - t;
  const rssAfterOpenMb = process.memoryUsage().rss / 2 ** 20;
  try {
    t = now();
    const counts = await store.counts();
    const countsMs = now() - t;
    t = now();
    await store.list({ limit: 50, order: "desc" });
    const firstPageMs = now() - t;
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    return { opened: true, openMs, countsMs, firstPageMs, total, rssAfterOpenMb };
  } finally {
    await store.close();
  }
}

runTaskMain(main);
