/**
 * Tags of cache entries: HMAC-SHA256 (entry-mac.ts) over an entry's key, data, timestamp, ttl and
 * version, kept beside the entry as `mac`. An entry whose tag does not match was altered on disk
 * (or its sealed record did not authenticate: log/log-reader.ts marks those); an entry with no
 * tag was stored without one (an older store). Neither is ever served.
 */
import type { CacheEntry } from "../../../core/ports.ts";
import { EntryMac } from "./entry-mac.ts";

export type TaggedCacheEntry = CacheEntry & { mac?: string };

export type TagCheck = "ok" | "altered" | "untagged";

export class CacheTags {
  private readonly mac: EntryMac;

  constructor(key: Buffer) {
    this.mac = new EntryMac(key);
  }

  private static text(e: CacheEntry): string {
    return JSON.stringify([e.key, e.data, e.timestamp, e.ttl, e.version]);
  }

  /** The entry with its tag (a copy; any tag it had is replaced). */
  tagged(entry: CacheEntry): TaggedCacheEntry {
    return { ...entry, mac: this.mac.tag(CacheTags.text(entry)) };
  }

  check(entry: TaggedCacheEntry): TagCheck {
    if (entry.mac === undefined) return "untagged";
    return this.mac.check(CacheTags.text(entry), entry.mac) ? "ok" : "altered";
  }

  /** The entry as the cache's callers see it: without its tag. */
  static untagged(entry: TaggedCacheEntry): CacheEntry {
    const { mac: _mac, ...rest } = entry;
    return rest;
  }
}
