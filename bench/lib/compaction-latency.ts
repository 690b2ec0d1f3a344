/**
 * `npx tsx bench/lib/compaction-latency.ts [events] [compactions]`: how long a local store's
 * writes wait while its log is compacted. A fresh store is filled with `events` pending events;
 * then each compaction is started while one enqueue after the other runs until it ends. Prints
 * JSON per compaction: its duration, the enqueues that ran during it and their latency (p50, max).
 * Writes wait only for the compaction's first and last step (stores/dexie/writer/live-compaction.ts),
 * not for the snapshot.
 */
import { openDexieStore } from "../../src/stores/dexie/index.ts";
import { pendingEvents } from "./events.ts";
import { fillQueue } from "./fill-queue.ts";
import { percentile } from "./stats.ts";
import { withTempDir } from "./temp-dir.ts";

const n = Number(process.argv[2] ?? 100_000);
const rounds = Number(process.argv[3] ?? 2);

await withTempDir("compaction", async (dir) => {
  const store = await openDexieStore({ dir, mode: "write", command: "bench compaction-latency" });
  try {
    await fillQueue(store, pendingEvents(n, 31));
    let k = 0;
    for (let round = 0; round < rounds; round++) {
      let done = false;
      const t0 = performance.now();
      const compaction = store.compact().then(() => (done = true));
      const latencies: number[] = [];
      while (!done) {
        const t = performance.now();
        k += 1;
        await store.enqueue([{ id: `during-${k}`, type: "add", entity: "well", entityId: `w-${k}`, payload: { k }, timestamp: Date.now(), status: "pending", retryCount: 0 }]);
        latencies.push(performance.now() - t);
      }
      await compaction;
      const ms = (v: number | undefined) => Math.round((v ?? 0) * 10) / 10;
      console.log(
        JSON.stringify({
          events: n,
          compactionMs: Math.round(performance.now() - t0),
          enqueuesDuring: latencies.length,
          enqueueP50Ms: ms(percentile(latencies, 50)),
          enqueueMaxMs: ms(Math.max(...latencies)),
        }),
      );
    }
  } finally {
    await store.close();
  }
});
