/**
 * Most events a local store holds. A writer's open costs about the same as raw Dexie bulkAdd of
 * the rows into fake-indexeddb and grows linearly: at 1M events it takes over half a minute and
 * 1.5 GB. (A read-only open skips Dexie, MemoryTable, and stays several times cheaper.) Above
 * this limit a Postgres-backed queue is the right store; a larger store is refused at its
 * snapshot header, before anything is loaded. Shared by the opens and the streaming import
 * (import/stream-import.ts).
 */
export const DEFAULT_MAX_EVENTS = 500_000;
