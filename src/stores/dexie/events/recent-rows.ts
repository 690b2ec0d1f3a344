/**
 * The writer's last-seen persisted images of a few thousand events, so that the common pattern
 * "list a page, then update those events" (replay, retry selection, a drain marking a listed
 * batch) does not read every row from fake-indexeddb twice: a read there costs a tree walk and a
 * structured clone per row, about a third of marking a 500-event batch.
 *
 * The images are the store's own (never handed out; rows read for a caller are copied in), and
 * stay correct because every change of an event's row goes through the writer: update() leaves
 * its new images here, other writes drop theirs, a rollback drops all. A read racing a write could
 * see the row as it was before that write, so rows read for callers are kept only when no write
 * job ran at any time during the read (the write serializer's epoch did not move). Misses simply
 * fall back to Dexie.
 */
import type { EventStatus, QueuedEvent } from "../../../core/event.ts";
import type { PageSource } from "./page-source.ts";

/**
 * Enough for a page of replay or retry selection (1000) with room to spare: about 2 MB with
 * payloads of a few hundred bytes, and at most this many rows' worth whatever their size.
 */
const CAPACITY = 2048;
const OPEN: ReadonlySet<EventStatus> = new Set<EventStatus>(["pending", "processing", "failed"]);

export interface WriteEpoch {
  /** moves whenever a write job starts or ends */
  readonly epoch: number;
  /** a write job is applying */
  readonly running: boolean;
}

export class RecentRows {
  private readonly rows = new Map<string, QueuedEvent>();

  constructor(
    private readonly writes: WriteEpoch,
    private readonly capacity = CAPACITY,
  ) {}

  get size(): number {
    return this.rows.size;
  }

  /** The persisted image of id, if known. Treat it as read-only: it is the store's own. */
  get(id: string): QueuedEvent | undefined {
    return this.rows.get(id);
  }

  /**
   * Notes images the store persisted (its own objects, not shared with a caller). Only open
   * events are kept: a settled one (completed, dead) is rarely written again, and a drain would
   * otherwise fill the cache with every row it completes.
   */
  wrote(rows: QueuedEvent[]): void {
    for (const r of rows) {
      if (OPEN.has(r.status)) this.keep(r);
      else this.rows.delete(r.id);
    }
  }

  forget(ids: Iterable<string>): void {
    for (const id of ids) this.rows.delete(id);
  }

  clear(): void {
    this.rows.clear();
  }

  /** A source that reads through `base` and keeps copies of what it read when no write interfered. */
  readThrough(base: PageSource): PageSource {
    return {
      pageIds: (req) => base.pageIds(req),
      bulkGet: async (ids) => {
        const epoch = this.writes.running ? undefined : this.writes.epoch;
        const rows = await base.bulkGet(ids);
        if (epoch !== undefined && epoch === this.writes.epoch && !this.writes.running) {
          for (const r of rows) if (r) this.keep(structuredClone(r));
        }
        return rows;
      },
    };
  }

  private keep(row: QueuedEvent): void {
    // re-inserted at the end: the Map's order is the order of last use, oldest first
    this.rows.delete(row.id);
    this.rows.set(row.id, row);
    if (this.rows.size > this.capacity) this.rows.delete(this.rows.keys().next().value!);
  }
}
