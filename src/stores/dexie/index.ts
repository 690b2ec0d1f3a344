/**
 * The Dexie-backed durable local queue store: `openDexieStore` and the store's types.
 * `<dir>/queue/` holds the snapshot, the write-ahead log and the writer's LOCK.
 */
import { assertUnlocked, readLock, type LockInfo } from "./lock-file.ts";
import { queueDirOf } from "./log/generation-files.ts";

export { openDexieStore, DEFAULT_MAX_EVENTS, type OpenDexieStoreOptions } from "./open-dexie-store.ts";
export { DexieQueueStore } from "./dexie-queue-store.ts";
export { countImportRow, importIntoDexieStore, type ImportCounts, type ImportRow, type StreamImportOptions, type StreamImportResult } from "./import/stream-import.ts";
export type { LockInfo } from "./lock-file.ts";
export { EVENTS_SCHEMA, CACHE_SCHEMA } from "./databases.ts";

/** Who holds the store's write lock, if anyone (alive: false for a stale lock). */
export function lockInfo(dir: string): Promise<(LockInfo & { alive: boolean }) | undefined> {
  return readLock(queueDirOf(dir));
}

/** Throws StoreLockedError when a live process holds the store's write lock (takes nothing). */
export function assertStoreUnlocked(dir: string): Promise<void> {
  return assertUnlocked(queueDirOf(dir));
}
