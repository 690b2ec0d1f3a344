/**
 * The two Dexie databases, with the browser app's names and indexes so that what is stored here
 * matches what the app keeps in IndexedDB. Each store instance gets its own fake-indexeddb
 * factory, so instances never share state through a global.
 *
 * Version 1 is the app's schema and stays the only one for `events`: with fake-indexeddb every
 * extra index costs on every write (an absent field in a compound index costs a thrown
 * DataError per row), which made loads and batch marks 2-3x slower. The lookups the app's
 * indexes do not serve (rows of an entity, due retries, expired leases, history) are kept by
 * the store in memory (see events/open-event-index.ts) and rebuilt on open.
 *
 * Dexie's liveQuery machinery (its cache middleware and the Observability middleware that
 * records mutated key ranges) is switched off: nothing subscribes to these private databases,
 * and it cost about 15% of a small write transaction.
 */
import { Dexie, type Table } from "dexie";
import { IDBFactory, IDBKeyRange } from "fake-indexeddb";
import type { QueuedEvent } from "../../core/event.ts";
import type { CacheEntry } from "../../core/ports.ts";

export const EVENTS_SCHEMA = "id, status, timestamp, [status+timestamp]";
export const CACHE_SCHEMA = "key, timestamp, [timestamp+ttl]";

export class EventQueueDB extends Dexie {
  events!: Table<QueuedEvent, string>;
  constructor(indexedDB: IDBFactory) {
    super("EventQueueDB", { indexedDB, IDBKeyRange, cache: "disabled" });
    this.unuse({ stack: "dbcore", name: "Observability" });
    this.version(1).stores({ events: EVENTS_SCHEMA });
  }
}

export class CacheDB extends Dexie {
  cache!: Table<CacheEntry, string>;
  constructor(indexedDB: IDBFactory) {
    super("CacheDB", { indexedDB, IDBKeyRange, cache: "disabled" });
    this.unuse({ stack: "dbcore", name: "Observability" });
    this.version(1).stores({ cache: CACHE_SCHEMA });
  }
}

/** Opens a fresh, isolated pair of databases. */
export async function openDatabases(): Promise<{ queue: EventQueueDB; cache: CacheDB }> {
  const factory = new IDBFactory();
  const queue = new EventQueueDB(factory);
  const cache = new CacheDB(factory);
  await Promise.all([queue.open(), cache.open()]);
  return { queue, cache };
}
