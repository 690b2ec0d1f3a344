/**
 * TTL cache over the CacheStore port. `get(key, fetcher)` serves a fresh entry or fetches once
 * however many callers ask for the same missing key at the same time (single flight). Expiry uses
 * the injected clock: an entry is fresh while now − timestamp ≤ ttl. `invalidate(pattern)` takes a
 * glob (see glob.ts) and reads only the keys under the pattern's literal prefix, never the whole
 * store; a fetch in flight for an invalidated key still answers its callers but is not stored.
 */
import type { CacheEntry, CacheStore, Clock } from "./ports.ts";
import { compileGlob } from "./glob.ts";
import { rowCacheKey } from "./cache-keys.ts";

export const DEFAULT_TTL_MS = 300_000;

interface Flight {
  promise: Promise<unknown>;
  /** set by invalidate(): the result must not be stored */
  stale: boolean;
}

export class TtlCache {
  private readonly inflight = new Map<string, Flight>();

  constructor(
    private readonly store: CacheStore,
    private readonly clock: Clock,
    private readonly defaultTtlMs: number = DEFAULT_TTL_MS,
  ) {}

  /** The cached value if fresh; otherwise the fetcher's result, stored with the default TTL. */
  async get<T>(key: string, fetcher: () => Promise<T>, ttl: number = this.defaultTtlMs): Promise<T> {
    const early = this.inflight.get(key);
    if (early) return early.promise as Promise<T>;
    const entry = await this.store.get(key);
    if (entry && this.isFresh(entry)) return entry.data as T;
    const running = this.inflight.get(key); // another caller may have started while we read
    if (running) return running.promise as Promise<T>;
    const flight: Flight = { promise: Promise.resolve(), stale: false };
    flight.promise = (async () => {
      try {
        const data = await fetcher();
        if (!flight.stale) await this.set(key, data, ttl);
        return data;
      } finally {
        if (this.inflight.get(key) === flight) this.inflight.delete(key);
      }
    })();
    this.inflight.set(key, flight);
    return flight.promise as Promise<T>;
  }

  async set<T>(key: string, data: T, ttl: number = this.defaultTtlMs): Promise<void> {
    if (!(ttl >= 0) || !Number.isFinite(ttl)) {
      throw new RangeError(`cache ttl for ${key} must be a finite number of ms >= 0, got ${ttl}`);
    }
    const previous = await this.store.get(key);
    const entry: CacheEntry = {
      key,
      data,
      timestamp: this.clock.now(),
      ttl,
      version: (previous?.version ?? 0) + 1,
    };
    await this.store.set(entry);
  }

  /** The cached value if present and fresh; never fetches. */
  async peek<T>(key: string): Promise<T | undefined> {
    const entry = await this.store.get(key);
    return entry && this.isFresh(entry) ? (entry.data as T) : undefined;
  }

  /** Deletes every key matching the glob; returns how many were deleted. */
  async invalidate(pattern: string): Promise<number> {
    const glob = compileGlob(pattern);
    for (const [key, flight] of this.inflight) if (glob.test(key)) flight.stale = true;
    const keys = glob.exact
      ? (await this.store.get(pattern))
        ? [pattern]
        : []
      : (await this.store.keysWithPrefix(glob.prefix)).filter((k) => glob.test(k));
    if (keys.length > 0) await this.store.deleteKeys(keys);
    return keys.length;
  }

  /**
   * Invalidates the entries of one row, with no pattern syntax (row ids may hold `*` or `?`): the
   * app's key of the row (cache-keys.ts: `chart:<id>` for `chart_data_source`, else `<entity>:<id>`)
   * and every key under it (`<key>:…`), not `<key>0`.
   */
  async invalidateRow(entity: string, id: string): Promise<number> {
    const key = rowCacheKey(entity, id);
    const under = `${key}:`;
    const belongs = (k: string) => k === key || k.startsWith(under);
    for (const [k, flight] of this.inflight) if (belongs(k)) flight.stale = true;
    const keys = (await this.store.keysWithPrefix(key)).filter(belongs);
    if (keys.length > 0) await this.store.deleteKeys(keys);
    return keys.length;
  }

  /** Deletes entries expired at `now` (default: the clock's now); returns how many. */
  async purgeExpired(now: number = this.clock.now()): Promise<number> {
    const keys = await this.store.expiredKeys(now);
    if (keys.length > 0) await this.store.deleteKeys(keys);
    return keys.length;
  }

  private isFresh(entry: CacheEntry): boolean {
    return this.clock.now() - entry.timestamp <= entry.ttl;
  }
}
