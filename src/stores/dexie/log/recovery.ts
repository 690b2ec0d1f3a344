/**
 * What a writer repairs when it takes over a store's files after a crash: a torn tail of the
 * write-ahead log (a write the crash interrupted, never acknowledged) is cut and the cut made
 * durable before anything is appended, since a good record after damage would make the damage
 * look like corruption in the middle of the log. Records of an atomic write that never committed
 * (an import killed or out of disk space) are cut too when nothing after them counts, which gives
 * their space back at once. Shared by the writer's open and the import.
 */
import { open, truncate } from "node:fs/promises";
import type { LogRecord } from "./log-record.ts";

export interface TornTail {
  offset: number;
  bytes: number;
  reason: string;
}

/** Cuts the log at the torn tail and says what was cut, as a one-line note for the user. */
export async function cutTornTail(wal: string, torn: TornTail): Promise<{ truncatedBytes: number; file: string; note: string }> {
  await cutAt(wal, torn.offset);
  return {
    truncatedBytes: torn.bytes,
    file: wal,
    note: `recovered ${wal}: cut ${torn.bytes} bytes of a write interrupted by a crash (${torn.reason} at byte offset ${torn.offset}); no acknowledged event was lost`,
  };
}

/** The note for log records of atomic writes (an interrupted import, say) that never committed. */
export function discardedNote(records: number): string {
  return `ignored ${records} log records of an atomic write that never committed`;
}

/** Truncates the log at `offset` and makes the cut durable. */
async function cutAt(wal: string, offset: number): Promise<void> {
  await truncate(wal, offset);
  const fh = await open(wal, "r+");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Follows a log's records (in order, with their byte offsets) to find where records of atomic
 * groups that never committed form the whole rest of the log: from the first record of such a
 * group on, no record outside a group, no commit and no abort. Cutting there loses nothing that
 * counts.
 */
export class UncommittedTail {
  /** per group not (yet) ended: the offset of its first record */
  private readonly firstOffset = new Map<string, number>();
  /** offset of the last record that counts whatever follows (outside a group, a commit, an abort) */
  private lastCounting = -1;

  see(record: LogRecord, offset: number): void {
    if (record.k === "commit" || record.k === "abort") {
      this.firstOffset.delete(record.tx);
      this.lastCounting = offset;
      return;
    }
    const tx = "tx" in record ? record.tx : undefined;
    if (tx === undefined) this.lastCounting = offset;
    else if (!this.firstOffset.has(tx)) this.firstOffset.set(tx, offset);
  }

  /** Where the tail of records that never committed starts, if the log ends in one. */
  start(): number | undefined {
    if (this.firstOffset.size === 0) return undefined;
    let from = Infinity;
    for (const o of this.firstOffset.values()) from = Math.min(from, o);
    return from > this.lastCounting ? from : undefined;
  }
}

/** Cuts records of an atomic write that never committed off the end of the log (UncommittedTail). */
export async function cutUncommittedTail(wal: string, from: number, size: number, records: number): Promise<{ note: string }> {
  await cutAt(wal, from);
  return {
    note: `reclaimed ${size - from} bytes at the end of ${wal}: ${records} log records of an atomic write that never committed (an interrupted import); the store is as it was before that write`,
  };
}
