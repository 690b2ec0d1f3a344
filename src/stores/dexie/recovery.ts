/**
 * What a writer repairs when it takes over a store's files after a crash: a torn tail of the
 * write-ahead log (a write the crash interrupted, never acknowledged) is cut and the cut made
 * durable before anything is appended, since a good record after damage would make the damage
 * look like corruption in the middle of the log. Shared by the writer's open and the import.
 */
import { open, truncate } from "node:fs/promises";

export interface TornTail {
  offset: number;
  bytes: number;
  reason: string;
}

/** Cuts the log at the torn tail and says what was cut, as a one-line note for the user. */
export async function cutTornTail(wal: string, torn: TornTail): Promise<{ truncatedBytes: number; file: string; note: string }> {
  await truncate(wal, torn.offset);
  const fh = await open(wal, "r+");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
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
