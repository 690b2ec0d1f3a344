/**
 * Most events a local store holds. A writer's open costs about the same as raw Dexie bulkAdd of
 * the rows into fake-indexeddb and grows linearly (100k events 2.4 s / 310 MB RSS on a busy
 * 2-core machine; 1M events 29-42 s / 1.5 GB, compaction of 1M 25 s). A read-only open skips
 * Dexie (MemoryEvents): 100k events 0.4-0.5 s / 180-200 MB RSS, 500k 3.2 s / 525 MB, 1M (with
 * maxEvents raised) 4-5 s / 720 MB. Above this limit a Postgres-backed queue is the right store;
 * a larger store is refused at its snapshot header, before anything is loaded. Shared by the
 * opens and the streaming import (stream-import.ts).
 */
export const DEFAULT_MAX_EVENTS = 500_000;
