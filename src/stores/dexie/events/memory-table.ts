/**
 * The events of a store opened read-only, held as plain objects instead of in fake-indexeddb:
 * opening then costs one JSON.parse per snapshot chunk and a Map insert per row, not a
 * structured clone and four B-tree inserts per row. The orders Dexie's indexes give (primary key;
 * `timestamp` and `[status+timestamp]`, ties by id) are sorted arrays built on first use and
 * searched by bisection, so list pages and scans return exactly what the Dexie path returns.
 * Rows handed out are copies, as Dexie's are (row-copy.ts: the strings shared, the objects not).
 */
import type { EventStatus, QueuedEvent } from "../../../core/event.ts";
import type { PageSource } from "./page-source.ts";
import { comparePosition, type PageRequest, type Position } from "./index-pager.ts";
import { detachedCopy } from "./row-copy.ts";

const byPosition = (a: QueuedEvent, b: QueuedEvent): number =>
  a.timestamp !== b.timestamp ? a.timestamp - b.timestamp : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

/** First index in sorted whose position is not before pos (lower bound). */
function lowerBound(sorted: QueuedEvent[], pos: Position): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (comparePosition({ ts: sorted[mid]!.timestamp, id: sorted[mid]!.id }, pos) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class MemoryTable implements PageSource {
  private readonly rows = new Map<string, QueuedEvent>();
  /** (timestamp, id) order per status ("*" = all); dropped on every change */
  private sorted = new Map<EventStatus | "*", QueuedEvent[]>();
  private ids: string[] | undefined;

  get size(): number {
    return this.rows.size;
  }

  /** The stored image of id (not a copy: for the loader and the indexes only). */
  peek(id: string): QueuedEvent | undefined {
    return this.rows.get(id);
  }

  /** The stored images of ids (not copies: for a writer that builds new images from them and never changes these). */
  peekMany(ids: string[]): (QueuedEvent | undefined)[] {
    return ids.map((id) => this.rows.get(id));
  }

  set(row: QueuedEvent): void {
    this.rows.set(row.id, row);
    if (this.sorted.size) this.sorted = new Map();
    this.ids = undefined;
  }

  async bulkGet(ids: string[]): Promise<(QueuedEvent | undefined)[]> {
    return ids.map((id) => {
      const row = this.rows.get(id);
      return row === undefined ? undefined : detachedCopy(row);
    });
  }

  async pageIds(req: PageRequest): Promise<string[]> {
    const { after, order, limit } = req;
    if (limit <= 0) return [];
    const since = req.since ?? -Infinity;
    const list = this.sortedFor(req.status);
    const out: string[] = [];
    if (order === "asc") {
      let i = lowerBound(list, { ts: since, id: "" });
      if (after) {
        // strictly after the position
        let j = lowerBound(list, after);
        if (j < list.length && list[j]!.timestamp === after.ts && list[j]!.id === after.id) j++;
        i = Math.max(i, j);
      }
      for (; i < list.length && out.length < limit; i++) out.push(list[i]!.id);
    } else {
      if (after && after.ts < since) return [];
      let i = after ? lowerBound(list, after) - 1 : list.length - 1;
      for (; i >= 0 && out.length < limit && list[i]!.timestamp >= since; i--) out.push(list[i]!.id);
    }
    return out;
  }

  /**
   * Up to `limit` rows in primary-key order after id `after`. `copy: false` hands out the stored
   * images themselves, for a caller that only writes them out at once (never changes or keeps them).
   */
  async pageAfter(after: string | undefined, limit: number, copy = true): Promise<QueuedEvent[]> {
    if (!this.ids) this.ids = [...this.rows.keys()].sort();
    const ids = this.ids;
    let lo = 0;
    if (after !== undefined) {
      let hi = ids.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (ids[mid]! <= after) lo = mid + 1;
        else hi = mid;
      }
    }
    const page = ids.slice(lo, lo + limit);
    return copy ? ((await this.bulkGet(page)) as QueuedEvent[]) : page.map((id) => this.rows.get(id)!);
  }

  private sortedFor(status: EventStatus | undefined): QueuedEvent[] {
    const key = status ?? "*";
    let list = this.sorted.get(key);
    if (!list) {
      list = [];
      for (const row of this.rows.values()) if (status === undefined || row.status === status) list.push(row);
      list.sort(byPosition);
      this.sorted.set(key, list);
    }
    return list;
  }
}
