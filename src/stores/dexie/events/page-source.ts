/**
 * What list() reads events through: pages of ids in index order and rows by id. The writer's
 * source is its Dexie table; a read-only store's is MemoryEvents. Both give the same answers.
 */
import type { Table } from "dexie";
import type { QueuedEvent } from "../../../core/event.ts";
import { pageIds, type PageRequest } from "./index-pager.ts";

export interface EventSource {
  pageIds(req: PageRequest): Promise<string[]>;
  bulkGet(ids: string[]): Promise<(QueuedEvent | undefined)[]>;
}

/** The Dexie `events` table as an EventSource. */
export function dexieSource(table: Table<QueuedEvent, string>): EventSource {
  return {
    pageIds: (req) => pageIds(table, req),
    bulkGet: (ids) => table.bulkGet(ids),
  };
}
