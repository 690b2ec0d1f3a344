/**
 * `list()`: one page of events in timestamp order (ties by id), filtered by statuses, entity and
 * since, resuming after an opaque cursor. Each status is read from its `[status+timestamp]`
 * range and the streams are merged; an entity filter reads bounded pages and filters them, so a
 * page may hold fewer than `limit` events while `next` still points further on.
 */
import type { EventStatus, QueuedEvent } from "../../../core/event.ts";
import type { ListPage, ListQuery } from "../../../core/ports.ts";
import { UsageError } from "../../../errors.ts";
import type { PageSource } from "./page-source.ts";
import { comparePosition, type Position } from "./index-pager.ts";

/** rows examined per call when filtering by entity */
const ENTITY_SCAN_BUDGET = 5000;

export function encodeCursor(pos: Position): string {
  return Buffer.from(JSON.stringify([pos.ts, pos.id]), "utf8").toString("base64url");
}

export function decodeCursor(cursor: string): Position {
  try {
    const v = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown;
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === "number" && Number.isFinite(v[0]) && typeof v[1] === "string") {
      return { ts: v[0], id: v[1] };
    }
  } catch {
    // fall through
  }
  throw new UsageError(`invalid cursor "${cursor}": expected the "next" value printed by a previous page`);
}

const posOf = (e: QueuedEvent): Position => ({ ts: e.timestamp, id: e.id });

/** Reads up to `size` events after `after` from every stream, merged in order. */
async function mergedPage(
  table: PageSource,
  statuses: (EventStatus | undefined)[],
  after: Position | undefined,
  order: "asc" | "desc",
  size: number,
  since: number | undefined,
): Promise<{ events: QueuedEvent[]; more: boolean }> {
  const idLists = await Promise.all(
    statuses.map((status) => table.pageIds({ status, after, order, limit: size + 1, since })),
  );
  const ids = idLists.flat();
  const rows = (await table.bulkGet(ids)).filter((e): e is QueuedEvent => e !== undefined);
  const dir = order === "asc" ? 1 : -1;
  rows.sort((a, b) => dir * comparePosition(posOf(a), posOf(b)));
  return { events: rows.slice(0, size), more: rows.length > size };
}

export async function listEvents(table: PageSource, q: ListQuery): Promise<ListPage> {
  if (!Number.isInteger(q.limit) || q.limit < 1) throw new UsageError(`list limit must be an integer >= 1, got ${q.limit}`);
  const statuses: (EventStatus | undefined)[] = q.statuses?.length ? [...new Set(q.statuses)] : [undefined];
  let after = q.after ? decodeCursor(q.after) : undefined;

  if (q.entity === undefined) {
    const { events, more } = await mergedPage(table, statuses, after, q.order, q.limit, q.since);
    const last = events[events.length - 1];
    return { events, next: more && last ? encodeCursor(posOf(last)) : null };
  }

  const events: QueuedEvent[] = [];
  const size = Math.max(q.limit, 200);
  let examined = 0;
  for (;;) {
    const page = await mergedPage(table, statuses, after, q.order, size, q.since);
    for (const e of page.events) {
      examined++;
      after = posOf(e);
      if (e.entity === q.entity) {
        events.push(e);
        if (events.length === q.limit) {
          const more = page.more || e !== page.events[page.events.length - 1];
          return { events, next: more ? encodeCursor(after) : null };
        }
      }
    }
    if (!page.more) return { events, next: null };
    if (examined >= ENTITY_SCAN_BUDGET) return { events, next: after ? encodeCursor(after) : null };
  }
}
