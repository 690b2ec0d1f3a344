/**
 * The state a DexieQueueStore works on, shared with the modules that open, write, log, compact
 * and roll it back: the Dexie databases, the in-memory indexes and leases, the current log and
 * generation, and whether a failed write broke it.
 */
import type { Clock } from "../../core/ports.ts";
import type { CacheDB, EventQueueDB } from "./databases.ts";
import type { EventHistory } from "./events/event-history.ts";
import type { LeaseTable } from "./leases/lease-table.ts";
import type { MemoryTable } from "./events/memory-table.ts";
import type { OpenEventIndex } from "./events/open-event-index.ts";
import type { StorePart } from "./events/row-partition.ts";
import type { WalWriter } from "./log/wal-writer.ts";
import type { RecordCipher } from "./crypto/record-cipher.ts";
import type { CacheTags } from "./crypto/cache-tags.ts";

export interface StoreInternals {
  dir: string;
  queueDir: string;
  mode: "write" | "read";
  queue: EventQueueDB;
  cacheDb: CacheDB;
  open: OpenEventIndex;
  /** read-only stores and parts (events/row-partition.ts): the events, held here instead of in Dexie */
  memory?: MemoryTable;
  history: EventHistory;
  /** the writer's leases (in memory only; empty in a read-only store) */
  leases: LeaseTable;
  wal: WalWriter | null;
  /** an encrypted store's cipher: row records are sealed with it before they are written */
  cipher?: RecordCipher;
  /** tags cache entries and checks them on read (crypto/cache-tags.ts) */
  cacheTags?: CacheTags;
  gen: number;
  snapshotBytes: number;
  maxEvents: number;
  compactMinBytes: number;
  clock: Clock;
  recovered?: { truncatedBytes: number; file: string };
  warnings: string[];
  /** set when only this part of the store is loaded (events/row-partition.ts): no compaction, no history */
  part?: StorePart;
  /**
   * why the store refuses further writes: a failed write (to the log, to Dexie, of a rollback or a
   * compaction) left memory, Dexie and the files out of step; a reopen recovers from the files
   */
  broken?: unknown;
  release(): Promise<void>;
}
