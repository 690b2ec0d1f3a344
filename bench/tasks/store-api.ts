/**
 * Store task: the durable Dexie store through its QueueStore API — enqueue throughput and latency
 * (one awaiting writer, then concurrent callers), filling to a size, and marking 500-event batches.
 */
import type { QueueStore } from "../../src/core/ports.ts";
import { pendingEvents } from "../lib/events.ts";
import { importExport } from "../lib/find-export.ts";
import { median, now, percentile, perSecond } from "../lib/stats.ts";
import { runTaskMain } from "../lib/task-io.ts";

export interface StoreApiParams {
  /** file exporting openDexieStore */
  module: string;
  dir: string;
  /** awaited single-event enqueues (one writer) */
  enqueues: number;
  callers: number;
  /** store size before the mark-500 rounds */
  size: number;
  markRounds: number;
}

export interface StoreApiResult {
  openEmptyMs: number;
  singlePerSec: number;
  singleP50Ms: number;
  singleP99Ms: number;
  concurrentPerSec: number;
  concurrentP50Ms: number;
  concurrentP99Ms: number;
  fillPerSec: number;
  sizeReached: number;
  mark500MedianMs: number;
  /** process CPU time (user + system) of the same calls: steadier than wall time on a busy machine */
  mark500CpuMedianMs: number;
  mark500MaxMs: number;
  complete500MedianMs: number;
  closeMs: number;
}

type OpenDexieStore = (o: { dir: string; mode: "write" | "read"; command?: string }) => Promise<QueueStore> | QueueStore;

async function main(p: StoreApiParams): Promise<StoreApiResult> {
  const open = await importExport<OpenDexieStore>(p.module, "openDexieStore");
  let t = now();
  const store = await open({ dir: p.dir, mode: "write", command: "bench store-api" });
  const openEmptyMs = now() - t;
  try {
    // one writer, awaiting each durable enqueue
    const single = pendingEvents(p.enqueues, 21);
    const lat: number[] = [];
    t = now();
    for (const e of single) {
      const s = now();
      await store.enqueue([e]);
      lat.push(now() - s);
    }
    const singleMs = now() - t;

    // concurrent callers, each awaiting its own single-event enqueue (group commit can batch them)
    const conc = pendingEvents(p.enqueues * 2, 22);
    const clat: number[] = [];
    let next = 0;
    t = now();
    await Promise.all(
      Array.from({ length: p.callers }, async () => {
        while (next < conc.length) {
          const e = conc[next++]!;
          const s = now();
          await store.enqueue([e]);
          clat.push(now() - s);
        }
      }),
    );
    const concMs = now() - t;

    // fill to the target size in batches of 1000 (as an import or a busy client would)
    const have = single.length + conc.length;
    const fill = pendingEvents(Math.max(0, p.size - have), 23);
    t = now();
    for (let i = 0; i < fill.length; i += 1000) await store.enqueue(fill.slice(i, i + 1000));
    const fillMs = now() - t;

    // marking a batch: 500 status changes in one update() call, as a drain step does
    const marks: number[] = [];
    const markCpu: number[] = [];
    const completes: number[] = [];
    for (let r = 0; r < p.markRounds; r++) {
      const page = await store.list({ statuses: ["pending"], limit: 500, order: "asc" });
      const ids = page.events.map((e) => e.id);
      const cpu = process.cpuUsage();
      let s = now();
      await store.update(ids.map((id) => ({ id, changes: { status: "processing", leaseUntil: Date.now() + 30_000, leaseOwner: "bench" } })));
      marks.push(now() - s);
      const used = process.cpuUsage(cpu);
      markCpu.push((used.user + used.system) / 1000);
      s = now();
      await store.update(ids.map((id) => ({ id, changes: { status: "completed", completedAt: Date.now() } })));
      completes.push(now() - s);
    }
    t = now();
    await store.close();
    const closeMs = now() - t;
    return {
      openEmptyMs,
      singlePerSec: perSecond(single.length, singleMs),
      singleP50Ms: percentile(lat, 50),
      singleP99Ms: percentile(lat, 99),
      concurrentPerSec: perSecond(conc.length, concMs),
      concurrentP50Ms: percentile(clat, 50),
      concurrentP99Ms: percentile(clat, 99),
      fillPerSec: perSecond(fill.length, fillMs),
      sizeReached: have + fill.length,
      mark500MedianMs: median(marks),
      mark500CpuMedianMs: median(markCpu),
      mark500MaxMs: Math.max(...marks),
      complete500MedianMs: median(completes),
      closeMs,
    };
  } catch (err) {
    await store.close().catch(() => {});
    throw err;
  }
}

runTaskMain(main);
