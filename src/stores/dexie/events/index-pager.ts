/**
 * Pages of event ids in (timestamp, id) order from the `[status+timestamp]` index (or the
 * `timestamp` index for all statuses), resuming exactly after a position even when many events
 * share one timestamp. Only range reads with a limit are used: fake-indexeddb cursor walks cost
 * a rescan per step.
 */
import type { Table } from "dexie";
import type { EventStatus, QueuedEvent } from "../../../core/event.ts";

export interface Position {
  ts: number;
  id: string;
}

export interface PageRequest {
  /** undefined = all statuses (timestamp index) */
  status?: EventStatus;
  after?: Position;
  order: "asc" | "desc";
  limit: number;
  /** only timestamps >= since */
  since?: number;
}

export function comparePosition(a: Position, b: Position): number {
  if (a.ts !== b.ts) return a.ts - b.ts;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Returns up to limit ids strictly after `after` in the requested order. */
export async function pageIds(table: Table<QueuedEvent, string>, req: PageRequest): Promise<string[]> {
  const { status, after, order, limit } = req;
  if (limit <= 0) return [];
  const indexName = status === undefined ? "timestamp" : "[status+timestamp]";
  const key = (ts: number) => (status === undefined ? ts : [status, ts]);
  const lowTs = req.since ?? -Infinity;
  if (after && order === "desc" && after.ts < lowTs) return [];
  const out: string[] = [];
  if (after && after.ts >= lowTs) {
    // events with the same timestamp as the position, ordered by id
    const tie = (await table.where(indexName).equals(key(after.ts)).primaryKeys()) as string[];
    if (order === "asc") {
      for (const id of tie) if (id > after.id && out.length < limit) out.push(id);
    } else {
      for (let i = tie.length - 1; i >= 0 && out.length < limit; i--) if (tie[i]! < after.id) out.push(tie[i]!);
    }
    if (out.length >= limit) return out;
  }
  let coll;
  if (order === "asc") {
    const from = after ? Math.max(after.ts, lowTs) : lowTs;
    const excludeFrom = after !== undefined && after.ts >= lowTs;
    coll = table.where(indexName).between(key(from), key(Infinity), !excludeFrom, true);
  } else {
    const to = after ? after.ts : Infinity;
    coll = table.where(indexName).between(key(lowTs), key(to), true, !after).reverse();
  }
  const rest = (await coll.limit(limit - out.length).primaryKeys()) as string[];
  return out.concat(rest);
}
