/**
 * Which part of a store a row's events fall in: a hash of `entity:entityId`, so that all events of
 * a row are in the same part and every guarantee that holds per row (order of edits, coalescing,
 * conflicts, supersession) holds inside a part. The loader keeps only a part's rows
 * (load-generation.ts) and the split routes records by it (parts/part-files.ts).
 */
import type { QueuedEvent } from "../../../core/event.ts";

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
