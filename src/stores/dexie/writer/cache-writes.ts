/**
 * Writes to the store's cache table: applies a put or a delete to Dexie, noting the before-images
 * in an open atomic group's undo log, and returns the log record that makes it durable (null when
 * there is nothing to write).
 */
import type { CacheEntry } from "../../../core/ports.ts";
import type { LogRecord } from "../log/log-record.ts";
import type { StoreInternals } from "../store-internals.ts";
import type { UndoLog } from "./undo-log.ts";

export async function cacheWrite(
  state: StoreInternals,
  w: { put: CacheEntry[] } | { del: string[] },
  group: { undo?: UndoLog; tx?: string },
): Promise<LogRecord | null> {
  const { undo, tx } = group;
  const table = state.cacheDb.cache;
  const keys = "put" in w ? w.put.map((r) => r.key) : w.del;
  if (keys.length === 0) return null;
  const befores = undo ? await table.bulkGet(keys) : [];
  if ("put" in w) await table.bulkPut(w.put);
  else await table.bulkDelete(w.del);
  keys.forEach((k, i) => undo?.cacheEntry(k, befores[i]));
  const txPart = tx !== undefined ? { tx } : {};
  return "put" in w ? { k: "cache", rows: w.put, ...txPart } : { k: "cachedel", keys: w.del, ...txPart };
}
