/**
 * What list() reads events through: pages of ids in index order and rows by id. The writer's
 * source is its Dexie table; a read-only store's is MemoryTable. Both give the same answers.
 */
import type { Table } from "dexie";
import type { QueuedEvent } from "../../../core/event.ts";
import { pageIds, type PageRequest } from "./index-pager.ts";

export interface PageSource {
  pageIds(req: PageRequest): Promise<string[]>;
  bulkGet(ids: string[]): Promise<(QueuedEvent | undefined)[]>;
}

/** The Dexie `events` table as an PageSource. */
export function dexiePageSource(table: Table<QueuedEvent, string>): PageSource {
  return {
    pageIds: (req) => pageIds(table, req),
    bulkGet: (ids) => table.bulkGet(ids),
  };
}
