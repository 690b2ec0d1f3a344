/**
 * `queue ls --file`: one page of an export read directly, without importing it. The export is
 * streamed and only the best `limit + 1` matching rows are kept (a bounded, sorted window), so
 * memory depends on the page size, not the file size. Order is (timestamp, id), newest or oldest
 * first; the cursor is the position of the page's last row.
 */
import { EVENT_STATUSES, type EventStatus, type QueuedEvent } from "../../core/event.ts";
import type { ListPage, ListQuery } from "../../core/ports.ts";
import { UsageError } from "../../errors.ts";
import { DexieExportReader } from "../../io/dexie-export/reader.ts";

type Position = [timestamp: number, id: string];

export function encodeFileCursor(e: Pick<QueuedEvent, "timestamp" | "id">): string {
  return Buffer.from(JSON.stringify([e.timestamp, e.id])).toString("base64url");
}

export function decodeFileCursor(cursor: string): Position {
  try {
    const v = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown;
    if (Array.isArray(v) && typeof v[0] === "number" && typeof v[1] === "string") return [v[0], v[1]];
  } catch {
    // fall through
  }
  throw new UsageError(`--after expects a cursor printed as "next" by a previous \`queue ls --file\`; got "${cursor}"`);
}

function compare(a: Position, b: Position): number {
  if (a[0] !== b[0]) return a[0] - b[0];
  return a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
}

export interface FilePage extends ListPage {
  counts: Record<EventStatus, number>;
}

export async function listFilePage(file: string, query: ListQuery): Promise<FilePage> {
  const dir = query.order === "asc" ? 1 : -1;
  const after = query.after !== undefined ? decodeFileCursor(query.after) : undefined;
  const statuses = query.statuses ? new Set<string>(query.statuses) : undefined;
  const counts = Object.fromEntries(EVENT_STATUSES.map((s) => [s, 0])) as Record<EventStatus, number>;
  const keep = query.limit + 1;
  /** sorted in page order; at most `keep` rows */
  const window: { pos: Position; event: QueuedEvent }[] = [];
  const reader = new DexieExportReader(file);
  for await (const item of reader.rows()) {
    if (item.type !== "row" || item.table !== "events") continue;
    const event = item.value as QueuedEvent;
    counts[event.status]++;
    if (statuses && !statuses.has(event.status)) continue;
    if (query.entity !== undefined && event.entity !== query.entity) continue;
    if (query.since !== undefined && event.timestamp < query.since) continue;
    const pos: Position = [event.timestamp, event.id];
    if (after && dir * compare(pos, after) <= 0) continue;
    const last = window[window.length - 1];
    if (window.length >= keep && last && dir * compare(pos, last.pos) >= 0) continue;
    // binary search for the insertion point
    let lo = 0;
    let hi = window.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (dir * compare(window[mid]!.pos, pos) <= 0) lo = mid + 1;
      else hi = mid;
    }
    window.splice(lo, 0, { pos, event });
    if (window.length > keep) window.pop();
  }
  const page = window.slice(0, query.limit).map((w) => w.event);
  const lastEvent = page[page.length - 1];
  const next = window.length > query.limit && lastEvent ? encodeFileCursor(lastEvent) : null;
  return { counts, events: page, next };
}
