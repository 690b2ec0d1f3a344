/**
 * Reports the cache entries a local store rejects as altered on disk (stores/dexie/crypto/
 * cache-tags.ts): one `cache_entry_altered` log line and one count in
 * `mudsync_cache_entries_altered_total` each. The entry itself is never served: the cache reads
 * it as a miss and fetches the row again.
 */
import type { Counter } from "prom-client";
import type { DaemonLogger } from "./logger.ts";

interface ReportsAlteredCache {
  onCacheAltered(fn: (key: string) => void): () => void;
}

export function reportAlteredCache(store: object, logger: DaemonLogger, counter: Pick<Counter, "inc">): void {
  if (!("onCacheAltered" in store)) return;
  (store as ReportsAlteredCache).onCacheAltered((key) => {
    counter.inc();
    logger.warn({ event: "cache_entry_altered", key }, `cache entry ${key} was altered on disk: rejected and fetched again`);
  });
}
