/**
 * The CacheStore over `CacheDB.cache` (`key, timestamp, [timestamp+ttl]`). Reads go to Dexie;
 * writes go through the owning queue store so they are logged and durable like event writes.
 */
import type { CacheEntry, CacheStore } from "../../core/ports.ts";
import { UsageError } from "../../errors.ts";
import type { CacheDB } from "./databases.ts";

export interface CacheWrites {
  put(rows: CacheEntry[]): Promise<void>;
  del(keys: string[]): Promise<void>;
}

/** Throws UsageError when an entry cannot be stored (the cache indexes need its key, timestamp and ttl). */
export function assertCacheEntry(entry: CacheEntry): void {
  if (typeof entry?.key !== "string" || entry.key === "") throw new UsageError("cache entry key: expected a non-empty string");
  if (!Number.isFinite(entry.timestamp) || !Number.isFinite(entry.ttl)) {
    throw new UsageError(`cache entry ${entry.key}: timestamp and ttl must be finite numbers (ms)`);
  }
}

export class DexieCacheStore implements CacheStore {
  constructor(
    private readonly db: CacheDB,
    private readonly writes: CacheWrites,
  ) {}

  get(key: string): Promise<CacheEntry | undefined> {
    return this.db.cache.get(key);
  }

  async set(entry: CacheEntry): Promise<void> {
    assertCacheEntry(entry);
    return this.writes.put([entry]);
  }

  async keysWithPrefix(prefix: string): Promise<string[]> {
    const keys = prefix === "" ? this.db.cache.toCollection() : this.db.cache.where("key").startsWith(prefix);
    return (await keys.primaryKeys()) as string[];
  }

  deleteKeys(keys: string[]): Promise<void> {
    return this.writes.del([...new Set(keys)]);
  }

  async expiredKeys(now: number): Promise<string[]> {
    // entries written before now are the only ones that can have expired; the sum is checked per row
    const rows = await this.db.cache.where("[timestamp+ttl]").below([now, -Infinity]).toArray();
    return rows.filter((r) => r.timestamp + r.ttl < now).map((r) => r.key);
  }
}
