/**
 * The CacheStore over `CacheDB.cache` (`key, timestamp, [timestamp+ttl]`). Reads go to Dexie;
 * writes go through the owning queue store so they are logged and durable like event writes.
 * Every entry is stored with its tag (crypto/cache-tags.ts) and checked on every read: an entry
 * whose tag does not match was altered on disk; it is reported (`onAltered`), deleted (by a
 * writer) and read as a miss, so the cache fetches it again. An untagged entry is a miss too.
 */
import type { CacheEntry, CacheStore } from "../../core/ports.ts";
import { UsageError } from "../../errors.ts";
import type { CacheDB } from "./databases.ts";
import { CacheTags, type TaggedCacheEntry } from "./crypto/cache-tags.ts";

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

export interface CacheTagging {
  /** undefined: a store without a tag key yet, which serves nothing */
  tags: CacheTags | undefined;
  /** the tags, creating the store's tag key if it has none yet (a writer's first cache write) */
  ensureTags(): Promise<CacheTags>;
  /** a writer deletes what it rejects; a reader leaves it */
  writable: boolean;
  /** told of every altered entry found, once per read */
  onAltered(key: string): void;
}

export class DexieCacheStore implements CacheStore {
  constructor(
    private readonly db: CacheDB,
    private readonly writes: CacheWrites,
    private readonly tagging: CacheTagging,
  ) {}

  async get(key: string): Promise<CacheEntry | undefined> {
    const row = (await this.db.cache.get(key)) as TaggedCacheEntry | undefined;
    if (!row) return undefined;
    const check = this.tagging.tags?.check(row) ?? "untagged";
    if (check === "ok") return CacheTags.untagged(row);
    if (check === "altered") this.tagging.onAltered(key);
    if (this.tagging.writable) await this.writes.del([key]);
    return undefined;
  }

  async set(entry: CacheEntry): Promise<void> {
    assertCacheEntry(entry);
    const tags = await this.tagging.ensureTags();
    return this.writes.put([tags.tagged(entry)]);
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
