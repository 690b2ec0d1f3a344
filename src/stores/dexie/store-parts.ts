/**
 * Parts of a store: its events split by row (a hash of `entity:entityId`), so that one part can
 * be loaded alone and drained while the rest stays on disk. All events of a row fall in the same
 * part, so every guarantee that holds per row (order of edits, coalescing, conflicts,
 * supersession) holds inside a part. A part is opened as a writer of the whole store's files: its
 * writes go to the store's log as usual; only what it loads is limited (store-loader.ts).
 */
import type { QueuedEvent } from "../../core/event.ts";
import { readFirstRecord } from "./log-reader.ts";
import { currentGeneration } from "./store-files.ts";

export interface StorePart {
  index: number;
  count: number;
}

/** FNV-1a (32 bit) of the row key: stable across runs and machines. */
export function partOfRow(entity: string, entityId: string, count: number): number {
  let h = 0x811c9dc5;
  const key = `${entity}:${entityId}`;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % count;
}

export function inPart(e: Pick<QueuedEvent, "entity" | "entityId">, part: StorePart): boolean {
  return part.count <= 1 || partOfRow(e.entity, e.entityId, part.count) === part.index;
}

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
