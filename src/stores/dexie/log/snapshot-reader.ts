/**
 * Reads a snapshot file record by record and checks its frame: a snapshot header first (a store
 * holding more events than allowed is refused there, before anything is loaded), row records,
 * an end marker whose counts match the rows read, nothing after it. Damage anywhere, a torn
 * tail included (a snapshot is complete before it is renamed into place), throws
 * StoreCorruptError. Shared by the loader (rows into Dexie or memory) and by the streaming
 * import (ids only).
 */
import type { QueuedEvent } from "../../../core/event.ts";
import type { CacheEntry, HistoryEntry } from "../../../core/ports.ts";
import { StoreCorruptError, StoreTooLargeError } from "../../../errors.ts";
import { readLog } from "./log-reader.ts";
import type { RecordCipher } from "../crypto/record-cipher.ts";

/**
 * What to do with each kind of row. The lines of a kind left out are checksummed but not decoded
 * (readLog's `skip`): their rows are not counted against the end marker, and such a line after the
 * end marker goes unnoticed.
 */
export interface SnapshotVisitor {
  events?(rows: QueuedEvent[]): void | Promise<void>;
  history?(rows: HistoryEntry[]): void | Promise<void>;
  cache?(rows: CacheEntry[]): void | Promise<void>;
}

export function tooLargeMessage(dir: string, events: number, max: number): string {
  return `store ${dir} holds ${events} events, more than the local store takes (${max}); use the Postgres queue store (--queue postgres://…) for queues this large`;
}

const ROW_VISITS = { ev: "events", hist: "history", cache: "cache" } as const;

/** What reading a store's files needs: its limit, its directory (for messages) and, when encrypted, its cipher. */
export interface StoreReadLimits {
  maxEvents: number;
  dir: string;
  cipher?: RecordCipher | "keys-only";
}

export async function readSnapshot(file: string, limits: StoreReadLimits, visit: SnapshotVisitor): Promise<void> {
  const counted = { events: 0, history: 0, cache: 0 };
  let ended: { events: number; history: number; cache: number } | undefined;
  let first = true;
  const skip = (["ev", "hist", "cache"] as const).filter((k) => !visit[ROW_VISITS[k]]);
  const result = await readLog(file, async (record, offset) => {
    if (first) {
      first = false;
      if (record.k !== "snapshot") throw new StoreCorruptError(file, "does not start with a snapshot header");
      if (record.events > limits.maxEvents) throw new StoreTooLargeError(tooLargeMessage(limits.dir, record.events, limits.maxEvents));
      return;
    }
    if (ended) throw new StoreCorruptError(file, `record after the end marker at byte offset ${offset}`);
    switch (record.k) {
      case "ev":
        counted.events += record.rows.length;
        await visit.events?.(record.rows);
        return;
      case "hist":
        counted.history += record.rows.length;
        await visit.history?.(record.rows);
        return;
      case "cache":
        counted.cache += record.rows.length;
        await visit.cache?.(record.rows);
        return;
      case "end":
        ended = { events: record.events, history: record.history, cache: record.cache };
        return;
      default:
        throw new StoreCorruptError(file, `unexpected ${record.k} record at byte offset ${offset}`);
    }
  }, { skip, ...(limits.cipher ? { cipher: limits.cipher } : {}) });
  if (result.tornAt !== undefined) {
    throw new StoreCorruptError(file, `${result.tornReason} at byte offset ${result.tornAt}`);
  }
  if (first) throw new StoreCorruptError(file, "is empty");
  if (!ended) throw new StoreCorruptError(file, "is truncated (no end marker)");
  // rows of a kind not read were not counted: their lines' checksums are all that was checked
  if ((visit.events && ended.events !== counted.events) || (visit.cache && ended.cache !== counted.cache)) {
    throw new StoreCorruptError(file, `holds ${counted.events} events and ${counted.cache} cache entries, its end marker says ${ended.events} and ${ended.cache}`);
  }
}
