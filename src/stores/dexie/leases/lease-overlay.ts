/**
 * The writer's events as list() and scans see them: the persisted rows with the in-memory leases
 * laid over them. A leased event is persisted under its old status, so index pages by status
 * drop leased ids from every status but `processing`, whose pages gain the leased events after
 * the position (list() sorts the ids of a page by position and cuts it to size). Pages ask the
 * index for as many more ids as there are leases, so dropping them never shortens a page.
 */
import type { QueuedEvent } from "../../../core/event.ts";
import type { PageSource } from "../events/page-source.ts";
import { comparePosition, type PageRequest } from "../events/index-pager.ts";
import type { LeaseTable } from "./lease-table.ts";

function leasedIdsIn(leases: LeaseTable, req: PageRequest): string[] {
  const since = req.since ?? -Infinity;
  const out: string[] = [];
  for (const { row } of leases.values()) {
    if (row.timestamp < since) continue;
    if (req.after) {
      const c = comparePosition({ ts: row.timestamp, id: row.id }, req.after);
      if (req.order === "asc" ? c <= 0 : c >= 0) continue;
    }
    out.push(row.id);
  }
  return out;
}

export function leaseOverlay(base: PageSource, leases: LeaseTable): PageSource {
  return {
    async pageIds(req: PageRequest): Promise<string[]> {
      if (leases.size === 0 || req.status === undefined || req.limit <= 0) return base.pageIds(req);
      const ids = await base.pageIds({ ...req, limit: req.limit + leases.size });
      const persisted = ids.filter((id) => !leases.has(id)).slice(0, req.limit);
      return req.status === "processing" ? persisted.concat(leasedIdsIn(leases, req)) : persisted;
    },
    async bulkGet(ids: string[]): Promise<(QueuedEvent | undefined)[]> {
      const rows = await base.bulkGet(ids);
      return leases.size === 0 ? rows : rows.map((r) => r && leases.overlay(r));
    },
  };
}
