/**
 * The state a DexieQueueStore works on, shared with the modules that open, compact and roll it
 * back: the Dexie databases, the in-memory indexes and leases, the current log and generation.
 */
import type { Clock } from "../../core/ports.ts";
import type { CacheDB, EventQueueDB } from "./databases.ts";
import type { HistoryLog } from "./history-log.ts";
import type { LeaseTable } from "./lease-table.ts";
import type { MemoryEvents } from "./memory-events.ts";
import type { OpenEvents } from "./open-events.ts";
import type { StorePart } from "./store-parts.ts";
import type { WalWriter } from "./wal-writer.ts";

export interface StoreInternals {
  dir: string;
  queueDir: string;
  mode: "write" | "read";
  queue: EventQueueDB;
  cacheDb: CacheDB;
  open: OpenEvents;
  /** read-only stores and parts (store-parts.ts): the events, held here instead of in Dexie */
  memory?: MemoryEvents;
  history: HistoryLog;
  /** the writer's leases (in memory only; empty in a read-only store) */
  leases: LeaseTable;
  wal: WalWriter | null;
  gen: number;
  snapshotBytes: number;
  maxEvents: number;
  compactMinBytes: number;
  clock: Clock;
  recovered?: { truncatedBytes: number; file: string };
  warnings: string[];
  /** set when only this part of the store is loaded (store-parts.ts): no compaction, no history */
  part?: StorePart;
  release(): Promise<void>;
}
