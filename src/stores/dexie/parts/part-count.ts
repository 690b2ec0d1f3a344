/**
 * How many parts a drain splits a store into: its events split by row (events/row-partition.ts),
 * so that one part can be loaded alone and drained while the rest stays on disk. A part is opened
 * as a writer of the whole store's files: its writes go to the store's log as usual; only what it
 * loads is limited (load-generation.ts). The count comes from an estimate of the events stored,
 * read without loading the store.
 */
import { readFirstRecord } from "../log/log-reader.ts";
import { currentGeneration } from "../log/generation-files.ts";

/** Bytes of log per event assumed when sizing parts from a log (an event's row image with its framing). */
const LOG_BYTES_PER_EVENT = 300;

/**
 * An estimate of the events a queue directory holds, read without loading it: the snapshot
 * header's count plus the log's size at LOG_BYTES_PER_EVENT. A log also holds history and later
 * images of the same rows, so this mostly errs high (smaller parts); a log of events much smaller
 * than LOG_BYTES_PER_EVENT is underestimated, and its parts hold more events, of fewer bytes each.
 */
export async function estimateEvents(queueDir: string): Promise<number> {
  const g = await currentGeneration(queueDir);
  let events = 0;
  if (g.snapshot) events = (await snapshotHeaderEvents(g.snapshot)) ?? Math.ceil(g.snapshotBytes / LOG_BYTES_PER_EVENT);
  return events + Math.ceil(g.walBytes / LOG_BYTES_PER_EVENT);
}

/** The event count in a snapshot's header line, or undefined if it cannot be read (the loader will say why). */
async function snapshotHeaderEvents(file: string): Promise<number | undefined> {
  const record = await readFirstRecord(file);
  return record?.k === "snapshot" ? record.events : undefined;
}

/** How many parts hold at most `partEvents` events each (by the estimate); 1 when 0 or the store is small. */
export function partCount(estimatedEvents: number, partEvents: number): number {
  if (partEvents <= 0) return 1;
  return Math.max(1, Math.ceil(estimatedEvents / partEvents));
}
